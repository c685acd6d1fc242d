"""Attaching a batch created elsewhere: its requests (or the analyst's table) become the job."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from batchdash.api.batch_info import BatchInfo
from batchdash.errors import InputError
from batchdash.jobs.attached import attached_rows, prompt_of
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import (
    Sandbox,
    job_batches,
    run_to_end,
)

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-attach"
CHAT = "/v1/chat/completions"


@pytest.fixture
def service(registry: Registry, box: Sandbox) -> JobService:
    return JobService(registry, box.gateway(), SCOPE)


def chat_line(custom_id: str, text: str, system: str | None = None) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": text})
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": "gpt-4o-mini", "messages": messages, "max_tokens": 20},
    }


def start_elsewhere(box: Sandbox, lines: list[dict[str, Any]]) -> str:
    """A batch made without Batchdash: no tags, its own custom_ids."""
    gateway = box.gateway()
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return gateway.create_batch(gateway.upload_part("mine.jsonl", data), CHAT, {}).id


def test_an_attached_batch_becomes_a_job_of_its_own_requests(
    service: JobService, box: Sandbox
) -> None:
    lines = [chat_line(f"q-{n}", f"Question {n}?", system="Answer briefly.") for n in (3, 1, 2)]
    batch_id = start_elsewhere(box, lines)

    job_id = service.attach(batch_id, name="From the notebook")
    assert service.attach(batch_id) == job_id  # attaching again gives the same job
    status = run_to_end(service, job_id)
    assert (status.name, status.rows, status.counts["ok"]) == ("From the notebook", 3, 3)
    assert [(b.id, b.kind) for b in status.batches] == [(batch_id, "attached")]

    merged = service.merged_table(job_id)
    assert merged["custom_id"].tolist() == ["q-3", "q-1", "q-2"]
    assert merged["prompt"].tolist() == ["Question 3?", "Question 1?", "Question 2?"]
    assert set(merged["system"]) == {"Answer briefly."}
    assert set(merged["status"]) == {"ok"} and set(merged["batch_id"]) == {batch_id}
    assert list(merged.columns[:4]) == ["id", "prompt", "system", "response"]


def test_an_attached_batch_can_take_the_analysts_table(service: JobService, box: Sandbox) -> None:
    batch_id = start_elsewhere(box, [chat_line(f"sku-{n}", f"Describe item {n}") for n in range(4)])
    table = pd.DataFrame(
        {
            "name": ["bolt", "nut", "screw", "washer", "spare"],
            "sku": [f"sku-{n}" for n in range(5)],
        },
        dtype=str,
    )
    job_id = service.attach(batch_id, frame=table)
    assert run_to_end(service, job_id).counts == {
        "ok": 4,
        "error": 0,
        "expired": 0,
        "cancelled": 0,
        "not_run": 1,
        "pending": 0,
    }
    merged = service.merged_table(job_id)
    assert merged["name"].tolist() == table["name"].tolist()
    assert merged["status"].tolist() == ["ok"] * 4 + ["not_run"]
    assert merged["custom_id"].tolist() == table["sku"].tolist()


def test_row_number_ids_map_onto_a_table_without_an_id_column(
    service: JobService, box: Sandbox
) -> None:
    batch_id = start_elsewhere(box, [chat_line(f"row-{n}", f"Row {n}") for n in (1, 2)])
    table = pd.DataFrame({"text": ["first", "second"]}, dtype=str)
    job_id = service.attach(batch_id, frame=table)
    run_to_end(service, job_id)
    merged = service.merged_table(job_id)
    assert merged[["text", "custom_id", "status"]].values.tolist() == [
        ["first", "row-1", "ok"],
        ["second", "row-2", "ok"],
    ]


def test_a_table_that_does_not_fit_the_batch_is_refused(service: JobService, box: Sandbox) -> None:
    batch_id = start_elsewhere(box, [chat_line("a", "x"), chat_line("b", "y")])
    with pytest.raises(InputError, match="No column of the table holds the batch's custom_ids"):
        service.attach(batch_id, frame=pd.DataFrame({"id": ["a", "c"]}, dtype=str))
    assert service.list_jobs() == []


def test_an_attached_jobs_repair_resends_its_own_lines(service: JobService, box: Sandbox) -> None:
    lines = [
        chat_line("keep", "Fine"),
        chat_line("again", "Once more [[sandbox:flaky]]", system="Be kind."),
    ]
    batch_id = start_elsewhere(box, lines)
    job_id = service.attach(batch_id)
    assert run_to_end(service, job_id).counts["error"] == 1
    plan = service.plan_repair(job_id)
    assert (plan.rows, plan.custom_ids) == (1, ("again",))

    [repair] = service.repair(job_id)
    # Read before the batch is over: the refresh that fetches its results deletes its file.
    sent = box.gateway().file_bytes(box.gateway().retrieve_batch(repair).input_file_id)
    status = run_to_end(service, job_id)
    assert status.counts["ok"] == 2 and [b.kind for b in status.batches] == ["attached", "repair"]
    assert [json.loads(line) for line in sent.splitlines()] == [lines[1]]
    assert len(job_batches(box, job_id)) == 1  # the attached batch has no tag; the repair has


def test_endpoints_without_an_answer_reader_are_refused() -> None:
    info = BatchInfo(id="batch_1", status="completed", endpoint="/v1/images/generations")
    with pytest.raises(InputError, match="cannot read answers"):
        attached_rows(info, b'{"custom_id": "a", "body": {}}\n', None)


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("/v1/responses", {"input": "Hi", "instructions": "Be brief."}, ("Hi", "Be brief.")),
        (
            "/v1/responses",
            {
                "input": [
                    {"role": "developer", "content": "Sys"},
                    {"role": "user", "content": [{"type": "input_text", "text": "Yo"}]},
                ]
            },
            ("Yo", "Sys"),
        ),
        ("/v1/embeddings", {"input": ["a", "b"]}, ("a\nb", "")),
        ("/v1/completions", {"prompt": "Once upon"}, ("Once upon", "")),
    ],
)
def test_prompts_are_read_from_every_endpoints_body(
    endpoint: Any, body: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert prompt_of(endpoint, body) == expected
