"""The job registry, on SQLite and on the test run's private PostgreSQL (fixture `registry`)."""

from __future__ import annotations

import multiprocessing
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import UniqueConstraint, event, inspect, text

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.errors import InputError, RegistryError
from batchdash.recipe import OutputField, Recipe
from batchdash.registry import blobs
from batchdash.registry.blobs import frame_to_blob
from batchdash.registry.engine import make_engine, parse_db_url
from batchdash.registry.fingerprints import job_fingerprint
from batchdash.registry.holders import this_run
from batchdash.registry.migrations import LATEST_VERSION, MIGRATIONS, upgrade
from batchdash.registry.models import Base
from batchdash.registry.records import DEFAULT_LEASE, Claim, Part, PartConflict, PartSpec
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope, read_settings
from tests import postgres as test_postgres
from tests.jobs_kit import gone_holder
from tests.postgres import Cluster, fresh_database

FAKE_KEY = "sk-proj-FAKEKEY0123456789abcdefghijklmnopqrstuv"
SCOPE = owner_scope(FAKE_KEY, None)
OTHER_SCOPE = owner_scope("sk-another-key", None)

RECIPE = Recipe(
    model="gpt-4o-mini",
    template="Classify: {review}",
    system_prompt="Be brief.",
    temperature=0.2,
    id_column="id",
    output_fields=(OutputField("label", "one of", ("good", "bad")), OutputField("score", "number")),
)


def rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"{i:04d}" for i in range(n)], "review": [f"r{i}" for i in range(n)]}
    )


def ranges(n_parts: int, size: int = 10) -> list[PartSpec]:
    return [
        PartSpec(requests=size, first_row=i * size, stop_row=(i + 1) * size) for i in range(n_parts)
    ]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


# -- jobs --------------------------------------------------------------------------------------


def test_jobs_are_scoped_listed_newest_first_and_archived(registry: Registry) -> None:
    first = registry.create_job(SCOPE, "first", RECIPE, rows(3), source_name="reviews.csv")
    second = registry.create_job(SCOPE, "second", RECIPE, rows(2))
    theirs = registry.create_job(OTHER_SCOPE, "theirs", RECIPE, rows(1))

    assert [job.id for job in registry.list_jobs(SCOPE)] == [second.id, first.id]
    assert [job.id for job in registry.list_jobs(OTHER_SCOPE)] == [theirs.id]
    with pytest.raises(InputError, match=f"no job {theirs.id} for this API key"):
        registry.get_job(theirs.id, SCOPE)

    loaded = registry.get_job(first.id, SCOPE)
    assert loaded == first
    assert loaded.recipe == RECIPE
    assert (loaded.name, loaded.source_name, loaded.rows) == ("first", "reviews.csv", 3)
    assert loaded.columns == ("id", "review")
    assert loaded.state == "new" and not loaded.archived
    assert loaded.id.startswith("job_") and len(loaded.id) == 16

    assert registry.archive_job(first.id, SCOPE).archived
    assert [job.id for job in registry.list_jobs(SCOPE)] == [second.id]
    assert {job.id for job in registry.list_jobs(SCOPE, include_archived=True)} == {
        first.id,
        second.id,
    }
    registry.archive_job(first.id, SCOPE, archived=False)
    assert len(registry.list_jobs(SCOPE)) == 2
    with pytest.raises(InputError):
        registry.archive_job(first.id, OTHER_SCOPE)


def test_job_state_name_and_times(registry_url: str) -> None:
    clock = Clock()
    registry = Registry(registry_url, clock=clock)
    try:
        job = registry.create_job(SCOPE, "job", RECIPE, rows(1))
        assert job.created_at == clock.now and job.created_at.tzinfo is UTC
        clock.now += timedelta(minutes=5)
        registry.set_job_state(job.id, "active")
        registry.rename_job(job.id, "renamed")
        loaded = registry.get_job(job.id, SCOPE)
        assert (loaded.state, loaded.name) == ("active", "renamed")
        assert loaded.created_at == job.created_at
        assert loaded.updated_at == clock.now
    finally:
        registry.close()


def test_rows_come_back_as_the_same_text_table(registry: Registry) -> None:
    frame = pd.DataFrame(
        {
            "id": ["007", "008", "009"],
            "text": ["naïve — ünïcödé 🙂", "", 'line\nbreak, "quoted"'],
            "n": [1, 2, 3],
            "maybe": [1.5, None, float("nan")],
            "mixed": ["a", 2, None],
        },
        index=[10, 20, 30],
    )
    job = registry.create_job(SCOPE, "types", RECIPE, frame)
    expected = pd.DataFrame(
        {
            "id": ["007", "008", "009"],
            "text": ["naïve — ünïcödé 🙂", "", 'line\nbreak, "quoted"'],
            "n": ["1", "2", "3"],
            "maybe": ["1.5", "", ""],
            "mixed": ["a", "2", ""],
        },
        dtype="str",
    )
    pd.testing.assert_frame_equal(registry.job_rows(job.id), expected)


def test_repeated_and_odd_column_names_survive(registry: Registry) -> None:
    frame = pd.DataFrame([["a", "b", "c"]], columns=["x", "x", "a.b [c]"])
    job = registry.create_job(SCOPE, "names", RECIPE, frame)
    back = registry.job_rows(job.id)
    assert list(back.columns) == ["x", "x", "a.b [c]"]
    assert back.iloc[0].tolist() == ["a", "b", "c"]
    assert job.columns == ("x", "x", "a.b [c]")


def test_a_job_with_no_rows(registry: Registry) -> None:
    job = registry.create_job(SCOPE, "empty", RECIPE, pd.DataFrame({"review": []}, dtype="str"))
    back = registry.job_rows(job.id)
    assert job.rows == 0 and list(back.columns) == ["review"] and back.empty


def test_replacing_rows(registry: Registry) -> None:
    job = registry.create_job(SCOPE, "attached", RECIPE, rows(2))
    registry.replace_job_rows(job.id, pd.DataFrame({"prompt": ["p"] * 5}), source_name="x.csv")
    loaded = registry.get_job(job.id, SCOPE)
    assert (loaded.rows, loaded.columns, loaded.source_name) == (5, ("prompt",), "x.csv")
    assert registry.job_rows(job.id)["prompt"].tolist() == ["p"] * 5


# -- parts -------------------------------------------------------------------------------------


def test_parts_are_planned_with_the_job_and_numbered(registry: Registry) -> None:
    specs = [
        PartSpec(requests=10, first_row=0, stop_row=10, estimated_input_tokens=3_000_000_000),
        PartSpec(requests=5, first_row=10, stop_row=15, estimated_cost_usd=0.25),
    ]
    job = registry.create_job(SCOPE, "parts", RECIPE, rows(15), parts=specs)
    parts = registry.parts(job.id)
    assert [(p.number, p.kind, p.first_row, p.stop_row, p.requests) for p in parts] == [
        (1, "initial", 0, 10, 10),
        (2, "initial", 10, 15, 5),
    ]
    assert parts[0].estimated_input_tokens == 3_000_000_000  # more than 32 bits hold
    assert parts[1].estimated_cost_usd == 0.25
    assert all(p.state == "planned" and p.batch_id is None for p in parts)

    repair = registry.add_part(
        job.id, PartSpec(requests=2, kind="repair", custom_ids=("0003", "0011"))
    )
    assert (repair.number, repair.kind, repair.custom_ids) == (3, "repair", ("0003", "0011"))
    assert repair.first_row is None
    again = registry.add_part(job.id, PartSpec(requests=9, kind="repair"), number=3)
    assert again == repair  # a rerun asking for part 3 gets the part 3 already planned
    assert [p.number for p in registry.parts(job.id)] == [1, 2, 3]
    assert registry.part(repair.id) == repair


def test_submission_steps_are_recorded_once(registry: Registry) -> None:
    job = registry.create_job(SCOPE, "steps", RECIPE, rows(20), parts=ranges(2))
    first, second = registry.parts(job.id)

    uploaded = registry.mark_part_uploaded(first.id, "file-1")
    assert (uploaded.state, uploaded.input_file_id) == ("uploaded", "file-1")
    assert uploaded.uploaded_at is not None
    assert registry.mark_part_uploaded(first.id, "file-1") == uploaded

    created = registry.mark_part_created(first.id, "batch_1")
    assert (created.state, created.batch_id, created.input_file_id) == (
        "created",
        "batch_1",
        "file-1",
    )
    assert created.submitted_at is not None
    assert registry.mark_part_created(first.id, "batch_1") == created
    assert registry.part_for_batch("batch_1") == created
    assert registry.part_for_batch("batch_unknown") is None

    with pytest.raises(PartConflict, match=r"Part 1 of job .* is created"):
        registry.mark_part_created(first.id, "batch_2")
    with pytest.raises(PartConflict):
        registry.mark_part_uploaded(first.id, "file-9")
    with pytest.raises(PartConflict, match="already belongs to another part"):
        registry.mark_part_created(second.id, "batch_1")

    failed = registry.mark_part_failed(second.id, "The input file was rejected.")
    assert (failed.state, failed.error) == ("failed", "The input file was rejected.")
    with pytest.raises(PartConflict):
        registry.mark_part_created(second.id, "batch_3")


def test_a_lost_create_and_the_extra_batches_found_later_are_noted_once(
    registry_url: str,
) -> None:
    clock = Clock()
    registry = Registry(registry_url, clock=clock)
    try:
        job = registry.create_job(SCOPE, "late", RECIPE, rows(10), parts=ranges(1))
        [part] = registry.parts(job.id)
        sent = clock.now - timedelta(minutes=3)
        registry.note_create_doubt(part.id, sent)
        registry.note_create_doubt(part.id, clock.now)  # the earliest doubt is kept
        registry.mark_part_created(part.id, "batch_kept")
        assert registry.parts(job.id)[0].create_doubt_since == sent

        clock.now += timedelta(minutes=1)
        assert registry.note_extra_batch(part.id, "batch_x", "cancelled it")
        assert not registry.note_extra_batch(part.id, "batch_x", "told twice")
        assert registry.note_extra_batch(part.id, "batch_y", "it had already ended")
        noted = registry.job_records([job.id])[job.id].parts[0]
        assert noted.extra_batches == (
            ("batch_x", "cancelled it"),
            ("batch_y", "it had already ended"),
        )
        assert noted.batch_id == "batch_kept"
        assert registry.get_job(job.id, SCOPE).updated_at == clock.now  # kept statuses go stale
    finally:
        registry.close()


def test_a_claim_is_exclusive_until_released_or_expired(registry_url: str) -> None:
    clock = Clock()
    registry = Registry(registry_url, clock=clock)
    try:
        job = registry.create_job(SCOPE, "claims", RECIPE, rows(30), parts=ranges(3))
        first, second, _third = registry.parts(job.id)

        token = registry.claim_part(first.id, lease=timedelta(minutes=1))
        assert token is not None
        assert registry.claim_part(first.id) is None
        assert registry.part(first.id).claim_expires_at == clock.now + timedelta(minutes=1)

        # The holder moves on; a stranger's token cannot.
        registry.mark_part_uploaded(first.id, "file-1", claim=token)
        with pytest.raises(PartConflict, match="taken over by another submitter"):
            registry.mark_part_created(first.id, "batch_x", claim="not-the-token")

        # The holder goes quiet: after the lease another submitter takes over.
        clock.now += timedelta(minutes=2)
        successor = registry.claim_part(first.id)
        assert successor is not None and successor != token
        with pytest.raises(PartConflict):
            registry.mark_part_created(first.id, "batch_late", claim=token)
        created = registry.mark_part_created(first.id, "batch_1", claim=successor)
        assert created.claim_expires_at is None
        assert registry.claim_part(first.id) is None  # a part with a batch is never claimed

        released = registry.claim_part(second.id)
        assert released is not None
        registry.release_part(second.id, released)
        assert registry.claim_part(second.id) is not None
    finally:
        registry.close()


def test_a_claim_whose_process_is_gone_is_free_at_once_and_says_so(registry_url: str) -> None:
    clock = Clock()
    registry = Registry(registry_url, clock=clock)
    elsewhere = "another-host boot ns|4242|987654|run"
    try:
        job = registry.create_job(SCOPE, "holders", RECIPE, rows(30), parts=ranges(3))
        first, second, third = registry.parts(job.id)
        assert registry.claim_part(first.id, holder=gone_holder()) is not None
        mine = this_run().text()
        assert registry.claim_part(second.id, holder=mine) is not None
        assert registry.claim_part(third.id, holder=elsewhere) is not None

        # Only the claim of the process that ended is free, and with no lease run out.
        taken = registry.claim_next_part(job.id, holder=mine)
        assert taken is not None and taken.part.number == 1
        assert taken.taken_over == clock.now
        assert registry.claim_next_part(job.id) is None

        # Another machine's claim holds while its heartbeat renews it, then runs out.
        clock.now += DEFAULT_LEASE / 2
        assert registry.keep_sending(job.id, elsewhere) == 1
        assert registry.keep_sending(job.id, mine) == 2
        clock.now += DEFAULT_LEASE / 2 + timedelta(seconds=1)
        assert registry.claim_next_part(job.id) is None
        assert registry.keep_sending(job.id, mine) == 2  # this process keeps beating
        clock.now += DEFAULT_LEASE / 2
        late = registry.claim_next_part(job.id)
        assert late is not None and late.part.number == 3
        assert registry.claim_next_part(job.id) is None  # parts 1 and 2: renewed
    finally:
        registry.close()


def test_a_job_records_its_sender_and_only_that_sender_clears_it(registry_url: str) -> None:
    clock = Clock()
    registry = Registry(registry_url, clock=clock)
    try:
        job = registry.create_job(SCOPE, "sender", RECIPE, rows(10), parts=ranges(1))
        registry.start_sending(job.id, "me|1|2|a")
        registry.start_sending(job.id, "you|1|2|b")  # a second submitter took over
        registry.stop_sending(job.id, "me|1|2|a")
        kept = registry.get_job(job.id, SCOPE)
        assert (kept.sender, kept.sender_until) == ("you|1|2|b", clock.now + DEFAULT_LEASE)
        clock.now += timedelta(seconds=10)
        registry.keep_sending(job.id, "you|1|2|b")
        assert registry.get_job(job.id, SCOPE).sender_until == clock.now + DEFAULT_LEASE
        assert registry.get_job(job.id, SCOPE).updated_at == job.updated_at  # beats move nothing
        registry.stop_sending(job.id, "you|1|2|b")
        assert registry.get_job(job.id, SCOPE).sender is None
    finally:
        registry.close()


def test_unfinished_jobs_of_the_same_rows_and_recipe_are_found(registry: Registry) -> None:
    table = rows(5)
    same = registry.create_job(SCOPE, "same", RECIPE, table)
    assert same.fingerprint == job_fingerprint(blobs.text_frame(table), RECIPE)
    registry.create_job(SCOPE, "other recipe", replace(RECIPE, temperature=0.3), table)
    registry.create_job(SCOPE, "other rows", RECIPE, rows(6))
    registry.create_job(OTHER_SCOPE, "other scope", RECIPE, table)
    done = registry.create_job(SCOPE, "finished", RECIPE, table)
    registry.set_job_state(done.id, "finished")
    hidden = registry.create_job(SCOPE, "archived", RECIPE, table)
    registry.archive_job(hidden.id, SCOPE)
    older = registry.create_job(SCOPE, "saved before fingerprints", RECIPE, table)
    registry._set_job(older.id, fingerprint=None)

    found = registry.unfinished_jobs_like(SCOPE, same.fingerprint or "")
    assert sorted(job.name for job in found) == ["same", "saved before fingerprints"]
    assert registry.get_job(older.id, SCOPE).fingerprint == same.fingerprint  # kept once found


def test_claim_next_part_takes_parts_in_order(registry: Registry) -> None:
    job = registry.create_job(SCOPE, "next", RECIPE, rows(30), parts=ranges(3))
    registry.mark_part_created(registry.parts(job.id)[0].id, "batch_done")

    claims = [registry.claim_next_part(job.id) for _ in range(3)]
    assert [claim.part.number if claim else None for claim in claims] == [2, 3, None]
    first = claims[0]
    assert first is not None and first.part.claim_expires_at is not None
    registry.mark_part_failed(first.part.id, "rejected", claim=first.token)
    assert registry.claim_next_part(job.id) is None


def _race_for_parts(registry: Registry, part_ids: list[int], start: Callable[[], Any]) -> list[int]:
    """Claim every part in the same order as the rival does; the ids this side won."""
    start()
    won = []
    for part_id in part_ids:
        token = registry.claim_part(part_id)
        if token is not None:
            registry.mark_part_created(part_id, f"batch_race_{part_id}", claim=token)
            won.append(part_id)
    return won


def _drain_job(registry: Registry, job_id: str, start: Callable[[], Any]) -> list[int]:
    """Claim and submit the job's parts until none is left; the part numbers this side took."""
    start()
    taken = []
    while (claim := registry.claim_next_part(job_id)) is not None:
        registry.mark_part_uploaded(claim.part.id, f"file-{claim.part.number}", claim=claim.token)
        registry.mark_part_created(claim.part.id, f"batch_{claim.part.number}", claim=claim.token)
        taken.append(claim.part.number)
    return taken


def test_two_threads_never_claim_the_same_part(registry: Registry) -> None:
    job = registry.create_job(SCOPE, "threads", RECIPE, rows(400), parts=ranges(40))
    part_ids = [part.id for part in registry.parts(job.id)]
    barrier = threading.Barrier(2)
    won: list[list[int]] = [[], []]

    def run(side: int) -> None:
        won[side] = _race_for_parts(registry, part_ids, partial(barrier.wait, 30))

    threads = [threading.Thread(target=run, args=(side,)) for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(won[0] + won[1]) == part_ids
    assert all(part.batch_id == f"batch_race_{part.id}" for part in registry.parts(job.id))


def test_two_threads_draining_a_job_submit_each_part_once(registry: Registry) -> None:
    job = registry.create_job(SCOPE, "drain", RECIPE, rows(300), parts=ranges(30))
    barrier = threading.Barrier(2)
    taken: list[list[int]] = [[], []]

    def run(side: int) -> None:
        taken[side] = _drain_job(registry, job.id, partial(barrier.wait, 30))

    threads = [threading.Thread(target=run, args=(side,)) for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken[0] + taken[1]) == list(range(1, 31))
    assert {part.state for part in registry.parts(job.id)} == {"created"}


@pytest.mark.postgres
def test_a_claim_in_flight_does_not_hide_the_other_parts(postgres_cluster: Cluster) -> None:
    with fresh_database(postgres_cluster) as url:
        first, second = Registry(url), Registry(url)
        try:
            job = first.create_job(SCOPE, "in flight", RECIPE, rows(30), parts=ranges(3))
            paused, resume = threading.Event(), threading.Event()

            def hold_claim(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
                if statement.startswith("UPDATE parts"):  # the candidate is locked by now
                    paused.set()
                    resume.wait(30)

            event.listen(first._engine, "before_cursor_execute", hold_claim)
            claimed: list[Claim | None] = []
            holder = threading.Thread(target=lambda: claimed.append(first.claim_next_part(job.id)))
            holder.start()
            assert paused.wait(30)
            try:
                other = second.claim_next_part(job.id)
            finally:
                resume.set()
                holder.join(30)
            assert other is not None and other.part.number == 2
            assert claimed[0] is not None and claimed[0].part.number == 1
        finally:
            first.close()
            second.close()


def _process_side(url: str, part_ids: list[int], job_id: str, barrier: Any, results: Any) -> None:
    registry = Registry(url)
    try:
        raced = _race_for_parts(registry, part_ids, partial(barrier.wait, 30))
        drained = _drain_job(registry, job_id, partial(barrier.wait, 30))
        results.put((raced, drained))
    finally:
        registry.close()


def test_two_processes_never_claim_the_same_part(registry: Registry, registry_url: str) -> None:
    racing = registry.create_job(SCOPE, "race", RECIPE, rows(300), parts=ranges(30))
    draining = registry.create_job(SCOPE, "drain", RECIPE, rows(300), parts=ranges(30))
    part_ids = [part.id for part in registry.parts(racing.id)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(
            target=_process_side, args=(registry_url, part_ids, draining.id, barrier, results)
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    (raced_a, drained_a), (raced_b, drained_b) = results.get(timeout=10), results.get(timeout=10)

    assert sorted(raced_a + raced_b) == part_ids
    assert sorted(drained_a + drained_b) == list(range(1, 31))
    assert {part.batch_id for part in registry.parts(draining.id)} == {
        f"batch_{number}" for number in range(1, 31)
    }


# -- batch snapshots ---------------------------------------------------------------------------


def _job_with_batches(registry: Registry, count: int) -> tuple[str, list[Part]]:
    job = registry.create_job(SCOPE, "batches", RECIPE, rows(10 * count), parts=ranges(count))
    parts = [
        registry.mark_part_created(part.id, f"batch_{part.number}")
        for part in registry.parts(job.id)
    ]
    return job.id, parts


def test_snapshots_keep_the_latest_description(registry: Registry) -> None:
    job_id, _parts = _job_with_batches(registry, 2)
    info = {
        "id": "batch_2",
        "status": "in_progress",
        "request_counts": {"total": 10, "completed": 4, "failed": 1},
        "errors": [{"code": "x", "message": "y", "line": 3}],
        "metadata": {"batchdash_job": job_id},
        "created_at": 1_760_000_000,
        "completed_at": None,
        "pairs": (1, 2),
    }
    registry.save_snapshot("batch_2", info)
    registry.save_snapshot("batch_1", {"status": "validating"})
    snapshots = registry.snapshots(job_id)
    assert [(s.batch_id, s.part_number, s.status) for s in snapshots] == [
        ("batch_1", 1, "validating"),
        ("batch_2", 2, "in_progress"),
    ]
    assert snapshots[1].info == {**info, "pairs": [1, 2]}
    assert not snapshots[1].terminal

    registry.save_snapshots(
        {"batch_1": {"status": "completed", "n": 1}, "batch_2": {"status": "vendor_paused"}}
    )
    assert registry.snapshot("batch_2") is not None
    assert [s.status for s in registry.snapshots(job_id)] == ["completed", "vendor_paused"]
    assert registry.snapshots(job_id)[0].terminal
    assert registry.snapshot("batch_nope") is None


def test_a_terminal_snapshot_is_not_overwritten_by_an_older_one(registry: Registry) -> None:
    _job_with_batches(registry, 1)
    registry.save_snapshot("batch_1", {"status": "completed", "output_file_id": "file-out"})
    registry.save_snapshot("batch_1", {"status": "finalizing"})  # a slower replica's view
    snapshot = registry.snapshot("batch_1")
    assert snapshot is not None
    assert snapshot.info == {"status": "completed", "output_file_id": "file-out"}
    registry.save_snapshot("batch_1", {"status": "completed", "output_file_id": "file-2"})
    assert registry.snapshot("batch_1").info["output_file_id"] == "file-2"  # type: ignore[union-attr]


def test_a_providers_own_final_status_is_not_overwritten_either(registry: Registry) -> None:
    _job_with_batches(registry, 1)
    provider_final = {*OPENAI_TERMINAL_STATUSES, "vendor_done"}
    registry.save_snapshot("batch_1", {"status": "vendor_done"}, terminal=provider_final)

    registry.save_snapshot("batch_1", {"status": "in_progress"}, terminal=provider_final)

    assert registry.snapshot("batch_1").status == "vendor_done"  # type: ignore[union-attr]
    # Without the provider's list the same status is an ordinary one.
    registry.save_snapshot("batch_1", {"status": "in_progress"})
    assert registry.snapshot("batch_1").status == "in_progress"  # type: ignore[union-attr]


def test_snapshots_need_a_known_batch_and_a_status(registry: Registry) -> None:
    _job_with_batches(registry, 1)
    with pytest.raises(ValueError, match="belongs to no part"):
        registry.save_snapshot("batch_elsewhere", {"status": "completed"})
    with pytest.raises(ValueError, match="has no status"):
        registry.save_snapshot("batch_1", {"id": "batch_1"})


def test_job_records_read_several_jobs_at_once(registry: Registry) -> None:
    """Parts, snapshots and kept results of many jobs in one transaction of three queries."""
    jobs = []
    for number in range(3):
        job = registry.create_job(SCOPE, f"job {number}", RECIPE, rows(20), parts=ranges(2))
        for part in registry.parts(job.id):
            registry.mark_part_created(part.id, f"batch_{number}_{part.number}")
        jobs.append(job.id)
    bare = registry.create_job(SCOPE, "no parts", RECIPE, rows(0), parts=[]).id
    registry.save_snapshots(
        {"batch_0_2": {"status": "completed"}, "batch_0_1": {"status": "in_progress"}}
    )
    registry.save_snapshot("batch_2_1", {"status": "failed"})
    registry.save_results("batch_0_2", b"{}\n", b"")

    statements: list[str] = []
    event.listen(registry._engine, "before_cursor_execute", _recorder(statements))
    records = registry.job_records([jobs[2], bare, jobs[0], jobs[1]])
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    assert len(queries) == 3
    assert list(records) == [jobs[2], bare, jobs[0], jobs[1]]
    assert [p.batch_id for p in records[jobs[0]].parts] == ["batch_0_1", "batch_0_2"]
    assert [(s.batch_id, s.part_number, s.status) for s in records[jobs[0]].snapshots] == [
        ("batch_0_1", 1, "in_progress"),
        ("batch_0_2", 2, "completed"),
    ]
    assert records[jobs[0]].fetched == {"batch_0_2"}
    assert [s.batch_id for s in records[jobs[2]].snapshots] == ["batch_2_1"]
    assert records[jobs[1]].snapshots == [] and records[jobs[1]].fetched == set()
    assert records[bare].parts == [] and records[bare].snapshots == []
    # The same as the one-job reads give.
    for job_id in jobs:
        assert records[job_id].parts == registry.parts(job_id)
        assert records[job_id].snapshots == registry.snapshots(job_id)
    assert registry.job_records([]) == {}


def _recorder(statements: list[str]) -> Callable[..., None]:
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    return record


# -- fetched results ---------------------------------------------------------------------------


def _lines(prefix: str, count: int) -> bytes:
    return b"".join(
        b'{"custom_id": "%s-%d", "answer": "%s"}\n' % (prefix.encode(), i, b"x" * (i % 50))
        for i in range(count)
    )


def test_results_are_kept_once_in_part_order(registry: Registry, tmp_path: Path) -> None:
    job_id, _parts = _job_with_batches(registry, 3)
    output_file = tmp_path / "out.jsonl"
    output_file.write_bytes(_lines("b3", 200))

    assert not registry.has_results("batch_3")
    assert registry.save_results("batch_3", output_file, None)
    assert registry.save_results("batch_1", _lines("b1", 100), _lines("e1", 5))
    assert registry.has_results("batch_3") and not registry.has_results("batch_2")
    assert not registry.save_results("batch_1", b"changed\n", b"")  # fetched once, kept as is

    results = registry.results(job_id)
    assert [(r.batch_id, r.part_number, r.part_kind) for r in results] == [
        ("batch_1", 1, "initial"),
        ("batch_3", 3, "initial"),
    ]
    assert (results[0].output, results[0].errors) == (_lines("b1", 100), _lines("e1", 5))
    assert (results[1].output, results[1].errors) == (_lines("b3", 200), b"")
    with pytest.raises(ValueError, match="belongs to no part"):
        registry.save_results("batch_elsewhere", b"", b"")


def test_large_files_are_stored_in_chunks_of_whole_lines(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "CHUNK_BYTES", 500)
    job_id, _parts = _job_with_batches(registry, 1)
    output = _lines("b1", 300) + b'{"no": "final newline"}'
    registry.save_results("batch_1", output, _lines("e", 3))

    chunks = list(registry.result_chunks("batch_1", "output"))
    assert len(chunks) > 10
    assert all(chunk.endswith(b"\n") for chunk in chunks[:-1])
    assert b"".join(chunks) == output
    assert list(registry.result_chunks("batch_1", "errors")) == [_lines("e", 3)]
    assert registry.results(job_id)[0].output == output


def test_merged_table_cache_follows_the_fetched_batches(registry: Registry) -> None:
    job_id, _parts = _job_with_batches(registry, 2)
    registry.save_results("batch_1", _lines("b1", 3), b"")
    merged = pd.DataFrame(
        {
            "review": ["a", "b", "c"],
            "response": ["x", None, "z"],
            "score": [0.5, None, 2.0],
            "input_tokens": pd.array([10, None, 12], dtype="Int64"),
            "status": ["ok", "error", "ok"],
        }
    )
    assert registry.merged(job_id) is None
    assert registry.save_merged(job_id, merged, ["batch_1"])
    cached = registry.merged(job_id)
    assert cached is not None
    pd.testing.assert_frame_equal(cached, merged)

    registry.save_results("batch_2", _lines("b2", 3), b"")
    assert registry.merged(job_id) is None  # batch_2's answers are not in it
    assert registry.save_merged(job_id, merged.iloc[:1], ["batch_2", "batch_1"])
    assert len(registry.merged(job_id)) == 1  # type: ignore[arg-type]

    unstorable = pd.DataFrame({"cell": [1, "text", object()]})
    assert not registry.save_merged(job_id, unstorable, ["batch_1", "batch_2"])


# -- the API key is never stored ---------------------------------------------------------------


def _everything_stored(registry: Registry, registry_url: str) -> str:
    """Every table's rows as text, plus every blob decoded."""
    engine = make_engine(registry_url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            dumped = [
                repr(conn.execute(text(f'SELECT * FROM "{table}"')).all()) for table in tables
            ]
    finally:
        engine.dispose()
    for job in registry.list_jobs(SCOPE, include_archived=True):
        dumped.append(registry.job_rows(job.id).to_csv())
        dumped.append(repr(registry.results(job.id)))
        dumped.append(repr(registry.snapshots(job.id)))
    return "\n".join(dumped)


def test_the_api_key_is_never_stored(registry: Registry, registry_url: str) -> None:
    settings = read_settings({"OPENAI_API_KEY": FAKE_KEY})
    assert settings.api_key == FAKE_KEY
    scope = owner_scope(settings.api_key, settings.base_url, "ana")
    job = registry.create_job(scope, "marker-job-name", RECIPE, rows(5), parts=ranges(1, 5))
    registry.create_job(SCOPE, "second-marker", RECIPE, rows(5))
    part = registry.parts(job.id)[0]
    registry.mark_part_created(part.id, "batch_k")
    registry.save_snapshot("batch_k", {"status": "completed", "metadata": {"job": job.id}})
    registry.save_results("batch_k", b'{"custom_id": "0001"}\n', b"")

    stored = _everything_stored(registry, registry_url)
    assert "marker-job-name" in stored and "second-marker" in stored and scope in stored
    assert FAKE_KEY not in stored
    assert FAKE_KEY[8:30] not in stored  # not even a recognisable piece of it

    if registry.dialect == "sqlite":
        url = registry_url.removeprefix("sqlite:///")
        files = [Path(url), Path(url + "-wal")]
        raw = b"".join(path.read_bytes() for path in files if path.exists())
        assert b"marker-job-name" in raw
        assert FAKE_KEY.encode() not in raw


# -- schema versions ---------------------------------------------------------------------------


def _describe(tables: dict[str, Any]) -> dict[str, Any]:
    """Columns, keys and indexes of each table, comparable between a model and a database."""
    return {
        name: {
            "columns": {c["name"]: c["nullable"] for c in info["columns"]},
            "primary_key": sorted(info["pk"]),
            "unique": sorted(sorted(cols) for cols in info["unique"]),
            "indexes": sorted(sorted(cols) for cols in info["indexes"]),
            "foreign_keys": sorted(info["fks"]),
        }
        for name, info in tables.items()
    }


def _reflect(registry_url: str) -> dict[str, Any]:
    engine = make_engine(registry_url)
    try:
        inspector = inspect(engine)
        tables = {}
        for name in inspector.get_table_names():
            if name == "schema_versions":
                continue
            tables[name] = {
                "columns": inspector.get_columns(name),
                "pk": inspector.get_pk_constraint(name)["constrained_columns"],
                "unique": [u["column_names"] for u in inspector.get_unique_constraints(name)],
                "indexes": [
                    i["column_names"]
                    for i in inspector.get_indexes(name)
                    if not i.get("unique")  # PostgreSQL lists unique constraints here too
                ],
                "fks": [
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        fk["options"].get("ondelete"),
                    )
                    for fk in inspector.get_foreign_keys(name)
                ],
            }
        return tables
    finally:
        engine.dispose()


def _from_models() -> dict[str, Any]:
    tables = {}
    for name, table in Base.metadata.tables.items():
        tables[name] = {
            "columns": [{"name": c.name, "nullable": c.nullable} for c in table.columns],
            "pk": [c.name for c in table.primary_key.columns],
            "unique": [
                [c.name for c in constraint.columns]
                for constraint in table.constraints
                if isinstance(constraint, UniqueConstraint)
            ],
            "indexes": [[c.name for c in index.columns] for index in table.indexes],
            "fks": [
                ((fk.parent.name,), fk.column.table.name, fk.ondelete) for fk in table.foreign_keys
            ],
        }
    return tables


def test_a_new_database_is_at_the_latest_version_and_matches_the_models(
    registry: Registry, registry_url: str
) -> None:
    assert registry.schema_version == LATEST_VERSION
    assert _describe(_reflect(registry_url)) == _describe(_from_models())


def test_connection_settings(registry: Registry, registry_url: str) -> None:
    engine = make_engine(registry_url)
    try:
        with engine.connect() as conn:
            if registry.dialect == "sqlite":
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            else:
                assert conn.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def _insert_version_1_job(registry_url: str) -> None:
    """A job written the way version 1 of the schema stores it."""
    engine = make_engine(registry_url)
    try:
        assert upgrade(engine, target=1) == 1
        now = datetime(2026, 1, 2, tzinfo=UTC)
        with engine.begin() as conn:
            jobs = Base.metadata.tables["jobs"]
            conn.execute(
                jobs.insert().values(
                    id="job_000000000001",
                    scope=SCOPE,
                    name="from version 1",
                    state="finished",
                    archived=False,
                    recipe=RECIPE.to_dict(),
                    source_name="old.csv",
                    column_names=["id", "review"],
                    row_count=2,
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                Base.metadata.tables["job_rows"]
                .insert()
                .values(
                    job_id="job_000000000001", codec="parquet-zstd", data=frame_to_blob(rows(2))
                )
            )
    finally:
        engine.dispose()


def test_the_versions_run_from_1_without_a_gap() -> None:
    # A number taken by work not merged yet would leave a gap: every version is one step.
    assert sorted(MIGRATIONS) == list(range(1, LATEST_VERSION + 1))


def test_a_version_1_database_opens_under_the_latest(registry_url: str) -> None:
    _insert_version_1_job(registry_url)
    registry = Registry(registry_url)
    try:
        assert registry.schema_version == LATEST_VERSION
        (job,) = registry.list_jobs(SCOPE)
        assert (job.id, job.name, job.recipe, job.rows) == (
            "job_000000000001",
            "from version 1",
            RECIPE,
            2,
        )
        pd.testing.assert_frame_equal(registry.job_rows(job.id), rows(2).astype("str"))
    finally:
        registry.close()


def _add_priority(conn: Any) -> None:
    conn.execute(text("ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 3"))


def test_a_later_migration_upgrades_in_place_and_then_guards_the_version(registry_url: str) -> None:
    _insert_version_1_job(registry_url)
    engine = make_engine(registry_url)
    try:
        later = {**MIGRATIONS, LATEST_VERSION + 1: _add_priority}
        assert upgrade(engine, later) == LATEST_VERSION + 1
        assert upgrade(engine, later) == LATEST_VERSION + 1  # nothing left to do
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name, priority FROM jobs")).one() == (
                "from version 1",
                3,
            )
            versions = conn.execute(text("SELECT version FROM schema_versions ORDER BY 1"))
            assert [v for (v,) in versions] == [*sorted(MIGRATIONS), LATEST_VERSION + 1]
    finally:
        engine.dispose()
    with pytest.raises(RegistryError, match="newer than this Batchdash knows"):
        Registry(registry_url)


def _break_halfway(conn: Any) -> None:
    conn.execute(text("CREATE TABLE half_done (id INTEGER)"))
    raise RuntimeError("migration failed")


def test_a_failing_migration_changes_nothing(registry_url: str) -> None:
    _insert_version_1_job(registry_url)
    engine = make_engine(registry_url)
    try:
        with pytest.raises(RuntimeError, match="migration failed"):
            upgrade(engine, {**MIGRATIONS, LATEST_VERSION + 1: _break_halfway})
        assert "half_done" not in inspect(engine).get_table_names()
        assert upgrade(engine) == LATEST_VERSION
    finally:
        engine.dispose()


def test_replicas_opening_a_new_database_at_once_create_it_once(registry_url: str) -> None:
    opened: list[Registry] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        barrier.wait(30)
        try:
            opened.append(Registry(registry_url))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert failures == [] and len(opened) == 4
        versions = opened[0]._engine.connect()
        with versions:
            count = versions.execute(text("SELECT count(*) FROM schema_versions")).scalar()
        assert count == len(MIGRATIONS)  # each migration recorded once
    finally:
        for registry in opened:
            registry.close()


# -- URLs and opening --------------------------------------------------------------------------


def test_urls_get_the_shipped_driver() -> None:
    assert parse_db_url("postgresql://a@h/db").drivername == "postgresql+psycopg"
    assert parse_db_url("postgres://a@h/db").drivername == "postgresql+psycopg"
    assert parse_db_url("sqlite:////tmp/x.sqlite3").drivername == "sqlite"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://a@h/db", "SQLite or PostgreSQL only"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_unusable_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        Registry(url)


def test_an_unreachable_server_is_explained_without_its_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(
            RegistryError, match=r"could not be opened .* check BATCHDASH_DB_URL"
        ) as raised:
            Registry(f"postgresql://nobody:secret-pw@127.0.0.1:{port}/batchdash")
    assert "secret-pw" not in str(raised.value)


def test_the_default_registry_creates_its_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "there" / "yet"
    settings = read_settings({"BATCHDASH_DATA_DIR": str(data_dir)})
    registry = Registry.from_settings(settings)
    try:
        registry.create_job(SCOPE, "job", RECIPE, rows(1))
        assert (data_dir / "registry.sqlite3").is_file()
        assert registry.url == settings.db_url
    finally:
        registry.close()


def test_repeated_opens_keep_the_data(registry_url: str) -> None:
    first = Registry(registry_url)
    job = first.create_job(SCOPE, "kept", RECIPE, rows(2))
    first.close()
    second = Registry(registry_url)
    try:
        assert second.get_job(job.id, SCOPE) == job
        assert Counter(j.name for j in second.list_jobs(SCOPE)) == {"kept": 1}
    finally:
        second.close()


def test_missing_postgresql_programs_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(test_postgres, "_DEBIAN_BIN_DIRS", str(tmp_path / "none" / "*" / "bin"))
    with pytest.raises(test_postgres.PostgresMissing, match="apt-get install postgresql"):
        test_postgres.find_bin_dir()
