"""The sandbox's /v1/files, driven by the real openai SDK."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.app import create_app
from tests.openapi_schemas import validate
from tests.sandbox.conftest import MakeClient
from tests.sandbox.kit import chat_file, raw_json, upload


def test_upload_retrieve_content_and_delete(any_client: OpenAI, tmp_path: Path) -> None:
    data = chat_file(3)
    created = any_client.files.create(
        file=("part-0001.jsonl", data, "application/jsonl"), purpose="batch"
    )
    assert (created.object, created.purpose, created.filename) == (
        "file",
        "batch",
        "part-0001.jsonl",
    )
    assert created.bytes == len(data)
    # Batch input files expire after 30 days unless the upload says otherwise.
    assert created.expires_at == created.created_at + 30 * 24 * 3600

    assert any_client.files.retrieve(created.id) == created
    assert any_client.files.content(created.id).content == data
    target = tmp_path / "copy.jsonl"
    with any_client.files.with_streaming_response.content(created.id) as response:
        response.stream_to_file(target)
    assert target.read_bytes() == data

    deleted = any_client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        any_client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        any_client.files.content(created.id)
    with pytest.raises(openai.NotFoundError):
        any_client.files.delete(created.id)


def test_upload_with_expiry(client: OpenAI) -> None:
    created = client.files.create(
        file=("a.jsonl", chat_file(1), "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 7200},
    )
    assert created.expires_at == created.created_at + 7200
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(
            file=("a.jsonl", chat_file(1), "application/jsonl"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 60},
        )
    assert refused.value.code == "integer_below_min_value"
    assert refused.value.param == "expires_after.seconds"


def test_list_pages_filters_and_orders(client: OpenAI) -> None:
    ids = [upload(client, chat_file(1), f"part-{n}.jsonl") for n in range(5)]
    listed = client.files.list()
    assert [f.id for f in listed.data] == ids[::-1]
    assert not listed.has_more
    assert [f.id for f in client.files.list(order="asc")] == ids

    first = client.files.list(limit=2, order="asc")
    assert [f.id for f in first.data] == ids[:2] and first.has_more
    after = client.files.list(limit=2, order="asc", after=ids[1])
    assert [f.id for f in after.data] == ids[2:4]
    # The SDK's iterator follows the pages to the end.
    assert [f.id for f in client.files.list(limit=2, order="asc")] == ids

    assert [f.id for f in client.files.list(purpose="batch_output")] == []
    assert len(client.files.list(purpose="batch").data) == 5

    raw = raw_json(client.files.with_raw_response.list(limit=2))
    assert (raw["first_id"], raw["last_id"], raw["has_more"]) == (ids[4], ids[3], True)
    empty = raw_json(client.files.with_raw_response.list(purpose="batch_output"))
    validate("ListFilesResponse", empty)
    assert empty["data"] == [] and not empty["has_more"]

    with pytest.raises(openai.BadRequestError) as refused:
        client.files.list(limit=0)
    assert refused.value.param == "limit"
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.list(order="sideways")  # type: ignore[arg-type]
    assert refused.value.param == "order"


def test_upload_refusals(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=("rows.csv", b"a,b\n", "text/csv"), purpose="batch")
    # OpenAI's own answer: this message, no param, no code.
    assert refused.value.body == {
        "message": "Invalid file format for Batch API. Must be .jsonl",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert (refused.value.param, refused.value.code) == (None, None)

    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=("a.jsonl", chat_file(1), "application/jsonl"), purpose="nope")  # type: ignore[arg-type]
    assert (refused.value.param, refused.value.code) == ("purpose", "invalid_value")


@pytest.mark.parametrize("purpose", ["assistants", "fine-tune", "vision", "user_data"])
def test_uploads_for_other_purposes_are_kept_but_feed_no_batch(
    client: OpenAI, purpose: str
) -> None:
    name = "notes.txt" if purpose != "fine-tune" else "train.jsonl"
    created = client.files.create(file=(name, b"hello\n", "text/plain"), purpose=purpose)  # type: ignore[arg-type]
    assert (created.purpose, created.filename, created.bytes) == (purpose, name, 6)
    assert client.files.content(created.id).content == b"hello\n"
    assert [f.id for f in client.files.list(purpose=purpose)] == [created.id]
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(
            input_file_id=created.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert refused.value.param == "input_file_id"


def test_file_size_limit(make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client(max_file_bytes=1000)
    assert upload(client, b"x" * 1000)  # exactly at the limit
    with pytest.raises(openai.BadRequestError) as refused:
        upload(client, b"x" * 1001)
    assert refused.value.code == "file_too_large"

    # A declared body far over the limit is refused before it is read.
    with TestClient(create_app(tmp_path / "raw", max_file_bytes=1000)) as raw:
        answer = raw.post(
            "/v1/files",
            files={"file": ("big.jsonl", b"x" * 200_000)},
            data={"purpose": "batch"},
        )
    assert answer.status_code == 413
    validate("ErrorResponse", answer.json())
    assert answer.json()["error"]["code"] == "file_too_large"


def test_missing_form_fields_and_unknown_routes(data_dir: Path) -> None:
    with TestClient(create_app(data_dir)) as raw:
        no_file = raw.post("/v1/files", data={"purpose": "batch"})
        no_purpose = raw.post("/v1/files", files={"file": ("a.jsonl", b"{}\n")})
        unknown = raw.get("/v1/nothing-here")
        wrong_method = raw.put("/v1/files")
    assert (no_file.status_code, no_file.json()["error"]["param"]) == (400, "file")
    assert (no_purpose.status_code, no_purpose.json()["error"]["param"]) == (400, "purpose")
    assert no_purpose.json()["error"]["code"] == "missing_required_parameter"
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405
    for answer in (no_file, no_purpose, unknown, wrong_method):
        validate("ErrorResponse", answer.json())
