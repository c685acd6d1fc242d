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
