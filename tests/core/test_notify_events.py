"""Which events a refresh brings about: finished, failed and expiring, from a job's state
before the refresh and its status after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from batchdash.jobs.announcing import EXPIRY_WARNING, RECENT, job_events
from batchdash.jobs.status import JobState, JobStatus
from batchdash.recipe import Recipe
from batchdash.registry.records import Job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def status(
    state: JobState,
    *,
    pending: int = 0,
    error: int = 0,
    not_run: int = 0,
    expires_in: timedelta | None = None,
    discarded: bool = False,
) -> JobStatus:
    counts = {"ok": 4, "error": error, "expired": 0, "cancelled": 0, "not_run": not_run}
    counts["pending"] = pending
    return JobStatus(
        job_id="job_0123456789ab",
        name="Reviews",
        created_at=NOW,
        model="gpt-4o-mini",
        endpoint="/v1/chat/completions",
        state=state,
        rows=sum(counts.values()),
        counts=counts,
        parts=1,
        batches=(),
        progress=1.0,
        estimated_cost_usd=None,
        actual_cost_usd=None,
        expires_at=int((NOW + expires_in).timestamp()) if expires_in is not None else None,
        archived=False,
        discarded=discarded,
    )


def job(state: str, *, changed: timedelta = timedelta(hours=1)) -> Job:
    """The job's record as a refresh read it, last changed `changed` before now."""
    return Job(
        id="job_0123456789ab",
        scope="scope-a",
        name="Reviews",
        state=state,
        archived=False,
        recipe=Recipe(model="gpt-4o-mini", template="{review}"),
        source_name="reviews.csv",
        columns=("review",),
        rows=4,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - changed,
    )


@pytest.mark.parametrize(
    ("before", "after", "events"),
    [
        ("active", status("finished"), ["finished"]),
        ("active", status("finished", error=1), ["failed"]),
        ("active", status("finished", not_run=2), ["failed"]),  # a failed batch's rows
        ("finished", status("finished"), []),  # ended before: not told again
        ("new", status("finished", not_run=4, discarded=True), []),  # nothing ever ran
        ("active", status("active", pending=3, expires_in=timedelta(hours=2)), ["expiring"]),
        ("active", status("active", pending=3, expires_in=EXPIRY_WARNING), ["expiring"]),
        ("active", status("active", pending=3, expires_in=timedelta(hours=5)), []),
        ("active", status("active", pending=0, expires_in=timedelta(hours=1)), []),
        ("active", status("active", pending=3), []),  # no running batch with a window
    ],
)
def test_events_of_a_refresh(before: str, after: JobStatus, events: list[str]) -> None:
    assert job_events(job(before), after, NOW) == events


def test_an_end_worked_out_elsewhere_is_told_while_it_is_recent() -> None:
    # A listing of jobs, or the process that ran the job directly, recorded it finished.
    assert job_events(job("finished", changed=RECENT / 2), status("finished"), NOW) == ["finished"]
    assert job_events(job("finished", changed=RECENT * 2), status("finished"), NOW) == []
