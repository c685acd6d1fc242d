"""The sandbox's /v1/batches: create, retrieve, list and cancel, and their refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.app import create_app
from tests.openapi_schemas import validate
from tests.sandbox.conftest import MakeClient
from tests.sandbox.kit import CHAT, chat_file, raw_json, start_batch, upload, wait_for


def test_create_retrieve_and_list(any_client: OpenAI) -> None:
    created = start_batch(any_client, chat_file(2), metadata={"job": "j1", "part": "1"})
    assert created.status == "validating"
    assert (created.endpoint, created.completion_window) == (CHAT, "24h")
    assert created.metadata == {"job": "j1", "part": "1"}
    assert created.expires_at == created.created_at + 24 * 3600
    assert created.output_file_id is None and created.errors is None

    done = wait_for(any_client, created.id)
    assert done.id == created.id and done.status == "completed"
    listed = any_client.batches.list()
    assert [b.id for b in listed.data] == [created.id]
    assert not listed.has_more


def test_list_pages_newest_first(client: OpenAI) -> None:
    file_id = upload(client, chat_file(1))
    ids = [
        client.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h").id
        for _ in range(5)
    ]
    newest_first = ids[::-1]
    page = client.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more
    raw = raw_json(client.batches.with_raw_response.list(limit=2, after=newest_first[1]))
    assert [b["id"] for b in raw["data"]] == newest_first[2:4]
    assert (raw["first_id"], raw["last_id"], raw["has_more"]) == (*newest_first[2:4], True)
    last = raw_json(client.batches.with_raw_response.list(limit=2, after=newest_first[3]))
    assert [b["id"] for b in last["data"]] == newest_first[4:] and not last["has_more"]
    # The SDK's auto-pagination walks every page.
    assert [b.id for b in client.batches.list(limit=2)] == newest_first
    assert len(client.batches.list(limit=100).data) == 5
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError) as refused:
            client.batches.list(limit=limit)
        assert refused.value.param == "limit"


def _create(client: OpenAI, **changes: Any) -> None:
    body: dict[str, Any] = {
        "input_file_id": upload(client, chat_file(1)),
        "endpoint": CHAT,
        "completion_window": "24h",
    }
    body.update(changes)
    client.batches.create(**{k: v for k, v in body.items() if v is not None})


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"endpoint": "/v1/chat"}, "endpoint", "invalid_value"),
        ({"completion_window": "48h"}, "completion_window", "invalid_value"),
        (
            {"metadata": {f"k{n}": "v" for n in range(17)}},
            "metadata",
            "object_above_max_properties",
        ),
        ({"metadata": {"k" * 65: "v"}}, "metadata", "string_above_max_length"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
        ({"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        (
            {"output_expires_after": {"anchor": "created_at", "seconds": 3599}},
            "output_expires_after.seconds",
            "integer_below_min_value",
        ),
        (
            {"output_expires_after": {"anchor": "created_at", "seconds": 2_592_001}},
            "output_expires_after.seconds",
            "integer_above_max_value",
        ),
        (
            {"output_expires_after": {"anchor": "completed_at", "seconds": 3600}},
            "output_expires_after.anchor",
            "invalid_value",
        ),
    ],
)
def test_create_refuses_bad_parameters(
    client: OpenAI, changes: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        _create(client, **changes)
    assert (refused.value.param, refused.value.code) == (param, code)
    assert refused.value.status_code == 400


def test_create_accepts_the_limits(client: OpenAI) -> None:
    _create(
        client,
        metadata={f"{n:02d}" + "k" * 62: "v" * 512 for n in range(16)},
        output_expires_after={"anchor": "created_at", "seconds": 2_592_000},
    )


def test_create_refuses_missing_parameters_and_unusable_files(data_dir: Path) -> None:
    with TestClient(create_app(data_dir)) as raw:
        for name in ("input_file_id", "endpoint", "completion_window"):
            body = {"input_file_id": "file-x", "endpoint": CHAT, "completion_window": "24h"}
            del body[name]
            answer = raw.post("/v1/batches", json=body)
            assert answer.status_code == 400
            validate("ErrorResponse", answer.json())
            assert answer.json()["error"]["param"] == name
            assert answer.json()["error"]["code"] == "missing_required_parameter"
        not_json = raw.post("/v1/batches", content=b"{oops")
        assert not_json.status_code == 400
        validate("ErrorResponse", not_json.json())


def test_create_refuses_an_unknown_or_output_file(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.batches.create(input_file_id="file-nope", endpoint=CHAT, completion_window="24h")
    assert missing.value.param == "input_file_id"

    done = wait_for(client, start_batch(client, chat_file(1)).id)
    assert done.output_file_id is not None
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(
            input_file_id=done.output_file_id, endpoint=CHAT, completion_window="24h"
        )
    assert refused.value.param == "input_file_id"


def test_retrieve_and_cancel_unknown_batches(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")
    with pytest.raises(openai.NotFoundError):
        client.batches.cancel("batch_nope")


def test_cancel_refused_once_terminal(client: OpenAI) -> None:
    done = wait_for(client, start_batch(client, chat_file(2)).id)
    assert done.status == "completed"
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.cancel(done.id)
    assert "completed" in refused.value.message
    assert client.batches.retrieve(done.id).status == "completed"


def test_output_file_expiry_follows_output_expires_after(make_client: MakeClient) -> None:
    # Three requests at two a second: the output file is made a second or more after the
    # batch, so the two anchors the spec tells apart give different answers.
    client = make_client(rate=2.0)
    batch = start_batch(
        client, chat_file(3), output_expires_after={"anchor": "created_at", "seconds": 3600}
    )
    done = wait_for(client, batch.id)
    assert done.output_file_id is not None
    output = client.files.retrieve(done.output_file_id)
    assert output.purpose == "batch_output"
    assert output.filename == f"{done.id}_output.jsonl"
    assert output.created_at > done.created_at
    # "the anchor is the file creation time, not the time the batch is created"
    assert output.expires_at == output.created_at + 3600
