"""`sandbox --profile NAME`: each provider's documented differences, end to end with the SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.profiles import DIALECTS, PROFILE_NAMES, dialect_named, window_hours
from sandbox.server import running_sandbox, sandbox_process
from tests.openapi_schemas import validate
from tests.sandbox.conftest import MakeClient
from tests.sandbox.kit import (
    CHAT,
    chat_file,
    chat_request,
    jsonl,
    result_lines,
    sdk_client,
    start_batch,
    upload,
    wait_for,
)

HOUR = 3600
EMBEDDING_LINE = {
    "custom_id": "row-1",
    "method": "POST",
    "url": "/v1/embeddings",
    "body": {"model": "text-embedding-3-small", "input": "hello"},
}


def create(client: OpenAI, file_id: str, endpoint: str = CHAT, window: str = "24h") -> Any:
    return client.batches.create(
        input_file_id=file_id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window=window,  # type: ignore[arg-type]
    )


def refusal(client: OpenAI, file_id: str, endpoint: str, window: str) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as refused:
        create(client, file_id, endpoint, window)
    return refused.value


def test_the_profile_names_are_the_documented_ones() -> None:
    assert PROFILE_NAMES == (
        "openai",
        "azure",
        "groq",
        "deepinfra",
        "dashscope",
        "siliconflow",
        "gemini",
        "litellm",
        "custom",
        "ollama",
        "llamacpp",
        "lmstudio",
        "vllm",
    )
    with pytest.raises(ValueError, match="choose one of openai, azure"):
        dialect_named("nope")
    with pytest.raises(ValueError, match="No sandbox profile named 'nope'"):
        create_app(Path("unused"), profile="nope")


@pytest.mark.parametrize(
    ("text", "hours"), [("24h", 24), ("7d", 168), ("336h", 336), ("0h", None), ("1w", None)]
)
def test_window_hours(text: str, hours: int | None) -> None:
    assert window_hours(text) == hours


@pytest.mark.parametrize("profile", ["openai", "litellm", "custom"])
def test_openai_like_profiles_take_every_endpoint_and_only_24h(
    make_client: MakeClient, profile: str
) -> None:
    client = make_client(profile=profile)
    file_id = upload(client, chat_file(2))
    batch = wait_for(client, create(client, file_id).id)
    assert (batch.status, batch.request_counts and batch.request_counts.completed) == (
        "completed",
        2,
    )
    assert batch.expires_at == batch.created_at + 24 * HOUR
    error = refusal(client, file_id, CHAT, "48h")
    assert (error.param, error.code) == ("completion_window", "invalid_value")
    assert "Supported values are: '24h'." in error.message
    # Every endpoint of the spec is taken at creation (the lines decide what runs).
    embeddings = upload(client, jsonl([EMBEDDING_LINE]))
    assert create(client, embeddings, "/v1/embeddings").status == "validating"
    assert client.batches.list().data


def test_groq_takes_chat_only_and_windows_from_24h_to_7d(make_client: MakeClient) -> None:
    client = make_client(profile="groq")
    file_id = upload(client, chat_file(1))
    error = refusal(client, file_id, "/v1/embeddings", "24h")
    assert (error.param, error.code) == ("endpoint", "invalid_value")
    assert "Supported values are: '/v1/chat/completions'." in error.message
    for window, hours in (("24h", 24), ("48h", 48), ("7d", 168), ("168h", 168)):
        batch = create(client, file_id, window=window)
        assert batch.completion_window == window
        assert batch.expires_at == batch.created_at + hours * HOUR
    for window in ("23h", "8d", "169h", "1w", "forever"):
        error = refusal(client, file_id, CHAT, window)
        assert (error.param, error.code) == ("completion_window", "invalid_value")
        assert "from '24h' to '168h'" in error.message
    assert wait_for(client, create(client, file_id).id).status == "completed"


def test_upload_limits_follow_the_profile(data_dir: Path) -> None:
    sizes = {
        name: create_app(data_dir / name, profile=name).state.sandbox.max_file_bytes
        for name in PROFILE_NAMES
    }
    assert sizes["groq"] == sizes["dashscope"] == 100_000_000
    assert sizes["openai"] == sizes["azure"] == 200_000_000
    # An explicit limit still wins, as the tests of small limits need.
    explicit = create_app(data_dir / "x", profile="groq", max_file_bytes=10)
    assert explicit.state.sandbox.max_file_bytes == 10


def test_deepinfra_takes_chat_completions_and_embeddings(make_client: MakeClient) -> None:
    client = make_client(profile="deepinfra")
    chat = upload(client, chat_file(1))
    for endpoint in (CHAT, "/v1/completions", "/v1/embeddings"):
        assert create(client, chat, endpoint).endpoint == endpoint
    for endpoint in ("/v1/responses", "/v1/moderations", "/v1/images/generations"):
        error = refusal(client, chat, endpoint, "24h")
        assert (error.param, error.code) == ("endpoint", "invalid_value")
    embeddings = upload(client, jsonl([EMBEDDING_LINE]))
    done = wait_for(client, create(client, embeddings, "/v1/embeddings").id)
    assert done.status == "completed"


def _siliconflow_raw(data_dir: Path) -> TestClient:
    # The Batch schema has no `in_queue`, so these answers are read raw rather than checked.
    return TestClient(create_app(data_dir, profile="siliconflow"), base_url="http://sandbox.test")


def test_siliconflow_reports_in_queue_before_in_progress(data_dir: Path) -> None:
    raw = _siliconflow_raw(data_dir)
    # Without its lifespan the app's engine is not running: the batch stays queued.
    uploaded = raw.post(
        "/v1/files", files={"file": ("a.jsonl", chat_file(2))}, data={"purpose": "batch"}
    ).json()
    body = {"input_file_id": uploaded["id"], "endpoint": CHAT, "completion_window": "336h"}
    created = raw.post("/v1/batches", json=body).json()
    assert created["status"] == "in_queue"
    assert created["expires_at"] == created["created_at"] + 336 * HOUR
    assert raw.get(f"/v1/batches/{created['id']}").json()["status"] == "in_queue"
    assert [b["status"] for b in raw.get("/v1/batches").json()["data"]] == ["in_queue"]
    too_long = raw.post("/v1/batches", json={**body, "completion_window": "337h"})
    embeddings = raw.post("/v1/batches", json={**body, "endpoint": "/v1/embeddings"})
    for answer, param in ((too_long, "completion_window"), (embeddings, "endpoint")):
        assert answer.status_code == 400
        validate("ErrorResponse", answer.json())
        assert answer.json()["error"]["param"] == param

    with raw:  # the lifespan starts the engine: queued, then running, then done
        seen = []
        while not seen or seen[-1] not in ("completed", "failed"):
            status = raw.get(f"/v1/batches/{created['id']}").json()["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
    assert seen[0] in ("in_queue", "in_progress", "finalizing", "completed")
    assert seen[-1] == "completed"
    assert "validating" not in seen


def test_azure_refuses_a_bom_and_keeps_files_without_expiry(make_client: MakeClient) -> None:
    client = make_client(profile="azure")
    plain = chat_file(2)
    with_bom = b"\xef\xbb\xbf" + plain
    failed = wait_for(client, start_batch(client, with_bom).id)
    assert failed.status == "failed"
    assert failed.errors is not None and failed.errors.data
    error = failed.errors.data[0]
    assert (error.code, error.line) == ("invalid_json_line", 1)
    assert "byte order mark" in (error.message or "")
    done = wait_for(client, start_batch(client, plain).id)
    assert done.status == "completed"
    # Azure publishes an error file even when nothing failed: an empty one.
    assert done.error_file_id is not None
    assert client.files.content(done.error_file_id).content == b""
    assert client.files.retrieve(done.error_file_id).bytes == 0
    # Azure's input files do not expire unless the upload asks.
    kept = client.files.retrieve(upload(client, plain))
    assert kept.expires_at is None
    # Azure answers only some endpoints.
    assert refusal(client, kept.id, "/v1/completions", "24h").param == "endpoint"


def test_openai_accepts_the_bom_azure_refuses(make_client: MakeClient) -> None:
    client = make_client(profile="openai")
    batch = wait_for(client, start_batch(client, b"\xef\xbb\xbf" + chat_file(1)).id)
    assert batch.status == "completed"


def test_azure_caps_files_without_expiry_at_500(make_client: MakeClient) -> None:
    client = make_client(profile="azure")
    line = chat_file(1)
    first = upload(client, line)
    for _ in range(499):
        upload(client, line)
    with pytest.raises(openai.BadRequestError) as refused:
        upload(client, line)
    assert (refused.value.code, refused.value.param) == ("file_limit_exceeded", "file")
    assert "500 batch input files" in refused.value.message
    # A file with an expiry does not count, and deleting one makes room.
    client.files.create(
        file=("a.jsonl", line, "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    client.files.delete(first)
    assert upload(client, line)


def test_azure_batches_do_not_expire(data_dir: Path) -> None:
    assert dialect_named("azure").expiry_seconds("24h") is None
    client = TestClient(create_app(data_dir, profile="azure"))
    with client:
        sdk = sdk_client(client, "http://testserver/v1")
        batch = start_batch(sdk, chat_file(1))
    record = client.app.state.sandbox.store.get_batch(batch.id)  # type: ignore[attr-defined]
    assert record.deadline == float("inf")
    assert batch.expires_at == batch.created_at + 24 * HOUR


def test_gemini_expires_after_48h_and_has_no_batch_listing(make_client: MakeClient) -> None:
    client = make_client(profile="gemini", rate=0.5)
    file_id = upload(client, chat_file(3))
    batch = create(client, file_id)
    assert batch.expires_at == batch.created_at + 48 * HOUR
    assert refusal(client, file_id, "/v1/responses", "24h").param == "endpoint"
    with pytest.raises(openai.APIStatusError) as missing:
        client.batches.list()
    assert missing.value.status_code == 405
    assert client.batches.cancel(batch.id).status == "cancelling"


def test_a_profile_without_cancel_answers_404(data_dir: Path, monkeypatch: Any) -> None:
    # No documented provider lacks cancel today; the route table still honours the flag.
    from dataclasses import replace

    import sandbox.profiles as profiles

    monkeypatch.setitem(profiles.DIALECTS, "custom", replace(DIALECTS["custom"], has_cancel=False))
    with TestClient(create_app(data_dir, profile="custom")) as raw:
        answer = raw.post("/v1/batches/batch_x/cancel")
    assert answer.status_code == 404
    validate("ErrorResponse", answer.json())


def test_dashscope_rehearses_with_its_free_test_model(make_client: MakeClient) -> None:
    client = make_client(profile="dashscope")
    route = "/v1/chat/ds-test"
    lines = [{**chat_request(f"row-{n}", f"Test {n}"), "url": route} for n in range(1, 4)]
    for line in lines:
        line["body"]["model"] = "batch-test-model"
    batch = wait_for(client, start_batch(client, jsonl(lines), endpoint=route).id)
    assert batch.status == "completed"
    assert batch.usage is not None and batch.usage.input_tokens == 0
    answers = result_lines(client, batch.output_file_id)
    assert len(answers) == 3
    body = answers[0]["response"]["body"]
    assert body["object"] == "chat.completion"
    assert body["usage"]["prompt_tokens"] == body["usage"]["completion_tokens"] == 0

    # The test model takes at most 100 lines.
    many = [{**line, "custom_id": f"row-{n}"} for n, line in enumerate(lines * 34)]
    too_many = wait_for(client, start_batch(client, jsonl(many), endpoint=route).id)
    assert too_many.status == "failed"
    assert too_many.errors is not None
    assert [e.code for e in too_many.errors.data] == ["too_many_tasks"]

    # Real models pay as usual, with windows up to 336 hours.
    paid = wait_for(client, start_batch(client, chat_file(1)).id)
    assert paid.usage is not None and paid.usage.input_tokens > 0
    assert create(client, upload(client, chat_file(1)), window="14d").status == "validating"


def test_a_profile_over_a_real_socket(data_dir: Path) -> None:
    with running_sandbox(data_dir, profile="groq") as base_url, httpx2.Client() as http:
        client = sdk_client(http, base_url)
        file_id = upload(client, chat_file(1))
        error = refusal(client, file_id, "/v1/embeddings", "24h")
        assert error.param == "endpoint"
        assert wait_for(client, create(client, file_id, window="7d").id).status == "completed"
        answer = http.post(f"{base_url}/batches", json={"endpoint": "/v1/completions"})
    assert json.loads(answer.content)["error"]["param"] == "input_file_id"


def test_a_profile_in_a_child_process(data_dir: Path) -> None:
    with (
        sandbox_process(data_dir, profile="siliconflow") as (_child, base_url),
        httpx2.Client(base_url=base_url[: -len("/v1")]) as http,
    ):
        uploaded = http.post(
            "/v1/files", files={"file": ("a.jsonl", chat_file(1))}, data={"purpose": "batch"}
        ).json()
        body = {"input_file_id": uploaded["id"], "endpoint": CHAT, "completion_window": "48h"}
        created = http.post("/v1/batches", json=body).json()
        models = [m["id"] for m in http.get("/v1/models").json()["data"]]
    assert created["status"] == "in_queue"
    assert created["expires_at"] == created["created_at"] + 48 * HOUR
    assert "deepseek-ai/DeepSeek-V3" in models


# What each local server answers on the Files and Batches routes it lacks (sandbox.profiles).
NO_BATCH_API = {
    "ollama": (404, "404 page not found"),
    "llamacpp": (
        404,
        {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}},
    ),
    "lmstudio": (200, {"error": "Unexpected endpoint or method. (POST /v1/batches)"}),
    "vllm": (404, {"detail": "Not Found"}),
}


@pytest.mark.parametrize("profile", sorted(NO_BATCH_API))
def test_a_local_server_answers_its_synchronous_routes_and_lacks_batches(
    data_dir: Path, profile: str
) -> None:
    status, body = NO_BATCH_API[profile]
    with TestClient(create_app(data_dir, profile=profile), base_url="http://local.test") as http:
        created = http.post("/v1/batches", json={"input_file_id": "file-1", "endpoint": CHAT})
        assert created.status_code == status
        assert (created.json() if isinstance(body, dict) else created.text) == body
        for method, path in (("GET", "/v1/batches/batch_1"), ("POST", "/v1/files")):
            assert http.request(method, path).status_code == status
        listed = http.get("/v1/models").json()
        assert [model["id"] for model in listed["data"]] == list(DIALECTS[profile].models)
        client = sdk_client(http, "http://local.test/v1")
        answer = client.chat.completions.create(**chat_request("row-1", "Hello")["body"])
        assert answer.choices[0].message.content
