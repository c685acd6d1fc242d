"""The gateway as a provider's profile sets it up: the upload purpose, the completion window
each batch asks for, and the models the key may use (requests seen by an httpx2.MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from batchdash.errors import KeyRefused
from batchdash.jobs.opening import provider_gateway
from batchdash.providers.profiles import BY_NAME

BATCH: dict[str, Any] = {
    "id": "batch_1",
    "object": "batch",
    "endpoint": "/v1/chat/completions",
    "input_file_id": "file_1",
    "completion_window": "72h",
    "status": "in_queue",
    "created_at": 1,
    "request_counts": None,
}


class Recorder:
    """Answers like a provider and keeps every request it saw."""

    def __init__(self, models: list[str] | None = None, status: int = 200) -> None:
        self.requests: list[httpx2.Request] = []
        self.models = models or []
        self.status = status

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx2.Response(self.status, json={"error": {"message": "Invalid key"}})
        path = request.url.path
        if path.endswith("/files"):
            return httpx2.Response(
                200,
                json={
                    "id": "file_1",
                    "object": "file",
                    "bytes": 3,
                    "created_at": 1,
                    "filename": "part.jsonl",
                    "purpose": "batch",
                },
            )
        if path.endswith("/batches"):
            return httpx2.Response(200, json=BATCH)
        if path.endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 1, "owned_by": "x"} for m in self.models
            ]
            return httpx2.Response(200, json={"object": "list", "data": data})
        return httpx2.Response(404, json={"error": {"message": "no route"}})


def _gateway(recorder: Recorder, provider: str):  # type: ignore[no-untyped-def]
    client = httpx2.Client(transport=httpx2.MockTransport(recorder))
    return provider_gateway(
        "sk-provider-test",
        "http://provider.test/v1",
        BY_NAME[provider],
        http_client=client,
        max_retries=0,
    )


def test_a_batch_asks_for_the_providers_window_or_the_one_chosen() -> None:
    recorder = Recorder()
    gateway = _gateway(recorder, "siliconflow")
    file_id = gateway.upload_part("part.jsonl", b"{}\n")
    assert b'name="purpose"\r\n\r\nbatch' in recorder.requests[0].read()
    gateway.create_batch(file_id, "/v1/chat/completions", {"job": "j"})
    chosen = gateway.create_batch(file_id, "/v1/chat/completions", {"job": "j"}, "72h")
    sent = [json.loads(request.read()) for request in recorder.requests[1:]]
    assert [body["completion_window"] for body in sent] == ["24h", "72h"]
    # SiliconFlow's own status word comes through, and the batch is not taken for finished.
    assert chosen.status == "in_queue" and not chosen.terminal


def test_the_models_the_key_may_use_are_listed_sorted() -> None:
    recorder = Recorder(models=["qwen-plus", "batch-test-model", "qwen-plus"])
    assert _gateway(recorder, "dashscope").list_models() == ["batch-test-model", "qwen-plus"]
    assert recorder.requests[0].url.path == "/v1/models"


def test_a_refused_key_on_the_model_list_is_said_plainly() -> None:
    with pytest.raises(KeyRefused, match="API key was refused"):
        _gateway(Recorder(status=401), "groq").list_models()


def test_a_server_that_cannot_list_batches_is_never_asked_to() -> None:
    recorder = Recorder(models=["gemini-2.5-flash"])
    gateway = _gateway(recorder, "gemini")
    assert gateway.find_batch({"job": "j"}) is None
    gateway.check_key()  # asks for the models instead
    assert [request.url.path for request in recorder.requests] == ["/v1/models"]
