"""Input-file validation: each OpenAI error code makes the batch `failed` with `errors.data`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import OpenAI

from sandbox.answers import input_tokens
from tests.sandbox.conftest import MakeClient
from tests.sandbox.kit import CHAT, chat_request, jsonl, start_batch, wait_for, wait_until


def failed_errors(client: OpenAI, data: bytes, endpoint: str = CHAT) -> list[dict[str, Any]]:
    batch = wait_for(client, start_batch(client, data, endpoint).id)
    assert batch.status == "failed"
    assert batch.failed_at is not None and batch.in_progress_at is None
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.object == "list"
    return [e.model_dump() for e in batch.errors.data or []]


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    return [(e["code"], e["line"]) for e in errors]


def test_invalid_json_lines(client: OpenAI) -> None:
    data = jsonl([chat_request("a", "hi"), "{not json", '["a list"]', chat_request("b", "hi")])
    assert codes(failed_errors(client, data)) == [
        ("invalid_json_line", 2),
        ("invalid_json_line", 3),
    ]


def test_duplicate_custom_id(client: OpenAI) -> None:
    data = jsonl([chat_request("a", "one"), chat_request("b", "two"), chat_request("a", "three")])
    errors = failed_errors(client, data)
    assert codes(errors) == [("duplicate_custom_id", 3)]
    assert errors[0]["param"] == "custom_id" and "'a'" in errors[0]["message"]


def test_url_mismatch(client: OpenAI) -> None:
    wrong = {**chat_request("b", "hi"), "url": "/v1/responses"}
    errors = failed_errors(client, jsonl([chat_request("a", "hi"), wrong]))
    assert codes(errors) == [("url_mismatch", 2)]


def test_model_mismatch(client: OpenAI) -> None:
    other = chat_request("b", "hi")
    other["body"]["model"] = "gpt-4.1"
    errors = failed_errors(client, jsonl([chat_request("a", "hi"), other]))
    assert codes(errors) == [("model_mismatch", 2)]
    assert "gpt-4.1" in errors[0]["message"] and "gpt-4o-mini" in errors[0]["message"]


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"])
def test_empty_file(client: OpenAI, data: bytes) -> None:
    assert codes(failed_errors(client, data)) == [("empty_file", None)]


def test_too_many_tasks(client: OpenAI) -> None:
    line = json.dumps(chat_request("x", "hi"))
    data = "".join(line.replace('"x"', f'"r{n}"', 1) + "\n" for n in range(50_001)).encode()
    assert codes(failed_errors(client, data)) == [("too_many_tasks", None)]


def test_too_many_embedding_inputs(client: OpenAI) -> None:
    requests = [
        {
            "custom_id": f"e{n}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "text-embedding-3-small", "input": ["a"] * 2001},
        }
        for n in range(25)
    ]
    errors = failed_errors(client, jsonl(requests), "/v1/embeddings")
    assert codes(errors) == [("too_many_tasks", None)]
    assert "embedding inputs" in errors[0]["message"]


@pytest.mark.parametrize("field", ["custom_id", "method", "url", "body", "body.model"])
def test_missing_required_parameter(client: OpenAI, field: str) -> None:
    broken = chat_request("b", "hi")
    if field == "body.model":
        del broken["body"]["model"]
    else:
        del broken[field]
    errors = failed_errors(client, jsonl([chat_request("a", "hi"), broken]))
    assert codes(errors) == [("missing_required_parameter", 2)]
    assert errors[0]["param"] == field


def test_several_problems_are_all_reported(client: OpenAI) -> None:
    wrong_url = {**chat_request("c", "hi"), "url": "/v1/completions"}
    data = jsonl([chat_request("a", "hi"), "oops", chat_request("a", "again"), wrong_url])
    assert codes(failed_errors(client, data)) == [
        ("invalid_json_line", 2),
        ("duplicate_custom_id", 3),
        ("url_mismatch", 4),
    ]


def test_token_limit_exceeded(make_client: MakeClient) -> None:
    requests = [chat_request(f"r{n}", f"Review {n}: the parcel arrived late") for n in range(4)]
    tokens = sum(input_tokens(CHAT, r["body"]) for r in requests)
    client = make_client(token_limits={"gpt-4o-mini": tokens - 1})
    errors = failed_errors(client, jsonl(requests))
    assert codes(errors) == [("token_limit_exceeded", None)]
    assert f"{tokens - 1:,}" in errors[0]["message"]


def test_token_limit_counts_the_batches_already_queued(make_client: MakeClient) -> None:
    requests = [chat_request(f"r{n}", f"Review {n}: fine") for n in range(10)]
    tokens = sum(input_tokens(CHAT, r["body"]) for r in requests)
    # Slow enough that the first batch is still queued when the second arrives.
    client = make_client(rate=1, token_limits={"gpt-4o-mini": tokens + tokens // 2})
    first = start_batch(client, jsonl(requests))
    assert wait_for(client, first.id, ["in_progress"]).status == "in_progress"
    errors = failed_errors(client, jsonl(requests))
    assert codes(errors) == [("token_limit_exceeded", None)]
    # A model without a limit is not held back.
    other = [{**r, "body": {**r["body"], "model": "gpt-4.1-mini"}} for r in requests]
    assert wait_until(client, start_batch(client, jsonl(other)).id, 1).status == "in_progress"


def test_a_valid_file_with_blank_lines_runs(client: OpenAI) -> None:
    data = jsonl([chat_request("a", "hi")]) + b"\n\n" + jsonl([chat_request("b", "hi")])
    batch = wait_for(client, start_batch(client, data).id)
    assert batch.status == "completed"
    assert batch.request_counts is not None and batch.request_counts.total == 2
