"""The job service against the sandbox (in-process), on SQLite and on PostgreSQL.

A "restart" is new Registry and JobService objects on the same database.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator

import pandas as pd
import pytest

from batchdash.api.batch_tags import JOB_TAG, PART_TAG
from batchdash.errors import InputError
from batchdash.jobs.service import JobService
from batchdash.preflight.plan import plan_batch
from batchdash.preflight.pricing import price_for
from batchdash.recipe import LINEAGE_COLUMNS, Recipe
from batchdash.registry.store import Registry
from batchdash.results.export import to_csv_bytes, write_csv
from tests import jobs_kit
from tests.jobs_kit import (
    RECIPE,
    Sandbox,
    job_batches,
    reviews,
    run_to_end,
    wait_until,
)

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-a"
MakeService = Callable[..., JobService]


@pytest.fixture
def make_service(registry_url: str, box: Sandbox) -> Iterator[MakeService]:
    """`make_service(scope=..., **Gateway options)`: a fresh service on the same database."""
    registries: list[Registry] = []

    def make(scope: str = SCOPE, **options: object) -> JobService:
        registries.append(Registry(registry_url))
        return JobService(registries[-1], box.gateway(**options), scope)

    yield make
    for registry in registries:
        registry.close()


def test_a_job_in_three_parts_runs_to_one_merged_table_in_input_order(
    make_service: MakeService, box: Sandbox
) -> None:
    service = make_service()
    frame = reviews(30)
    job_id = service.create_job(
        "Reviews", frame, RECIPE, source_name="reviews.csv", enqueued_token_limit=300
    )
    progress: list[tuple[int, int]] = []
    batch_ids = service.submit(
        job_id, on_progress=lambda done, total, _m: progress.append((done, total))
    )

    assert len(batch_ids) == 3
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    tags = {info.id: dict(info.metadata) for info in box.batches()}
    assert [tags[b] for b in batch_ids] == [{JOB_TAG: job_id, PART_TAG: str(n)} for n in (1, 2, 3)]

    status = run_to_end(service, job_id)
    assert status.counts == {
        "ok": 30,
        "error": 0,
        "expired": 0,
        "cancelled": 0,
        "not_run": 0,
        "pending": 0,
    }
    assert (status.rows, status.parts, status.progress, status.problems) == (30, 3, 1.0, ())
    assert [b.id for b in status.batches] == batch_ids
    assert [b.status for b in status.batches] == ["completed"] * 3
    assert sum(b.total for b in status.batches) == 30
    assert status.name == "Reviews" and status.model == RECIPE.model

    price = price_for(RECIPE.model)
    assert price is not None
    usage = [(b.input_tokens, b.output_tokens) for b in status.batches]
    assert status.actual_cost_usd == pytest.approx(sum(price.cost(i, o) for i, o in usage))
    estimate = price.cost(
        sum(p.estimated_input_tokens or 0 for p in service.registry.parts(job_id)), 0
    )
    assert status.estimated_cost_usd == pytest.approx(estimate)

    merged = service.merged_table(job_id)
    assert list(merged.columns) == ["review", "response", *LINEAGE_COLUMNS]
    assert merged["review"].tolist() == frame["review"].tolist()
    assert merged["custom_id"].tolist() == [f"row-{n}" for n in range(1, 31)]
    assert set(merged["status"]) == {"ok"}
    assert merged["response"].str.len().min() > 0
    parts_of = {b.id: b.part_number for b in status.batches}
    expected = [p.number for p in service.registry.parts(job_id) for _ in range(p.requests)]
    assert [parts_of[b] for b in merged["batch_id"]] == expected
    assert merged["cost_usd"].sum() == pytest.approx(status.actual_cost_usd)

    output, errors = service.raw_results(job_id)
    assert sorted(json.loads(line)["custom_id"] for line in output.splitlines()) == sorted(
        merged["custom_id"]
    )
    assert errors == b""


def test_submitting_again_or_from_a_second_service_makes_no_second_batch(
    make_service: MakeService, box: Sandbox
) -> None:
    first = make_service()
    job_id = first.create_job("Twice", reviews(20), RECIPE, enqueued_token_limit=300)
    batch_ids = first.submit(job_id)

    assert first.submit(job_id) == batch_ids
    assert make_service().submit(job_id) == batch_ids
    assert sorted(b.id for b in job_batches(box, job_id)) == sorted(batch_ids)
    box.log.reset()
    assert make_service().submit(job_id) == batch_ids
    assert box.log.count("POST", "/v1/files") + box.log.count("POST", "/v1/batches") == 0


def test_finished_batches_are_never_asked_about_or_downloaded_again(
    make_service: MakeService, box: Sandbox
) -> None:
    service = make_service()
    job_id = service.create_job("Once", reviews(12), RECIPE, enqueued_token_limit=150)
    assert len(service.submit(job_id)) == 2
    box.log.reset()
    run_to_end(service, job_id)
    assert box.log.count("GET", "/v1/files/") == 2  # one output file per part, no error file

    box.log.reset()
    for fresh in (service, make_service()):
        assert fresh.refresh(job_id).state == "finished"
        assert fresh.refresh_all() == []
        assert fresh.status(job_id).counts["ok"] == 12
    assert box.log.total == 0


def test_status_and_lists_read_the_registry_only(make_service: MakeService, box: Sandbox) -> None:
    service = make_service()
    older = service.create_job("Older", reviews(3), RECIPE)
    newer = service.create_job("Newer", reviews(4), RECIPE)
    other = make_service(scope="scope-b").create_job("Theirs", reviews(2), RECIPE)
    box.log.reset()

    listed = service.list_jobs()
    assert [s.job_id for s in listed] == [newer, older]
    assert listed[0].state == "active" and listed[0].counts["pending"] == 4
    assert listed[0].problems == ()
    assert listed[0].unsent_note == (
        "Nothing of this job was sent yet (1 of 1 part): its submission never started, so "
        "nothing was billed."
    )
    assert listed[0].unsent_hint == (
        f"Send it with `cli.py resume {newer}`, or drop it with `cli.py discard {newer}`."
    )
    assert listed[0].never_started and not listed[0].sending
    assert listed[0].unsent == 0  # never submitted: no refresh sends it
    service.archive(older)
    assert [s.job_id for s in service.list_jobs()] == [newer]
    assert [s.job_id for s in service.list_jobs(include_archived=True)] == [newer, older]
    assert service.status(older).archived
    with pytest.raises(InputError, match=f"no job {other}"):
        service.status(other)
    assert box.log.total == 0


def test_refresh_all_follows_every_unfinished_job_of_the_scope(
    make_service: MakeService, box: Sandbox
) -> None:
    service = make_service()
    jobs = [service.create_job(f"Job {n}", reviews(5), RECIPE) for n in range(3)]
    for job_id in jobs:
        service.submit(job_id)
    make_service(scope="scope-b").create_job("Theirs", reviews(2), RECIPE)

    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while not all(service.status(j).state == "finished" for j in jobs):
        statuses = service.refresh_all()
        seen |= {s.job_id for s in statuses}
        assert set(jobs) >= {s.job_id for s in statuses}
        assert time.monotonic() < deadline, "the jobs did not finish"
    assert seen == set(jobs)
    assert service.refresh_all() == []
    assert all(service.status(j).counts["ok"] == 5 for j in jobs)


def test_cancel_stops_every_running_batch_and_keeps_what_was_answered(
    make_service: MakeService, box: Sandbox
) -> None:
    # Slow enough that no batch ends before the cancel reaches it, however loaded the machine.
    box.start(rate=2)
    service = make_service()
    job_id = service.create_job("Stop", reviews(200), RECIPE, enqueued_token_limit=2000)
    batch_ids = service.submit(job_id)
    assert len(batch_ids) > 1

    service.cancel(job_id)
    status = run_to_end(service, job_id)
    assert [b.status for b in status.batches] == ["cancelled"] * len(batch_ids)
    assert status.counts["cancelled"] > 0
    assert status.counts["ok"] + status.counts["cancelled"] == 200
    assert "rows were cancelled; repair them to run them." in status.problems[-1]
    merged = service.merged_table(job_id)
    assert (merged["status"] == "cancelled").sum() == status.counts["cancelled"]

    service.cancel(job_id)  # nothing left to cancel: no error
    with pytest.raises(InputError, match="not part of job"):
        service.cancel(job_id, "batch_unknown")


def test_cancel_before_submission_marks_the_parts_so_nothing_is_sent(
    make_service: MakeService, box: Sandbox
) -> None:
    service = make_service()
    job_id = service.create_job("Never", reviews(5), RECIPE)
    service.cancel(job_id)
    assert service.submit(job_id) == []
    status = service.refresh(job_id)
    assert status.state == "finished" and status.counts["not_run"] == 5
    assert status.problems[0].startswith("Part 1 could not be submitted: The job was cancelled")
    assert job_batches(box, job_id) == []


def test_a_job_the_preflight_blocks_is_not_saved(make_service: MakeService) -> None:
    service = make_service()
    with pytest.raises(InputError, match="nope"):
        service.create_job("Bad", reviews(3), Recipe(template="{nope}"))
    assert service.list_jobs() == []


def test_a_part_the_server_rejects_is_failed_and_the_others_go_on(
    make_service: MakeService, box: Sandbox
) -> None:
    frame = reviews(25)
    plan = plan_batch(frame, RECIPE, enqueued_token_limit=250)
    sizes = [part.size_bytes for part in plan.parts]
    assert len(sizes) == 3 and sizes[2] < min(sizes[:2]) // 2
    box.start(max_file_bytes=min(sizes[:2]) // 2)  # only the last part's file fits
    service = make_service()
    job_id = service.create_job("Two too large", frame, RECIPE, enqueued_token_limit=250)

    batch_ids = service.submit(job_id)
    status = run_to_end(service, job_id)
    assert [b.part_number for b in status.batches] == [3] and batch_ids == [status.batches[0].id]
    assert [p[:30] for p in status.problems[:2]] == [
        "Part 1 could not be submitted:",
        "Part 2 could not be submitted:",
    ]
    assert "file" in status.problems[0]
    assert status.counts["not_run"] == plan.parts[0].requests + plan.parts[1].requests
    assert status.counts["ok"] == plan.parts[2].requests
    assert service.submit(job_id) == batch_ids  # failed parts are not tried again


def test_merged_table_while_running_shows_pending_rows_as_not_run(
    make_service: MakeService, box: Sandbox
) -> None:
    box.start(rate=5)
    service = make_service()
    frame = reviews(40)
    frame.loc[:2, "review"] = "A long review that goes on and on. " * 40
    tokens = plan_batch(frame, RECIPE).row_input_tokens
    limit = int(tokens[:3].sum() + tokens[3] - 1)  # part 1: the 3 long rows; part 2: the rest
    assert tokens[3:].sum() <= limit
    job_id = service.create_job("Slow", frame, RECIPE, enqueued_token_limit=limit)
    batch_ids = service.submit(job_id)
    assert [p.requests for p in service.registry.parts(job_id)] == [3, 37]

    first = wait_until(
        lambda: service.refresh(job_id), lambda s: s.batches[0].status == "completed"
    )
    assert first.state == "active" and first.batches[1].status == "in_progress"
    assert first.counts["ok"] == 3 and first.counts["pending"] == 37
    assert 0 < first.progress < 1
    assert first.expires_at == first.batches[1].expires_at
    merged = service.merged_table(job_id)
    assert set(merged["batch_id"][:3]) == {batch_ids[0]}
    assert set(merged["status"][3:]) == {"not_run"} and set(merged["error"][3:]) == {""}
    service.cancel(job_id)


def test_manifest_names_every_part_and_batch(make_service: MakeService) -> None:
    service = make_service()
    job_id = service.create_job(
        "Manifest", reviews(20), RECIPE, source_name="r.csv", enqueued_token_limit=300
    )
    batch_ids = service.submit(job_id)
    run_to_end(service, job_id)
    manifest = service.manifest(job_id)
    json.dumps(manifest)
    assert manifest["recipe"] == RECIPE.to_dict()
    assert (manifest["source_name"], manifest["rows"], manifest["state"]) == (
        "r.csv",
        20,
        "finished",
    )
    assert [p["batch_id"] for p in manifest["parts"]] == batch_ids
    assert [p["status"] for p in manifest["parts"]] == ["completed"] * 2
    assert all(p["submitted_at"] and p["output_file_id"] for p in manifest["parts"])


def test_remote_batches_names_the_job_of_each_batch(
    make_service: MakeService, box: Sandbox
) -> None:
    service = make_service()
    job_id = service.create_job("Mine", reviews(3), RECIPE)
    [batch_id] = service.submit(job_id)
    foreign = box.gateway().create_batch(
        box.gateway().upload_part("x.jsonl", _chat_lines(["a1"])), "/v1/chat/completions", {}
    )
    owners = {info.id: owner for info, owner in service.remote_batches()}
    assert owners == {batch_id: job_id, foreign.id: None}


def test_merged_table_from_the_cache_equals_a_fresh_merge_and_is_never_merged_again(
    make_service: MakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()
    job_id = service.create_job("Cache", reviews(15), RECIPE, enqueued_token_limit=300)
    service.submit(job_id)
    run_to_end(service, job_id)
    finished = service.refresh(job_id)
    assert finished.state == "finished"
    fresh = service.merged_table(job_id)
    assert service.registry.merged(job_id) is not None

    def no_merge(*args: object) -> None:
        raise AssertionError("merged again")

    # Another process (no tally remembered): the status counts the kept table's columns, the
    # page's table and the download read it.
    monkeypatch.setattr(JobService, "_merge", no_merge)
    other = make_service()
    assert other.refresh(job_id).counts == finished.counts
    assert other.status(job_id).actual_cost_usd == finished.actual_cost_usd
    pd.testing.assert_frame_equal(other.merged_table(job_id), fresh)
    out = io.BytesIO()
    write_csv(other.merged_columns(job_id), out)
    assert out.getvalue() == to_csv_bytes(fresh)


def _chat_lines(ids: list[str], text: str = "Hello {id}") -> bytes:
    return b"".join(
        json.dumps(
            {
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [
                        {"role": "system", "content": "Be brief."},
                        {"role": "user", "content": text.format(id=custom_id)},
                    ],
                },
            }
        ).encode()
        + b"\n"
        for custom_id in ids
    )
