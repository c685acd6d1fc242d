"""Which events a refresh of jobs brings about, recorded in the outbox once per job and event.

- `finished`: the job ended with every row answered (`ok`).
- `failed`: the job ended with rows left unanswered (`error`, `expired`, `cancelled` or
  `not_run`: a failed batch leaves its rows `not_run`).
- `expiring`: an active job has rows pending in a batch whose completion window ends within
  `EXPIRY_WARNING`.

An end is told when a refresh sees the job change to finished, or sees it finished within
`RECENT` of its last change (its end was worked out elsewhere: by a listing of jobs, or by the
process that ran it directly); a job that ended long before is not announced when it is next
looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from batchdash.jobs.status import JobStatus
from batchdash.registry.records import Job
from batchdash.registry.store import Registry

#: How long before a running batch's window ends its pending rows are warned about.
EXPIRY_WARNING = timedelta(hours=3)

#: How recently a job seen finished must have changed to be told about when no refresh saw it end.
RECENT = timedelta(minutes=15)

#: Row statuses that mean a row got no answer.
UNANSWERED = ("error", "expired", "cancelled", "not_run")


def job_events(job: Job, status: JobStatus, now: datetime) -> list[str]:
    """The events of one job, from its record before the refresh and its status after."""
    if status.state == "finished":
        seen_ending = job.state != "finished" or now - job.updated_at <= RECENT
        if not seen_ending or status.discarded or status.never_started:
            return []
        return ["failed" if unanswered(status.counts) else "finished"]
    pending = status.counts.get("pending", 0)
    if status.expires_at is None or not pending:
        return []
    return (
        ["expiring"]
        if status.expires_at - now.timestamp() <= EXPIRY_WARNING.total_seconds()
        else []
    )


def unanswered(counts: dict[str, int]) -> int:
    """Rows that got no answer."""
    return sum(counts.get(status, 0) for status in UNANSWERED)


def payload(event: str, status: JobStatus) -> dict[str, Any]:
    """What the outbox keeps: contract 12's plain body and, apart, the expiry time."""
    return {
        "event": event,
        "job_id": status.job_id,
        "name": status.name,
        "state": status.state,
        "counts": dict(status.counts),
        "cost_usd": status.actual_cost_usd,
        "expires_at": status.expires_at,
    }


def record_events(
    registry: Registry, jobs: Sequence[Job], statuses: Sequence[JobStatus], now: datetime
) -> int:
    """Record the events of refreshed `jobs` (as read before the refresh) with their new
    `statuses`; how many were new (another process may have recorded the same ones, and an
    event seen again is kept once)."""
    seen = [
        (job, status, event)
        for job, status in zip(jobs, statuses, strict=True)
        for event in job_events(job, status, now)
    ]
    if not seen:
        return 0
    # One query for all: a page refreshing every few seconds sees the same events again.
    known = registry.recorded_events([job.id for job, _status, _event in seen])
    return sum(
        registry.record_notification(job.id, job.scope, event, payload(event, status))
        for job, status, event in seen
        if (job.id, event) not in known
    )
