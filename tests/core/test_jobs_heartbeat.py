"""A live submitter keeps its hold however long one step takes: its heartbeat renews the claim
on the part and its record as the job's sender, so no refresh or second submitter takes the
part over from under it; once it is done, nothing of its hold is left.

The registry's clock is moved past the lease in the middle of a slow upload; the test then
waits for the next beat, which renews the hold from that moved clock (without a heartbeat it
never would, and the wait would end in a failure)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, job_batches, reviews

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-heartbeat"
LEASE = timedelta(seconds=2)
#: Seconds the test waits for a beat at most (guards against a hang only).
PATIENCE = 60.0


class MovableClock:
    """The registry's clock: the real one, moved ahead by `shift`."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


def test_a_slow_step_keeps_its_claim_and_its_sender_while_the_heartbeat_beats(
    tmp_path: Path, box: Sandbox
) -> None:
    clock = MovableClock()
    url = f"sqlite:///{tmp_path / 'beats.sqlite3'}"
    registry = Registry(url, clock=clock)
    service = JobService(registry, box.gateway(), SCOPE, claim_lease=LEASE)
    job_id = service.create_job("Slow upload", reviews(4), RECIPE)
    rival = Registry(url, clock=clock)
    seen: dict[str, Any] = {}
    upload = service.gateway.upload_part

    def slow_upload(name: str, data: bytes, **options: Any) -> str:
        # Mid-step, the lease is long gone by the clock; then the next beat comes.
        clock.shift += timedelta(minutes=10)
        moved = clock()
        deadline = time.monotonic() + PATIENCE
        while (rival.parts(job_id)[0].claim_expires_at or moved) <= moved:
            assert time.monotonic() < deadline, "the claim was never renewed"
            time.sleep(0.05)
        seen["rival claim"] = rival.claim_next_part(job_id)
        seen["status"] = JobService(rival, box.gateway(), SCOPE).status(job_id)
        return upload(name, data, **options)

    service.gateway.upload_part = slow_upload  # type: ignore[method-assign]
    try:
        assert len(service.submit(job_id)) == 1
        assert seen["rival claim"] is None
        status: JobStatus = seen["status"]
        assert status.sending and status.unsent_note == "1 of 1 part not sent yet: sending now."
        job = registry.get_job(job_id, SCOPE)
        assert (job.sender, job.sender_until) == (None, None)  # nothing of the hold is left
        assert registry.parts(job_id)[0].claim_expires_at is None
        assert len(job_batches(box, job_id)) == 1
    finally:
        rival.close()
        registry.close()
