"""What cancelling a job or one of its batches loses and keeps, counted from its last status."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.jobs.status import BatchRow, JobStatus


@dataclass(frozen=True)
class CancelEffect:
    """The batches a cancel stops, and the requests it loses and keeps."""

    #: The batches that would be cancelled (running ones only).
    batches: tuple[BatchRow, ...]
    #: Requests of those batches that have not run yet: they will not run.
    lost: int
    #: Requests of those batches already answered: their answers are kept (and billed).
    answered: int
    #: Requests of those batches that already failed (kept with their error).
    failed: int
    #: Rows of the job already answered by batches that are done (untouched by the cancel).
    done_rows: int


def cancel_effect(
    status: JobStatus,
    batch_id: str | None = None,
    terminal: Collection[str] = OPENAI_TERMINAL_STATUSES,
) -> CancelEffect:
    """What cancelling the whole job (or only `batch_id`) would do, as last refreshed."""
    stopping = tuple(
        batch
        for batch in status.batches
        if batch.status not in terminal
        and batch.status != "cancelling"
        and batch_id in (None, batch.id)
    )
    return CancelEffect(
        batches=stopping,
        lost=sum(max(batch.total - batch.completed - batch.failed, 0) for batch in stopping),
        answered=sum(batch.completed for batch in stopping),
        failed=sum(batch.failed for batch in stopping),
        done_rows=status.counts.get("ok", 0),
    )


def running_batches(
    status: JobStatus, terminal: Collection[str] = OPENAI_TERMINAL_STATUSES
) -> tuple[BatchRow, ...]:
    """The job's batches a cancel can still stop."""
    return cancel_effect(status, terminal=terminal).batches
