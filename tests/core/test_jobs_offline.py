"""The vLLM round trip in the job service, on SQLite and PostgreSQL: a job exported (never
sent), its run-batch output imported and merged by custom_id, imported again (nothing changes),
the rows left out exported again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from batchdash.errors import InputError, ResultsError
from batchdash.jobs.service import JobService
from batchdash.recipe import Recipe
from batchdash.registry.records import PartConflict
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import Sandbox, reviews
from tests.vllm_output import output_for

box = jobs_kit.box  # the sandbox fixture

RECIPE = Recipe(model="Qwen/Qwen2.5-7B-Instruct", template="Review: {review}")


@pytest.fixture
def service(registry_url: str, box: Sandbox) -> Iterator[JobService]:
    registry = Registry(registry_url)
    yield JobService(registry, box.gateway(), "scope-a")
    registry.close()


def test_an_exported_job_sends_nothing_and_waits_for_its_file(
    service: JobService, box: Sandbox
) -> None:
    job_id = service.create_exported_job("Local", reviews(5), RECIPE, source_name="r.csv")
    exported = service.export(job_id)
    assert [(p.part_number, p.rows) for p in exported.parts] == [(1, 5)]
    part = exported.parts[0]
    assert part.name == f"{job_id}-part-0001.jsonl"
    assert exported.command("out") == (
        "python -m vllm.entrypoints.openai.run_batch "
        f"-i out/{job_id}-part-0001.jsonl -o out/{job_id}-part-0001-output.jsonl "
        "--model Qwen/Qwen2.5-7B-Instruct"
    )
    assert [line.count(b'"custom_id"') for line in part.data.splitlines()] == [1] * 5
    status = service.refresh(job_id)
    assert (status.state, status.exported, status.counts["pending"]) == ("active", 5, 5)
    assert status.estimated_cost_usd == 0.0 and not status.unsent and not status.batches
    assert box.log.count("POST", "/v1/") == 0  # nothing uploaded, nothing created
    # Exporting again hands out the same waiting part, not another one.
    assert service.export(job_id).parts == exported.parts
    assert len(service.registry.parts(job_id)) == 1


def test_an_import_merges_by_custom_id_and_twice_changes_nothing(service: JobService) -> None:
    job_id = service.create_exported_job("Local", reviews(5), RECIPE)
    exported = service.export(job_id).parts[0].data
    output = output_for(exported, errors={"row-2": "CUDA out of memory"}, missing=["row-4"])
    report = service.import_results(job_id, output, "out.jsonl")
    assert report.to_dict() == {
        "job_id": job_id,
        "batch_id": "import:out.jsonl",
        "lines": 4,
        "ok": 3,
        "error": 1,
        "missing": 1,
        "already_imported": False,
    }
    merged = service.merged_table(job_id)
    assert list(merged["status"]) == ["ok", "error", "ok", "not_run", "ok"]
    assert merged.loc[0, "response"] == "Answer to row-1"
    assert merged.loc[1, "error"] == "CUDA out of memory (HTTP 400)."
    assert list(merged["batch_id"]) == ["import:out.jsonl"] * 3 + [""] + ["import:out.jsonl"]
    assert merged["cost_usd"].tolist() == [0.0] * 5
    status = service.status(job_id)
    assert status.state == "finished" and status.actual_cost_usd in (None, 0.0)
    assert (status.counts["ok"], status.counts["error"], status.counts["not_run"]) == (3, 1, 1)
    assert [(b.id, b.status, b.completed, b.failed) for b in status.batches] == [
        ("import:out.jsonl", "completed", 3, 1)
    ]
    assert status.problems == (
        "1 row failed; the error column says why. Export them again for vLLM to try again.",
    )
    again = service.import_results(job_id, output, "out (copy).jsonl")
    assert again.already_imported and again.batch_id == "import:out.jsonl"
    assert "nothing changed" in again.describe()
    assert service.merged_table(job_id).equals(merged)
    assert len(service.registry.parts(job_id)) == 1


def test_the_rows_left_out_are_exported_again_and_complete_the_job(service: JobService) -> None:
    job_id = service.create_exported_job("Local", reviews(4), RECIPE)
    first = service.export(job_id).parts[0].data
    service.import_results(
        job_id, output_for(first, errors={"row-1": "bad"}, missing=["row-3"]), "out.jsonl"
    )
    rest = service.export(job_id)
    assert [p.rows for p in rest.parts] == [2]
    lines = rest.parts[0].data.splitlines()
    assert [json.loads(line)["custom_id"] for line in lines] == ["row-1", "row-3"]
    assert service.status(job_id).state == "active"
    service.import_results(job_id, output_for(rest.parts[0].data), "out.jsonl")
    status = service.status(job_id)
    assert (status.state, status.counts["ok"]) == ("finished", 4)
    merged = service.merged_table(job_id)
    # A second file of the same name gets its own batch id.
    assert list(merged["batch_id"]) == [
        "import:out.jsonl (2)",
        "import:out.jsonl",
        "import:out.jsonl (2)",
        "import:out.jsonl",
    ]
    with pytest.raises(InputError, match="nothing to export"):
        service.export(job_id)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "holds no result lines"),
        (b"PK\x03\x04 not jsonl", "is not a results file"),
        (None, "answers 1 row that job Local does not have (such as row-99)"),
    ],
)
def test_a_wrong_file_is_one_sentence_and_keeps_everything(
    service: JobService, data: bytes | None, words: str
) -> None:
    job_id = service.create_exported_job("Local", reviews(3), RECIPE)
    exported = service.export(job_id).parts[0].data
    if data is None:
        data = output_for(exported) + output_for(exported.replace(b"row-1", b"row-99"))[:-1]
    with pytest.raises(ResultsError) as caught:
        service.import_results(job_id, data, "wrong.jsonl")
    assert str(caught.value).startswith(f"wrong.jsonl {words}")
    assert service.status(job_id).exported == 3
    assert service.registry.results(job_id) == []
    assert service.export(job_id).parts[0].data == exported


def test_run_batch_takes_chat_and_embeddings_only(service: JobService) -> None:
    responses = Recipe(endpoint="/v1/responses", model="m", template="{review}")
    with pytest.raises(InputError, match="Chat Completions and Embeddings only, not Responses"):
        service.create_exported_job("Local", reviews(2), responses)
    assert service.list_jobs() == []


def test_a_job_saved_but_never_sent_is_exported_as_it_was_planned(
    service: JobService, box: Sandbox
) -> None:
    job_id = service.create_job("Saved", reviews(3), RECIPE)
    assert service.status(job_id).never_started
    exported = service.export(job_id)
    assert [(p.part_number, p.rows) for p in exported.parts] == [(1, 3)]
    status = service.status(job_id)
    assert (status.exported, status.unsent, status.never_started) == (3, 0, False)
    assert box.log.count("POST", "/v1/") == 0


def test_a_sent_part_cannot_be_exported(service: JobService) -> None:
    job_id = service.create_job("Sent", reviews(2), Recipe(template="{review}"))
    service.submit(job_id)
    part = service.registry.parts(job_id)[0]
    with pytest.raises(PartConflict, match="cannot be exported"):
        service.registry.mark_part_exported(part.id)
