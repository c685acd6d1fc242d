"""The deadline guard (DESIGN.md contract 11): a batch job whose batch nears its 24 h expiry,
or expired, with rows still unanswered can finish them directly, as a direct part of the same
job at the normal price, instead of waiting for a batch that may never answer them.

Finishing cancels the job's running batches first (no row is paid for twice from then on:
answers the batch made before its cancel took effect are kept, and an `ok` answer wins in the
merged table), then adds every row without an answer as one direct part (`DirectJobs.add_rows`)
for a direct run to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchdash.direct.jobs import DirectJobs
from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus

#: Seconds before a batch's expiry from which the job offers to finish directly.
GUARD_SECONDS = 2 * 3600
#: Row statuses without an answer: still pending in a batch, never run, or expired.
UNANSWERED: tuple[str, ...] = ("pending", "not_run", "expired")


def unanswered(status: JobStatus) -> int:
    """Rows of the job with no answer (neither `ok` nor an error) yet."""
    return sum(status.counts.get(key, 0) for key in UNANSWERED)


def near_deadline(status: JobStatus, now: float) -> bool:
    """Whether to offer finishing the job directly: it has unanswered rows, its batch expires
    within GUARD_SECONDS or has expired, and no direct run is finishing it already."""
    if status.direct is not None and status.direct.state not in ("done", "none"):
        return False
    if not unanswered(status):
        return False
    if any(batch.status == "expired" for batch in status.batches):
        return True
    return status.expires_at is not None and status.expires_at - now <= GUARD_SECONDS


@dataclass(frozen=True)
class FinishPlan:
    """What finishing a job directly sends."""

    #: The custom_ids of the rows without an answer.
    custom_ids: tuple[str, ...]
    #: Their input tokens.
    input_tokens: int
    #: USD for those tokens at the normal price (0 on a server whose calls are free); None
    #: when the model's price is unknown.
    input_usd: float | None


def rows_without_answer(service: JobService, job_id: str) -> tuple[str, ...]:
    """The custom_ids of the job's rows with no answer yet (pending, not run, expired)."""
    merged = service.merged_table(job_id)
    waiting = merged["status"].isin(("not_run", "expired")).to_numpy(dtype=bool)
    return tuple(str(value) for value in merged["custom_id"].to_numpy(dtype=object)[waiting])


def plan_finish(service: JobService, jobs: DirectJobs, job_id: str) -> FinishPlan:
    """What `finish_directly` would send, and its cost; nothing is changed."""
    chosen = rows_without_answer(service, job_id)
    if not chosen:
        return FinishPlan((), 0, 0.0)
    spec = jobs.plan_rows(job_id, chosen)
    return FinishPlan(chosen, spec.estimated_input_tokens or 0, spec.estimated_cost_usd)


def finish_directly(service: JobService, jobs: DirectJobs, job_id: str) -> int:
    """Cancel the job's running batches and add its rows without an answer as a direct part
    (run it with `jobs.run` or `start_direct_run`); how many rows."""
    chosen = rows_without_answer(service, job_id)
    if not chosen:
        raise InputError(
            _l("Every row of job {job} has its answer: there is nothing to finish.", job=job_id)
        )
    service.cancel(job_id)
    return jobs.add_rows(job_id, chosen)
