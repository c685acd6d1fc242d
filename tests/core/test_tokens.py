import os
import signal
from pathlib import Path

import pyarrow as pa

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


def test_parallel_count_equals_serial_count() -> None:
    enc = tokens.get_encoding("o200k_base")
    texts = [
        f"Review {n}: the parcel arrived {'late' if n % 3 else 'early'} 价格 😀"
        for n in range(5000)
    ]
    counts = tokens.count_texts(texts, enc)
    assert counts.tolist() == [len(enc.encode_ordinary(t)) for t in texts]


def test_special_token_text_counts_as_plain_text() -> None:
    enc = tokens.get_encoding("o200k_base")
    assert tokens.count_text("<|endoftext|>", enc) > 1


def _mixed_texts(count: int) -> list[str]:
    return [
        f'Row {n}: {"é 中文 😀 " * (n % 4)}\n"quoted" \x1b {"long " * (n % 50)}'.strip()
        for n in range(count)
    ]


def test_counting_on_both_cores_equals_counting_here() -> None:
    enc = tokens.get_encoding("o200k_base")
    texts = _mixed_texts(4_321)
    expected = [len(enc.encode_ordinary(text)) for text in texts]
    with tokens.counting_on_both_cores(enc) as start:
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
    with tokens.counting_on_both_cores(enc) as start:
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
