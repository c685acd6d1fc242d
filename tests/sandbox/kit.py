"""Helpers for driving the sandbox with the openai SDK in tests."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any

import httpx2
from openai import OpenAI
from openai.types import Batch

from tests.openapi_schemas import validate

TERMINAL = ("completed", "failed", "expired", "cancelled")
MODEL = "gpt-4o-mini"
CHAT = "/v1/chat/completions"

# Which schema of the newest spec each JSON answer must fit, by method and path.
_SCHEMAS = [
    ("POST", re.compile(r"/v1/files"), "OpenAIFile"),
    ("GET", re.compile(r"/v1/files"), "ListFilesResponse"),
    ("GET", re.compile(r"/v1/files/[^/]+"), "OpenAIFile"),
    ("DELETE", re.compile(r"/v1/files/[^/]+"), "DeleteFileResponse"),
    ("POST", re.compile(r"/v1/batches"), "Batch"),
    ("GET", re.compile(r"/v1/batches"), "ListBatchesResponse"),
    ("GET", re.compile(r"/v1/batches/[^/]+"), "Batch"),
    ("POST", re.compile(r"/v1/batches/[^/]+/cancel"), "Batch"),
]


def schema_for(method: str, path: str, status: int) -> str | None:
    """The spec schema a sandbox answer must fit (None for content and model endpoints)."""
    if status >= 400:
        return "ErrorResponse"
    for wanted, pattern, schema in _SCHEMAS:
        if method == wanted and pattern.fullmatch(path):
            return schema
    return None


def without_nulls(value: Any) -> Any:
    """`value` with null object fields dropped.

    OpenAI sends unset fields as null while the newest spec types them as plain strings and
    integers; dropping them checks the rest, and a required field sent as null still fails.
    """
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def conformance_hook(response: httpx2.Response) -> None:
    """httpx2 response hook: every answer has an `x-request-id`, and every Files/Batches
    answer fits the newest spec."""
    assert response.headers.get("x-request-id", "").startswith("req_"), response.headers
    if response.request.url.path == "/health":
        return
    schema = schema_for(response.request.method, response.request.url.path, response.status_code)
    if schema is None:
        return
    response.read()
    body = response.json()
    validate(schema, body if schema == "ErrorResponse" else without_nulls(body))
    if schema == "ErrorResponse":
        # The SDK reads these four keys; the spec requires them all.
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def sdk_client(http_client: httpx2.Client, base_url: str) -> OpenAI:
    """The real SDK, on `http_client`, checking every answer against the spec."""
    http_client.event_hooks = {"request": [], "response": [conformance_hook]}
    return OpenAI(api_key="sk-test", base_url=base_url, http_client=http_client, max_retries=0)


def chat_request(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    """One chat request line."""
    messages = [{"role": "user", "content": text}]
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": MODEL, "messages": messages, **body},
    }


def jsonl(requests: Iterable[Any]) -> bytes:
    """Request objects (or ready strings) as JSONL bytes."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def chat_file(count: int, *, prefix: str = "row", text: str = "Review {n}: fine") -> bytes:
    """A chat batch file of `count` requests `row-1`..."""
    return jsonl(chat_request(f"{prefix}-{n}", text.format(n=n)) for n in range(1, count + 1))


def upload(client: OpenAI, data: bytes, name: str = "part-0001.jsonl") -> str:
    """Upload a batch input file; returns its id."""
    return client.files.create(file=(name, data, "application/jsonl"), purpose="batch").id


def start_batch(client: OpenAI, data: bytes, endpoint: str = CHAT, **options: Any) -> Batch:
    """Upload `data` and create a batch on it."""
    file_id = upload(client, data)
    return client.batches.create(
        input_file_id=file_id, endpoint=endpoint, completion_window="24h", **options
    )


def wait_for(
    client: OpenAI, batch_id: str, statuses: Iterable[str] = TERMINAL, timeout: float = 30
) -> Batch:
    """Poll until the batch reaches one of `statuses` (the timeout only guards a hang)."""
    wanted = tuple(statuses)
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in wanted:
            return batch
        if time.monotonic() > deadline:
            raise AssertionError(f"Batch {batch_id} stayed {batch.status}, not {wanted}.")
        time.sleep(0.02)


def wait_until(client: OpenAI, batch_id: str, done: int, timeout: float = 30) -> Batch:
    """Poll until at least `done` requests of a running batch have finished."""
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        counts = batch.request_counts
        if counts is not None and counts.completed + counts.failed >= done:
            return batch
        if batch.status in TERMINAL or time.monotonic() > deadline:
            raise AssertionError(f"Batch {batch_id} is {batch.status} with {counts}.")
        time.sleep(0.02)


def result_lines(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    """The lines of an output or error file, each checked against BatchRequestOutput (2025)."""
    if file_id is None:
        return []
    lines = [json.loads(line) for line in client.files.content(file_id).text.splitlines()]
    for line in lines:
        validate("BatchRequestOutput", line, spec="2025")
        assert set(line) == {"id", "custom_id", "response", "error"}
    return lines


def results_by_id(client: OpenAI, batch: Batch) -> dict[str, dict[str, Any]]:
    """Every output and error line of a finished batch by custom_id; fails on a repeat."""
    lines = result_lines(client, batch.output_file_id) + result_lines(client, batch.error_file_id)
    ids = [line["custom_id"] for line in lines]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"custom_ids written twice: {repeated[:5]}"
    return {line["custom_id"]: line for line in lines}


def raw_json(response: Any) -> dict[str, Any]:
    """The JSON body of a `with_raw_response` call."""
    data: dict[str, Any] = json.loads(response.http_response.content)
    return data
