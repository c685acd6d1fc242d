import os
import random
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from batchdash.preflight import tokens


def test_known_token_ids_match_tiktoken() -> None:
    # Token ids published for these strings by tiktoken's own tests and docs.
    assert tokens.get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert tokens.get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]


def test_model_families() -> None:
    assert tokens.encoding_name_for_model("gpt-4o-mini") == "o200k_base"
    assert tokens.encoding_name_for_model("gpt-5") == "o200k_base"
    assert tokens.encoding_name_for_model("o4-mini") == "o200k_base"
    assert tokens.encoding_name_for_model("gpt-4") == "cl100k_base"
    assert tokens.encoding_name_for_model("gpt-4-turbo") == "cl100k_base"
    assert tokens.encoding_name_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert tokens.encoding_name_for_model("text-embedding-3-small") == "cl100k_base"


def _hard_texts(count: int, seed: int) -> list[str]:
    """Texts that stress how a tokenizer splits words before its merges: runs of every kind of
    space and line break, contractions in both cases, digits, punctuation, many scripts,
    combining marks, emoji sequences, control characters and special-token strings."""
    pools = [
        " \t\n\r\u00a0\u3000\u2028\u200b",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        "'’\"-_.,;:!?()[]{}<>/\\|@#$%^&*+=~`",
        "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出要就下得可你年生",
        "éèêëàâäôöûüçñßøåæœÉÀÖÜÇабвгдеёжзийклмнопрстуфхцчшщъыьэюяαβγδεζηθ",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهويकखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह्ािीुूेैोौं",
        "😀😂🥲👍🏽👨‍👩‍👧🇫🇷❤️✨🔥",
        "\u0301\u0308\u200d\ufeff\u0000\u001f\x7f",
        "ㄱㄴㄷ가나다라마바사아자차카타파하ｱｲｳｴｵカタカナひらがな",
    ]
    words = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", " the", "  ", "\n\n"]
    words += [
        " \n",
        "   \n",
        "123456",
        "1,000",
        "3.14",
        "camelCase",
        "don't",
        "I'M",
        "<|endoftext|>",
    ]
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 60)):
            if rng.random() < 0.25:
                parts.append(rng.choice(words))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        texts.append("".join(parts))
    return texts


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_counts_are_tiktokens(name: tokens.EncodingName) -> None:
    # The counter is rs-bpe; tiktoken (OpenAI's own) is the reference it must equal exactly.
    encoding, counter = tokens.get_encoding(name), tokens.get_counter(name)
    texts = _hard_texts(20_000, seed=len(name))
    texts += [Path(__file__).read_text(encoding="utf-8"), " " * 5000 + "x", "a\n" * 3000]
    texts += ["\ud800 lone surrogate", "a\udcffb", ""]
    expected = [len(encoding.encode_ordinary(text)) for text in texts]
    assert tokens.count_texts(texts, counter).tolist() == expected
    assert [tokens.count_text(text, counter) for text in texts[:100]] == expected[:100]


def test_a_panic_in_the_counter_is_counted_by_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = tokens.get_counter("o200k_base")

    class Panic(BaseException):  # what a Rust panic becomes in Python
        pass

    def panicking(text: str) -> int:
        raise Panic(text)

    monkeypatch.setattr(counter, "_count", panicking)
    assert tokens.count_texts(["hello world", "价格 😀"], counter).tolist() == [2, 2]
    monkeypatch.setattr(counter, "_count", lambda _text: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        counter.count("stop")


def test_special_token_text_counts_as_plain_text() -> None:
    counter = tokens.get_counter("o200k_base")
    assert tokens.count_text("<|endoftext|>", counter) == 7


def _mixed_texts(count: int) -> list[str]:
    return [
        f'Row {n}: {"é 中文 😀 " * (n % 4)}\n"quoted" \x1b {"long " * (n % 50)}'.strip()
        for n in range(count)
    ]


def test_counting_on_both_cores_equals_counting_here() -> None:
    enc = tokens.get_encoding("o200k_base")
    texts = _mixed_texts(4_321)
    expected = [len(enc.encode_ordinary(text)) for text in texts]
    with tokens.counting_on_both_cores(tokens.get_counter("o200k_base")) as start:
        # Through the same helper three times, two of them under way at once, and a sliced
        # string (not large_string) array.
        whole = start(pa.array(texts, pa.large_string()))
        sliced = start(pa.array(["x", *texts, "y"], pa.string()).slice(1, len(texts)))
        assert whole().tolist() == expected
        assert sliced().tolist() == expected
        assert start(pa.chunked_array([texts[:100], texts[100:]]))().tolist() == expected


def test_counting_goes_on_here_when_the_helper_dies() -> None:
    enc = tokens.get_encoding("cl100k_base")
    texts = _mixed_texts(3_000)
    expected = [len(enc.encode_ordinary(text)) for text in texts]
    before = _children()
    with tokens.counting_on_both_cores(tokens.get_counter("cl100k_base")) as start:
        helpers = _children() - before
        assert len(helpers) == 1
        under_way = start(pa.array(texts))
        os.kill(helpers.pop(), signal.SIGKILL)
        assert under_way().tolist() == expected
        assert start(pa.array(texts))().tolist() == expected
    assert _children() == before  # the dead helper was reaped


def _children() -> set[int]:
    """Process ids of this process's children, read without starting another process."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found
