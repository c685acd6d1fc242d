"""Crashes at every step of a job; after a restart it completes with one batch per part.

A crash is an exception raised inside the gateway at the chosen point. "exception": it unwinds
through the job service, which gives its claim on the part back. "killed": nothing unwinds (the
claim stays, as when the process is killed), so the restarted service must wait for the claim's
lease to run out; its registry clock is moved past it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from batchdash.api.batch_tags import PART_TAG
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.holders import this_run
from batchdash.registry.records import DEFAULT_LEASE
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import (
    RECIPE,
    Sandbox,
    gone_holder,
    job_batches,
    reviews,
    run_to_end,
)

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-crash"
ROWS = 24


class Crash(BaseException):
    """Stands for the process dying at the injected point."""


def crash_after(gateway: Gateway, method: str, *, call_first: bool = True, times: int = 1) -> None:
    """Make `gateway.<method>` crash `times` times: after doing its work, or instead of it."""
    real: Callable[..., Any] = getattr(gateway, method)
    left = [times]

    def crashing(*args: Any, **kwargs: Any) -> Any:
        if left[0] <= 0:
            return real(*args, **kwargs)
        left[0] -= 1
        if call_first:
            real(*args, **kwargs)
        raise Crash(f"crashed {'after' if call_first else 'before'} {method}")

    setattr(gateway, method, crashing)


POINTS = {
    # The file is uploaded, but the process dies before the registry records its id.
    "after the upload": ("upload_part", True),
    # The upload is recorded; the process dies before asking for the batch.
    "after recording the upload": ("create_batch", False),
    # The batch exists at the API, but the process dies before the registry records its id.
    "after the batch creation": ("create_batch", True),
}


@pytest.mark.parametrize("how", ["exception", "killed"])
@pytest.mark.parametrize("point", list(POINTS))
def test_a_crash_while_submitting_resumes_without_a_second_batch(
    point: str, how: str, registry_url: str, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    method, call_first = POINTS[point]
    crashed = Registry(registry_url)
    service = JobService(crashed, box.gateway(), SCOPE)
    job_id = service.create_job("Crash", reviews(ROWS), RECIPE, enqueued_token_limit=200)
    parts = len(crashed.parts(job_id))
    assert parts == 3
    crash_after(service.gateway, method, call_first=call_first)
    if how == "killed":
        monkeypatch.setattr(crashed, "release_part", lambda *_args: None)
    with pytest.raises(Crash):
        service.submit(job_id)
    crashed.close()

    restarted = Registry(registry_url)
    try:
        if how == "killed":
            # The dead submitter's claim holds part 1 until its lease runs out.
            held = JobService(restarted, box.gateway(), SCOPE).submit(job_id)
            assert len(held) == parts - 1
            restarted.close()
            shift = DEFAULT_LEASE + timedelta(seconds=1)
            restarted = Registry(registry_url, clock=lambda: datetime.now(UTC) + shift)
        service = JobService(restarted, box.gateway(), SCOPE)
        batch_ids = service.submit(job_id)
        status = run_to_end(service, job_id)
    finally:
        restarted.close()

    assert len(batch_ids) == parts
    tagged = job_batches(box, job_id)
    assert sorted(info.metadata[PART_TAG] for info in tagged) == ["1", "2", "3"]
    assert sorted(info.id for info in tagged) == sorted(batch_ids)
    uploads = box.log.count("POST", "/v1/files")
    assert uploads == parts + (1 if point == "after the upload" else 0)
    assert status.counts["ok"] == ROWS
    assert_answered_once(service, job_id)


def test_a_crash_during_the_results_fetch_fetches_them_again_once(
    registry_url: str, box: Sandbox
) -> None:
    crashed = Registry(registry_url)
    service = JobService(crashed, box.gateway(), SCOPE)
    job_id = service.create_job("Fetch", reviews(ROWS), RECIPE, enqueued_token_limit=200)
    batch_ids = service.submit(job_id)
    crash_after(service.gateway, "download_file")
    with pytest.raises(Crash):
        run_to_end(service, job_id)
    crashed.close()

    restarted = Registry(registry_url)
    try:
        service = JobService(restarted, box.gateway(), SCOPE)
        box.log.reset()
        status = run_to_end(service, job_id)
        assert status.counts["ok"] == ROWS
        assert [b.id for b in status.batches] == batch_ids
        assert_answered_once(service, job_id)
        fetched = box.log.count("GET", "/v1/files/")
        box.log.reset()
        assert service.refresh(job_id).state == "finished" and box.log.total == 0
    finally:
        restarted.close()
    assert fetched == len(batch_ids)  # every output file fetched once after the restart


def assert_answered_once(service: JobService, job_id: str) -> None:
    """Every row has exactly one kept answer, and the merged table is all `ok`, in order."""
    output, errors = service.raw_results(job_id)
    answers = Counter(json.loads(line)["custom_id"] for line in output.splitlines())
    assert answers == Counter({f"row-{n}": 1 for n in range(1, ROWS + 1)})
    assert errors == b""
    merged = service.merged_table(job_id)
    assert merged["custom_id"].tolist() == [f"row-{n}" for n in range(1, ROWS + 1)]
    assert set(merged["status"]) == {"ok"}


def test_a_refresh_leaves_a_live_sender_alone_and_sends_at_once_what_a_gone_one_left(
    registry_url: str, box: Sandbox
) -> None:
    """A refresh in another session must not take parts from a submitter between two of its
    steps (no part claimed, its sender recorded); once that submitter's process is gone, the
    very next refresh sends the parts, without waiting for any lease."""
    registry = Registry(registry_url)
    service = JobService(registry, box.gateway(), SCOPE)
    try:
        job_id = service.create_job("Stopped", reviews(ROWS), RECIPE, enqueued_token_limit=200)
        crash_after(service.gateway, "create_batch", call_first=False)
        with pytest.raises(Crash):
            service.submit(job_id)  # part 1 uploaded, its claim given back, then nothing
        registry.start_sending(job_id, this_run().text())  # a live submitter, between parts
        box.log.reset()

        service.refresh_all()
        assert box.log.count("POST", "/v1/batches") == 0
        status = service.status(job_id)
        assert status.sending and status.unsent == 3
        assert status.unsent_note == "3 of 3 parts not sent yet: sending now."

        registry.start_sending(job_id, gone_holder())  # ...whose process has ended since
        stopped = service.status(job_id)
        assert not stopped.sending and "their submission stopped" in stopped.unsent_note
        service.refresh_all()
        assert box.log.count("POST", "/v1/batches") == 3
        assert service.status(job_id).unsent == 0
        assert len(job_batches(box, job_id)) == 3
    finally:
        registry.close()


def test_a_claim_held_on_another_machine_lasts_until_its_heartbeat_stops(
    registry_url: str, box: Sandbox
) -> None:
    """A holder on another machine cannot be looked at from here: its claim holds while it is
    renewed, and the first refresh after its lease ran out unrenewed sends the part."""
    registry = Registry(registry_url)
    service = JobService(registry, box.gateway(), SCOPE)
    try:
        job_id = service.create_job("Elsewhere", reviews(ROWS), RECIPE)
        registry.set_job_state(job_id, "active")
        elsewhere = "another-host 1f2e 4026531836|4242|987654|run-9"
        registry.start_sending(job_id, elsewhere)
        part = registry.parts(job_id)[0]
        assert registry.claim_part(part.id, holder=elsewhere) is not None
        assert registry.keep_sending(job_id, elsewhere) == 1  # its heartbeat
        service.refresh_all()
        assert box.log.count("POST", "/v1/batches") == 0
        assert service.status(job_id).sending
    finally:
        registry.close()
    shift = DEFAULT_LEASE + timedelta(seconds=1)
    later = Registry(registry_url, clock=lambda: datetime.now(UTC) + shift)
    try:
        service = JobService(
            later, box.gateway(), SCOPE, clock=lambda: time.time() + shift.total_seconds()
        )
        assert not service.status(job_id).sending
        service.refresh_all()
        assert box.log.count("POST", "/v1/batches") == 1
        assert len(job_batches(box, job_id)) == 1
    finally:
        later.close()


def test_a_create_that_lost_its_answer_is_given_a_minute_before_a_refresh_sends_anew(
    registry_url: str, box: Sandbox
) -> None:
    """The one wait left: a create whose answer was lost may still land, so a refresh leaves
    the part for `resume_after`, then looks for its batch before creating one."""
    registry = Registry(registry_url)
    now = [datetime.now(UTC).timestamp()]
    service = JobService(registry, box.gateway(), SCOPE, clock=lambda: now[0])
    try:
        job_id = service.create_job("Doubt", reviews(ROWS), RECIPE)
        crash_after(service.gateway, "create_batch", call_first=False)
        with pytest.raises(Crash):
            service.submit(job_id)
        part = registry.parts(job_id)[0]
        registry.note_create_doubt(part.id, datetime.fromtimestamp(now[0], UTC))
        box.log.reset()

        now[0] += service.resume_after.total_seconds() - 5
        service.refresh_all()
        assert box.log.count("POST", "/v1/batches") == 0
        assert "may still land" in service.status(job_id).unsent_note
        now[0] += 10
        service.refresh_all()
        assert box.log.count("POST", "/v1/batches") == 1
        assert service.status(job_id).unsent == 0
    finally:
        registry.close()
