"""The sandbox where real clients read it closely: every documented field, request ids, the
models list, a key required, and raw HTTP clients that use no SDK."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.server import running_sandbox
from tests.openapi_schemas import schema_of, validate
from tests.sandbox.conftest import MakeClient
from tests.sandbox.kit import chat_file, chat_request, sdk_client

BATCH_FIELDS = tuple(schema_of("Batch")["properties"])
FILE_FIELDS = tuple(schema_of("OpenAIFile")["properties"])


def raw_upload(http: Any, data: bytes, name: str = "part-0001.jsonl") -> dict[str, Any]:
    answer = http.post("/v1/files", files={"file": (name, data)}, data={"purpose": "batch"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def raw_batch(http: Any, file_id: str) -> dict[str, Any]:
    """Create a chat batch on `file_id` with a plain POST; its JSON."""
    body = {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    return dict(http.post("/v1/batches", json=body).json())


def read_every_field(batch: dict[str, Any]) -> dict[str, Any]:
    """What a raw-JSON client does: index every documented key (a KeyError fails the test)."""
    return {name: batch[name] for name in BATCH_FIELDS}


def raw_wait(http: Any, batch_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        batch = dict(http.get(f"/v1/batches/{batch_id}").json())
        if batch["status"] in statuses:
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.02)


def test_the_spec_lists_the_fields_a_client_reads() -> None:
    # The field lists come from the spec, so this test follows it when it grows.
    assert {"output_file_id", "error_file_id", "model", "usage", "cancelled_at"} <= set(
        BATCH_FIELDS
    )
    assert {"expires_at", "status_details", "purpose"} <= set(FILE_FIELDS)


def test_a_raw_client_reads_every_documented_field_at_every_stage(data_dir: Path) -> None:
    app = create_app(data_dir, rate=20)
    with TestClient(app, base_url="http://sandbox.test") as http:
        uploaded = raw_upload(http, chat_file(3))
        assert {name: uploaded[name] for name in FILE_FIELDS}["status_details"] is None
        created = raw_batch(http, uploaded["id"])
        fresh = read_every_field(created)
        assert fresh["output_file_id"] is None and fresh["completed_at"] is None
        assert fresh["model"] is None and fresh["errors"] is None

        done = read_every_field(raw_wait(http, created["id"], ("completed",)))
        assert done["output_file_id"] is not None and done["error_file_id"] is None
        assert done["in_progress_at"] <= done["finalizing_at"] <= done["completed_at"]
        assert done["failed_at"] is None and done["cancelled_at"] is None
        output = http.get(f"/v1/files/{done['output_file_id']}").json()
        assert {name: output[name] for name in FILE_FIELDS}["purpose"] == "batch_output"

        broken = raw_upload(http, b"not json\n")
        failed_id = raw_batch(http, broken["id"])["id"]
        failed = read_every_field(raw_wait(http, failed_id, ("failed",)))
        assert failed["errors"]["data"][0]["code"] == "invalid_json_line"
        assert failed["output_file_id"] is None and failed["completed_at"] is None

        listed = http.get("/v1/batches").json()["data"]
        assert [read_every_field(b)["id"] for b in listed] == [failed_id, created["id"]]
        for entry in http.get("/v1/files").json()["data"]:
            assert set(FILE_FIELDS) <= set(entry)


def test_a_raw_client_over_a_socket_reads_every_field(data_dir: Path) -> None:
    with running_sandbox(data_dir) as base_url, httpx2.Client(base_url=base_url[:-3]) as http:
        batch_id = raw_batch(http, raw_upload(http, chat_file(1))["id"])["id"]
        done = read_every_field(raw_wait(http, batch_id, ("completed",)))
    assert done["request_counts"] == {"total": 1, "completed": 1, "failed": 0}
    assert done["cancelling_at"] is None and done["expired_at"] is None


def test_every_answer_carries_a_request_id(data_dir: Path) -> None:
    with TestClient(create_app(data_dir), base_url="http://sandbox.test") as http:
        uploaded = raw_upload(http, chat_file(1))
        answers = [
            http.get("/health"),
            http.get("/v1/files"),
            http.get(f"/v1/files/{uploaded['id']}/content"),
            http.get("/v1/batches/batch_nope"),
            http.put("/v1/files"),
            http.get("/v1/models"),
            http.post("/v1/chat/completions", json={"model": "gpt-4o-mini"}),
            http.post(
                "/v1/chat/completions",
                json={**chat_request("x", "hi")["body"], "stream": True},
            ),
        ]
    ids = [answer.headers.get("x-request-id", "") for answer in answers]
    assert all(request_id.startswith("req_") for request_id in ids), ids
    assert len(set(ids)) == len(ids)
    assert [a.status_code for a in answers] == [200, 200, 200, 404, 405, 200, 400, 200]


def test_the_sdk_sees_the_request_id(client: OpenAI) -> None:
    response = client.files.with_raw_response.list()
    assert response.headers["x-request-id"].startswith("req_")
    assert response.request_id == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("profile", "listed"),
    [
        ("openai", "gpt-4o-mini"),
        ("dashscope", "batch-test-model"),
        ("groq", "llama-3.1-8b-instant"),
        ("gemini", "models/gemini-2.5-flash"),
    ],
)
def test_models_are_listed_per_profile(make_client: MakeClient, profile: str, listed: str) -> None:
    client = make_client(profile=profile)
    page = client.models.with_raw_response.list()
    validate("ListModelsResponse", json.loads(page.http_response.content))
    ids = [model.id for model in page.parse()]
    assert listed in ids
    one = client.models.with_raw_response.retrieve(listed)
    validate("Model", json.loads(one.http_response.content))
    assert one.parse().id == listed


def test_an_unknown_model_is_a_404(data_dir: Path) -> None:
    with TestClient(create_app(data_dir)) as http:
        answer = http.get("/v1/models/gpt-9")
    assert answer.status_code == 404
    validate("ErrorResponse", answer.json())
    assert answer.json()["error"]["code"] == "model_not_found"


def test_require_key_answers_401_without_an_authorization_header(data_dir: Path) -> None:
    app = create_app(data_dir, require_key=True)
    with TestClient(app, base_url="http://sandbox.test") as http:
        bare = http.get("/v1/batches")
        wrong_scheme = http.get("/v1/batches", headers={"Authorization": "Basic abc"})
        empty = http.get("/v1/batches", headers={"Authorization": "Bearer "})
        keyed = http.get("/v1/batches", headers={"Authorization": "Bearer sk-anything"})
        health = http.get("/health")
        sdk = sdk_client(http, "http://sandbox.test/v1")
        assert sdk.batches.list().data == []
    for refused in (bare, wrong_scheme, empty):
        assert refused.status_code == 401
        validate("ErrorResponse", refused.json())
        assert refused.json()["error"]["message"].startswith("You didn't provide an API key.")
        assert refused.headers["x-request-id"].startswith("req_")
    assert (keyed.status_code, health.status_code) == (200, 200)


def test_without_require_key_no_header_is_needed(data_dir: Path) -> None:
    with TestClient(create_app(data_dir)) as http:
        assert http.get("/v1/batches").status_code == 200
