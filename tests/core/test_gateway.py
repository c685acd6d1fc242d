"""The gateway driving the sandbox through the real openai SDK: in-process and over a socket.

In-process, a Starlette `TestClient` (an httpx2.Client) is the SDK's `http_client`, with a
hook that checks every Files/Batches answer against the newest OpenAPI spec.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openai._base_client
import pytest
from starlette.testclient import TestClient

from batchdash.api.batch_info import BatchInfo
from batchdash.api.gateway import Gateway
from batchdash.errors import (
    ApiError,
    ApiTimeout,
    BadRequest,
    NotFound,
    RateLimited,
    ServerUnavailable,
)
from sandbox.app import create_app
from sandbox.server import running_sandbox
from tests.openapi_schemas import validate
from tests.sandbox.kit import chat_file, chat_request, conformance_hook, jsonl

CHAT = "/v1/chat/completions"
MakeGateway = Callable[..., Gateway]


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[MakeGateway]:
    """`make_gateway(**create_app options)`: a gateway on a fresh in-process sandbox."""
    clients: list[TestClient] = []

    def make(*, max_retries: int = 0, **options: Any) -> Gateway:
        app = create_app(tmp_path / f"sandbox-{len(clients)}", **options)
        test_client = TestClient(app, base_url="http://sandbox.test")
        test_client.__enter__()
        clients.append(test_client)
        test_client.event_hooks = {"request": [], "response": [conformance_hook]}
        return Gateway(
            "sk-test", "http://sandbox.test/v1", http_client=test_client, max_retries=max_retries
        )

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


@pytest.fixture(params=["in-process", "socket"])
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, make_gateway: MakeGateway
) -> Iterator[Gateway]:
    """A gateway on a sandbox at full speed: in-process, then over a real 127.0.0.1 socket."""
    if request.param == "in-process":
        yield make_gateway()
    else:
        with running_sandbox(tmp_path / "socket-sandbox") as base_url:
            yield Gateway("sk-test", base_url, timeout=30, max_retries=0)


def wait_terminal(gateway: Gateway, batch_id: str, timeout: float = 30) -> BatchInfo:
    """Poll until the batch is final (the timeout only guards against a hang)."""
    deadline = time.monotonic() + timeout
    while not (batch := gateway.retrieve_batch(batch_id)).terminal:
        assert time.monotonic() < deadline, f"{batch_id} stayed {batch.status}"
        time.sleep(0.02)
    return batch


def create_once(gateway: Gateway, file_id: str, tag: dict[str, str], settle: float) -> BatchInfo:
    """Create a batch, trying again after a retryable error only when no tagged batch exists.

    A create the server stalled is carried out when the stall ends, so look after `settle`.
    """
    for _ in range(20):
        try:
            return gateway.create_batch(file_id, CHAT, tag)
        except ApiError as error:
            if not error.retryable:
                raise
            time.sleep(settle)
            found = gateway.find_batch(tag)
            if found is not None:
                return found
    raise AssertionError("every create attempt failed")


def lines_of(data: bytes) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in data.splitlines()]
    for row in rows:
        validate("BatchRequestOutput", row, spec="2025")
    return {row["custom_id"]: row for row in rows}


def test_a_batch_from_upload_to_streamed_results(gateway: Gateway, tmp_path: Path) -> None:
    data = jsonl(
        [
            chat_request("row-1", "Rate: lovely"),
            chat_request("row-2", "Rate: [[sandbox:error]]"),
            chat_request("row-3", "Rate: awful"),
        ]
    )
    file_id = gateway.upload_part("part-0001.jsonl", data)
    created = gateway.create_batch(file_id, CHAT, {"job": "job-1", "part": "1"})
    assert (created.endpoint, created.input_file_id, created.completion_window) == (
        CHAT,
        file_id,
        "24h",
    )
    assert created.metadata == {"job": "job-1", "part": "1"}
    assert not created.terminal
    batch = wait_terminal(gateway, created.id)
    assert (batch.status, batch.total, batch.completed, batch.failed) == ("completed", 3, 2, 1)
    assert batch.input_tokens > 0 and batch.output_tokens > 0
    assert batch.completed_at is not None and batch.in_progress_at is not None
    assert batch.output_file_id is not None and batch.error_file_id is not None
    dest = tmp_path / "results" / "output.jsonl"
    written = gateway.download_file(batch.output_file_id, dest)
    assert written == dest.stat().st_size > 0
    assert dest.read_bytes() == gateway.file_bytes(batch.output_file_id)
    answers = lines_of(dest.read_bytes())
    assert sorted(answers) == ["row-1", "row-3"]
    content = answers["row-1"]["response"]["body"]["choices"][0]["message"]["content"]
    assert content.startswith("[sandbox]")
    errors = lines_of(gateway.file_bytes(batch.error_file_id))
    assert errors["row-2"]["response"]["status_code"] == 400
    assert gateway.file_bytes(file_id) == data


def test_list_batches_reads_every_page_newest_first(make_gateway: MakeGateway) -> None:
    gateway = make_gateway()
    file_id = gateway.upload_part("part-0001.jsonl", chat_file(2))
    created = [gateway.create_batch(file_id, CHAT, {"n": str(n)}).id for n in range(5)]
    listed = [batch.id for batch in gateway.list_batches(limit=2)]
    assert listed == created[::-1]


def test_find_batch_by_metadata_and_creation_time(make_gateway: MakeGateway) -> None:
    gateway = make_gateway()
    file_id = gateway.upload_part("part-0001.jsonl", chat_file(2))
    first = gateway.create_batch(file_id, CHAT, {"job": "j", "part": "1"})
    second = gateway.create_batch(file_id, CHAT, {"job": "j", "part": "2"})
    for n in range(3):
        gateway.create_batch(file_id, CHAT, {"job": "other", "part": str(n)})
    found = gateway.find_batch({"job": "j", "part": "1"})
    assert found is not None and found.id == first.id
    found = gateway.find_batch({"part": "2", "job": "j"}, created_after=first.created_at)
    assert found is not None and found.id == second.id
    assert (
        gateway.find_batch({"job": "j", "part": "1"}, created_after=first.created_at + 3600) is None
    )
    assert gateway.find_batch({"job": "j", "part": "3"}) is None


def test_cancel_keeps_the_finished_answers(make_gateway: MakeGateway, tmp_path: Path) -> None:
    gateway = make_gateway(rate=50)
    batch = gateway.create_batch(gateway.upload_part("part-0001.jsonl", chat_file(500)), CHAT, {})
    deadline = time.monotonic() + 30
    while gateway.retrieve_batch(batch.id).completed < 5:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cancelling = gateway.cancel_batch(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    cancelled = wait_terminal(gateway, batch.id)
    assert cancelled.status == "cancelled"
    assert 5 <= cancelled.completed < 500
    assert cancelled.output_file_id is not None and cancelled.error_file_id is not None
    done = gateway.download_file(cancelled.output_file_id, tmp_path / "out.jsonl")
    assert done > 0
    not_run = lines_of(gateway.file_bytes(cancelled.error_file_id))
    assert len(not_run) + cancelled.completed == 500
    assert {row["error"]["code"] for row in not_run.values()} == {"batch_cancelled"}


def test_unknown_ids_are_not_found(gateway: Gateway) -> None:
    with pytest.raises(NotFound, match="batch batch_nope was not found"):
        gateway.retrieve_batch("batch_nope")
    with pytest.raises(NotFound, match="file file-nope was not found"):
        gateway.download_file(
            "file-nope", Path("/nonexistent-dir-never-created/x.jsonl").parent / "x"
        )
    gateway.check_key()


def test_a_bad_upload_is_refused_with_the_servers_reason(gateway: Gateway) -> None:
    with pytest.raises(BadRequest, match="rejected the request"):
        gateway.upload_part("part-0001.csv", b"a,b\n")


SYNC_BODIES = {
    "/v1/chat/completions": (
        "CreateChatCompletionResponse",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]},
    ),
    "/v1/responses": (
        "Response",
        {"model": "gpt-4.1-mini", "input": "Hello", "instructions": "Be brief."},
    ),
    "/v1/embeddings": (
        "CreateEmbeddingResponse",
        {"model": "text-embedding-3-small", "input": ["Hello", "there"], "dimensions": 32},
    ),
    "/v1/completions": (
        "CreateCompletionResponse",
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Hello", "max_tokens": 60},
    ),
}


@pytest.mark.parametrize("endpoint", list(SYNC_BODIES))
def test_complete_answers_each_endpoint(gateway: Gateway, endpoint: str) -> None:
    schema, body = SYNC_BODIES[endpoint]
    answer = gateway.complete(endpoint, body)
    validate(schema, answer)
    assert gateway.complete(endpoint, body)["usage"] == answer["usage"]


def test_complete_survives_a_flaky_request_and_reports_a_refused_one(
    make_gateway: MakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        openai._base_client, "time", SimpleNamespace(sleep=lambda _s: None, time=time.time)
    )
    gateway = make_gateway(max_retries=1)
    flaky = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi [[sandbox:flaky]]"}],
    }
    assert gateway.complete(CHAT, flaky)["choices"][0]["finish_reason"] == "stop"
    strict = make_gateway(max_retries=0)
    with pytest.raises(ServerUnavailable):
        strict.complete(CHAT, flaky)
    refused = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "[[sandbox:error]]"}],
    }
    with pytest.raises(BadRequest, match=r"rejected the request: \[sandbox\]"):
        gateway.complete(CHAT, refused)


def test_with_retries_the_gateway_rides_out_a_faulty_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third of calls answer 429/500 or stall past the timeout; retries carry every step.

    The create is the one call the SDK does not repeat (it may have gone through unseen), so it
    is tried again here as the job service does: after looking for the tagged batch.
    """
    waits: list[float] = []
    monkeypatch.setattr(
        openai._base_client, "time", SimpleNamespace(sleep=waits.append, time=time.time)
    )
    options = {"fault_rate": 0.3, "seed": 7, "stall_seconds": 1.0}
    with running_sandbox(tmp_path / "faulty", **options) as base_url:
        gateway = Gateway("sk-test", base_url, timeout=0.3, max_retries=8)
        file_id = gateway.upload_part("part-0001.jsonl", chat_file(20))
        batch = create_once(gateway, file_id, {"job": "faults"}, options["stall_seconds"])
        batch = wait_terminal(gateway, batch.id)
        assert (batch.status, batch.completed) == ("completed", 20)
        assert len(lines_of(gateway.file_bytes(batch.output_file_id or ""))) == 20
        tagged = [b for b in gateway.list_batches() if b.metadata == {"job": "faults"}]
        assert [b.id for b in tagged] == [batch.id]
        assert waits, "the seeded faults must have forced at least one retry"
        fragile = Gateway("sk-test", base_url, timeout=0.3, max_retries=0)
        seen: set[type[ApiError]] = set()
        for _ in range(60):
            if len(seen) == 3:
                break
            try:
                fragile.retrieve_batch(batch.id)
            except (RateLimited, ServerUnavailable, ApiTimeout) as error:
                seen.add(type(error))
                assert str(error).startswith("The server at 127.0.0.1:")
    assert seen == {RateLimited, ServerUnavailable, ApiTimeout}
