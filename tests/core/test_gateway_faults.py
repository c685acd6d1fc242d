"""The gateway against scripted HTTP faults (httpx2.MockTransport): retries made and messages shown.

The SDK's retry sleeps are recorded instead of slept, so the tests check the waits it chose
(e.g. the 20 s a `retry-after` header asked for) without waiting.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import openai._base_client
import pytest

from batchdash.api.gateway import Gateway, azure_base_url, retry_after_seconds
from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.errors import (
    ApiError,
    ApiTimeout,
    BadRequest,
    InputError,
    KeyRefused,
    NetworkDown,
    NotFound,
    RateLimited,
    ServerUnavailable,
)

FAKE_KEY = "sk-proj-FAKEkey0123456789abcdefSECRET"
Handler = Callable[[httpx2.Request], httpx2.Response]


def batch_json(
    batch_id: str = "batch_1", status: str = "in_progress", **extra: Any
) -> dict[str, Any]:
    return {
        "id": batch_id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": status,
        "created_at": 1_700_000_000,
        "request_counts": {"total": 3, "completed": 1, "failed": 0},
        **extra,
    }


def error_json(
    message: str, kind: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class Recorder:
    """A MockTransport handler that keeps every request and answers from a script.

    Each step is a response, an exception to raise, or a function of the request; the last
    step repeats.
    """

    def __init__(self, *steps: httpx2.Response | Exception | Handler) -> None:
        self.steps = steps
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The SDK's retry waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(
        openai._base_client,
        "time",
        SimpleNamespace(sleep=waited.append, time=openai._base_client.time.time),
    )
    return waited


def gateway_for(
    handler: Handler,
    *,
    base_url: str = "http://test/v1",
    max_retries: int = 2,
    timeout: float = 5,
    key: str = FAKE_KEY,
    **options: Any,
) -> Gateway:
    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return Gateway(
        key, base_url, http_client=client, timeout=timeout, max_retries=max_retries, **options
    )


def full_text(error: BaseException) -> str:
    """Everything a log or a page could show of an exception: message, repr and traceback."""
    return str(error) + repr(error) + "".join(traceback.format_exception(error))


def test_a_429_with_retry_after_is_retried_by_the_sdk_after_the_wait_asked(
    sleeps: list[float],
) -> None:
    handler = Recorder(
        httpx2.Response(
            429, headers={"retry-after": "20"}, json=error_json("Slow down", "requests")
        ),
        httpx2.Response(200, json=batch_json()),
    )
    batch = gateway_for(handler).retrieve_batch("batch_1")
    assert batch.id == "batch_1"
    assert len(handler.requests) == 2
    assert sleeps == [20.0]
    assert handler.requests[1].headers["x-stainless-retry-count"] == "1"


def test_a_429_that_persists_becomes_rate_limited_with_the_wait(sleeps: list[float]) -> None:
    busy = httpx2.Response(
        429, headers={"retry-after": "20"}, json=error_json("Slow down", "requests")
    )
    handler = Recorder(busy)
    gateway = gateway_for(handler, base_url="https://api.openai.com/v1", max_retries=2)
    with pytest.raises(RateLimited) as caught:
        gateway.retrieve_batch("batch_1")
    assert len(handler.requests) == 3
    assert sleeps == [20.0, 20.0]
    assert str(caught.value) == "OpenAI is busy (rate limit), retrying in 20 s."
    assert caught.value.retry_after == 20
    assert caught.value.retryable


def test_an_exhausted_quota_is_not_worth_retrying(sleeps: list[float]) -> None:
    handler = Recorder(
        httpx2.Response(
            429,
            headers={"x-should-retry": "false"},
            json=error_json(
                "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
            ),
        )
    )
    with pytest.raises(RateLimited) as caught:
        gateway_for(handler).list_batches().__next__()
    assert len(handler.requests) == 1
    assert not caught.value.retryable
    assert "no quota left" in str(caught.value)


def test_server_errors_are_retried_with_backoff_then_reported(sleeps: list[float]) -> None:
    handler = Recorder(httpx2.Response(503, json=error_json("Overloaded", "server_error")))
    gateway = gateway_for(
        handler, base_url="https://my-res.openai.azure.com/openai/v1/", max_retries=3
    )
    with pytest.raises(ServerUnavailable) as caught:
        gateway.cancel_batch("batch_1")
    assert len(handler.requests) == 4
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]  # exponential backoff
    assert str(caught.value) == (
        "Azure OpenAI has a server problem (HTTP 503); try again in a few minutes."
    )
    assert (
        str(handler.requests[0].url)
        == "https://my-res.openai.azure.com/openai/v1/batches/batch_1/cancel"
    )


def test_one_500_then_success_is_invisible(sleeps: list[float]) -> None:
    handler = Recorder(
        httpx2.Response(500, json=error_json("Oops", "server_error")),
        httpx2.Response(200, json=batch_json(status="cancelling")),
    )
    assert gateway_for(handler).cancel_batch("batch_1").status == "cancelling"
    assert len(handler.requests) == 2


def test_timeouts_are_retried_then_reported(sleeps: list[float]) -> None:
    handler = Recorder(httpx2.ReadTimeout("read timed out"))
    with pytest.raises(ApiTimeout) as caught:
        gateway_for(handler, timeout=7, max_retries=2).retrieve_batch("batch_1")
    assert len(handler.requests) == 3
    assert (
        str(caught.value) == "The server at test did not answer within 7 s; try again in a minute."
    )


def test_the_timeout_and_retries_are_explicit_on_every_request(sleeps: list[float]) -> None:
    handler = Recorder(httpx2.Response(200, json=batch_json()))
    gateway_for(handler, timeout=30).retrieve_batch("batch_1")
    assert handler.requests[0].extensions["timeout"] == {
        "connect": 10.0,
        "read": 30,
        "write": 30,
        "pool": 30,
    }
    gateway_for(handler, timeout=4).retrieve_batch("batch_1")
    assert handler.requests[1].extensions["timeout"]["connect"] == 4


def test_a_refused_connection_is_retried_then_names_the_host(sleeps: list[float]) -> None:
    handler = Recorder(httpx2.ConnectError("connection refused"))
    with pytest.raises(NetworkDown) as caught:
        gateway_for(handler, base_url="http://proxy.internal:4000/v1").upload_part(
            "part-0001.jsonl", b"{}\n"
        )
    assert len(handler.requests) == 3
    assert (
        str(caught.value) == "Cannot reach proxy.internal:4000. Check the network or the base URL."
    )


def test_a_real_refused_connection_on_a_closed_local_port(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = Gateway(FAKE_KEY, f"http://127.0.0.1:{port}/v1", timeout=5, max_retries=1)
    with pytest.raises(NetworkDown, match=f"Cannot reach 127.0.0.1:{port}"):
        gateway.check_key()
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (401, KeyRefused, "The API key was refused. Check it in Settings."),
        (
            403,
            KeyRefused,
            "The API key was refused for this request (Project lacks access); check its project and permissions in Settings.",
        ),
        (
            404,
            NotFound,
            "The batch batch_1 was not found for this API key; check that the key belongs to the project that created it.",
        ),
        (400, BadRequest, "The server at test rejected the request: Project lacks access"),
        (409, ApiError, "The server at test answered HTTP 409: Project lacks access"),
    ],
)
def test_client_errors_are_not_retried_and_read_plainly(
    status: int, kind: type[ApiError], expected: str, sleeps: list[float]
) -> None:
    headers = {"x-should-retry": "false"} if status == 409 else {}
    handler = Recorder(
        httpx2.Response(status, headers=headers, json=error_json("Project lacks access"))
    )
    with pytest.raises(kind) as caught:
        gateway_for(handler).retrieve_batch("batch_1")
    assert type(caught.value) is kind
    assert str(caught.value) == expected
    assert len(handler.requests) == 1
    assert not caught.value.retryable


@pytest.mark.parametrize("key", [FAKE_KEY, "9f8e7d6c5b4a39281706f5e4d3c2b1a0"])  # OpenAI, Azure
def test_the_key_never_leaks_into_errors_logs_or_reprs(
    key: str, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    echoed = error_json(f"Incorrect API key provided: {key}. Also {key[:20]}xyzxyz.")
    caplog.set_level(logging.DEBUG)
    for status in (400, 401, 403, 404, 422, 500):
        handler = Recorder(httpx2.Response(status, json=echoed))
        gateway = gateway_for(handler, max_retries=0, key=key)
        assert key not in repr(gateway)
        with pytest.raises(ApiError) as caught:
            gateway.complete("/v1/chat/completions", {"model": "m", "messages": []})
        assert key[8:] not in full_text(caught.value)
        assert handler.requests[0].headers["authorization"] == f"Bearer {key}"
    assert key[8:] not in caplog.text


def test_an_empty_key_is_refused_before_any_call() -> None:
    with pytest.raises(KeyRefused, match="No API key"):
        Gateway("  ", "http://test/v1")


def test_unknown_statuses_are_kept_and_not_terminal_unless_configured(sleeps: list[float]) -> None:
    handler = Recorder(
        httpx2.Response(200, json=batch_json(status="queued_for_review", extra_field=1))
    )
    batch = gateway_for(handler).retrieve_batch("batch_1")
    assert batch.status == "queued_for_review"
    assert not batch.terminal
    assert batch.pending == 2
    other = gateway_for(handler, terminal_statuses=OPENAI_TERMINAL_STATUSES | {"queued_for_review"})
    assert other.retrieve_batch("batch_1").terminal


def test_batch_fields_are_read_whole(sleeps: list[float]) -> None:
    failed = batch_json(
        status="failed",
        failed_at=1_700_000_100,
        model="gpt-4o-mini",
        metadata={"job": "j1", "part": "2"},
        usage={"input_tokens": 10, "output_tokens": 4, "total_tokens": 14},
        errors={
            "object": "list",
            "data": [
                {"code": "invalid_json_line", "message": "Bad line", "line": 3, "param": None}
            ],
        },
    )
    batch = gateway_for(Recorder(httpx2.Response(200, json=failed))).retrieve_batch("batch_1")
    assert batch.terminal
    assert (batch.model, batch.failed_at, batch.input_tokens, batch.output_tokens) == (
        "gpt-4o-mini",
        1_700_000_100,
        10,
        4,
    )
    assert batch.metadata == {"job": "j1", "part": "2"}
    assert [(e.code, e.line) for e in batch.errors] == [("invalid_json_line", 3)]
    assert type(batch).from_dict(batch.to_dict()) == batch


def pager(batches: list[dict[str, Any]]) -> Handler:
    """Serve GET /batches from a list, newest first, honouring `limit` and `after`."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        after = request.url.params.get("after")
        start = 0 if after is None else [b["id"] for b in batches].index(after) + 1
        stop = start + int(request.url.params.get("limit", 20))
        return httpx2.Response(
            200,
            json={"object": "list", "data": batches[start:stop], "has_more": stop < len(batches)},
        )

    return handler


def test_list_batches_walks_every_page(sleeps: list[float]) -> None:
    batches = [batch_json(f"batch_{n}", created_at=2000 - n) for n in range(7)]
    handler = Recorder(pager(batches))
    assert [b.id for b in gateway_for(handler).list_batches(limit=2)] == [b["id"] for b in batches]
    assert [r.url.params.get("after") for r in handler.requests] == [
        None,
        "batch_1",
        "batch_3",
        "batch_5",
    ]
    assert {r.url.params["limit"] for r in handler.requests} == {"2"}


def test_find_batch_matches_metadata_and_stops_at_created_after(sleeps: list[float]) -> None:
    batches = [
        batch_json(f"batch_{n}", created_at=2000 - n, metadata={"job": "j1", "part": str(n % 3)})
        for n in range(250)
    ]
    batches[150]["metadata"] = {"job": "j2", "part": "1", "extra": "x"}
    handler = Recorder(pager(batches))
    gateway = gateway_for(handler)
    found = gateway.find_batch({"job": "j2", "part": "1"})
    assert found is not None and found.id == "batch_150"
    assert len(handler.requests) == 2
    handler.requests.clear()
    assert gateway.find_batch({"job": "j2", "part": "1"}, created_after=1850) is not None
    assert gateway.find_batch({"job": "j2", "part": "1"}, created_after=1900) is None
    # The second scan stopped at batch_101 (created 1899) without reading the third page.
    assert len(handler.requests) == 4
    handler.requests.clear()
    assert gateway.find_batch({"job": "j3"}) is None
    assert len(handler.requests) == 3


class Chunks(httpx2.SyncByteStream):
    """A response body that arrives in pieces, optionally failing after them."""

    def __init__(self, chunks: list[bytes], failure: Exception | None = None) -> None:
        self.chunks, self.failure = chunks, failure

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.failure is not None:
            raise self.failure


def test_download_streams_to_the_destination(tmp_path: Path, sleeps: list[float]) -> None:
    lines = [json.dumps({"custom_id": f"row-{n}"}).encode() + b"\n" for n in range(1000)]
    handler = Recorder(httpx2.Response(200, stream=Chunks(lines)))
    dest = tmp_path / "results" / "out.jsonl"
    written = gateway_for(handler).download_file("file-out", dest)
    assert written == dest.stat().st_size == sum(map(len, lines))
    assert dest.read_bytes() == b"".join(lines)
    assert handler.requests[0].url.path == "/v1/files/file-out/content"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out.jsonl"]


def test_an_empty_error_file_downloads_as_zero_bytes(tmp_path: Path, sleeps: list[float]) -> None:
    dest = tmp_path / "errors.jsonl"
    assert (
        gateway_for(Recorder(httpx2.Response(200, content=b""))).download_file("file-err", dest)
        == 0
    )
    assert dest.read_bytes() == b""
    assert gateway_for(Recorder(httpx2.Response(200, content=b""))).file_bytes("file-err") == b""


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (httpx2.Response(404, json=error_json("No such File object: file-out")), NotFound),
        (
            httpx2.Response(200, stream=Chunks([b"a" * 100], httpx2.ReadTimeout("stalled"))),
            ApiTimeout,
        ),
        (
            httpx2.Response(200, stream=Chunks([b"a" * 100], httpx2.RemoteProtocolError("cut"))),
            NetworkDown,
        ),
    ],
)
def test_a_failed_download_leaves_no_file_behind(
    answer: httpx2.Response, kind: type[ApiError], tmp_path: Path, sleeps: list[float]
) -> None:
    dest = tmp_path / "out.jsonl"
    dest.write_bytes(b"previous copy")
    with pytest.raises(kind):
        gateway_for(Recorder(answer), max_retries=0).download_file("file-out", dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    assert dest.read_bytes() == b"previous copy"


def test_upload_and_create_send_what_the_batch_api_expects(sleeps: list[float]) -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/files":
            return httpx2.Response(
                200,
                json={
                    "id": "file-1",
                    "object": "file",
                    "bytes": 3,
                    "created_at": 1,
                    "filename": "part-0001.jsonl",
                    "purpose": "batch",
                    "status": "processed",
                },
            )
        sent = json.loads(request.content)
        return httpx2.Response(200, json=batch_json(status="validating", metadata=sent["metadata"]))

    seen = Recorder(answer)
    gateway = gateway_for(seen)
    assert gateway.upload_part("part-0001.jsonl", b"{}\n") == "file-1"
    upload = seen.requests[0].content
    assert b'filename="part-0001.jsonl"' in upload
    assert b"Content-Type: application/jsonl" in upload
    assert b'name="purpose"\r\n\r\nbatch' in upload
    batch = gateway.create_batch("file-1", "/v1/responses", {"job": "j1"})
    assert json.loads(seen.requests[1].content) == {
        "input_file_id": "file-1",
        "endpoint": "/v1/responses",
        "completion_window": "24h",
        "metadata": {"job": "j1"},
    }
    assert batch.metadata == {"job": "j1"}


@pytest.mark.parametrize(
    ("base_url", "path"),
    [
        ("http://test/v1", "/v1/embeddings"),
        ("https://res-1.openai.azure.com/openai/v1/", "/openai/v1/embeddings"),
    ],
)
def test_complete_posts_the_body_to_the_endpoint_under_any_base_url(
    base_url: str, path: str, sleeps: list[float]
) -> None:
    handler = Recorder(httpx2.Response(200, json={"object": "list", "data": []}))
    body = {"model": "text-embedding-3-small", "input": "hi"}
    assert gateway_for(handler, base_url=base_url).complete("/v1/embeddings", body) == {
        "object": "list",
        "data": [],
    }
    assert handler.requests[0].url.path == path
    assert json.loads(handler.requests[0].content) == body
    with pytest.raises(InputError, match="cannot call"):
        gateway_for(handler).complete("/v1/images/edits", body)


def test_complete_reports_an_unknown_model_with_the_servers_words(sleeps: list[float]) -> None:
    handler = Recorder(httpx2.Response(404, json=error_json("The model `gpt-9` does not exist.")))
    with pytest.raises(
        NotFound,
        match=re.escape("does not know this model or URL (The model `gpt-9` does not exist.)"),
    ):
        gateway_for(handler).complete("/v1/chat/completions", {"model": "gpt-9", "messages": []})


def test_azure_base_url() -> None:
    assert azure_base_url("my-res") == "https://my-res.openai.azure.com/openai/v1/"
    assert (
        azure_base_url(" https://my-res.openai.azure.com/ ")
        == "https://my-res.openai.azure.com/openai/v1/"
    )
    with pytest.raises(InputError, match="not valid"):
        azure_base_url("my res/../x")


def test_retry_after_reads_milliseconds_seconds_and_dates() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "20"}) == 20
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_an_api_error_carries_the_status_and_request_id_for_support(
    sleeps: list[float],
) -> None:
    handler = Recorder(
        httpx2.Response(
            400, headers={"x-request-id": "req_7f3a"}, json=error_json("Bad batch id", code="x")
        )
    )

    with pytest.raises(BadRequest) as raised:
        gateway_for(handler).retrieve_batch("batch_1")

    assert (raised.value.status_code, raised.value.request_id) == (400, "req_7f3a")
    assert FAKE_KEY not in repr(vars(raised.value))
