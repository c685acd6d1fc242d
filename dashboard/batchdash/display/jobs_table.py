"""The tables of the Jobs page, built from job statuses (no API call, no Streamlit).

Each frame holds plain values (text, numbers, datetimes) so a table widget can show it as is;
cell text stays text, in the language in use: the pages build a frame on each run, never cache it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import pandas as pd

from batchdash.api.batch_info import BatchInfo
from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.display.status_words import batch_meaning, batch_word, job_word
from batchdash.i18n import _
from batchdash.jobs.status import JobStatus

#: Columns of the jobs table, in order (the model and the parts are in the opened job's line,
#: so the table fits a laptop's page).
JOB_COLUMNS: tuple[str, ...] = (
    "job_id",
    "name",
    "created",
    "status",
    "progress",
    "answered",
    "estimated_cost_usd",
    "actual_cost_usd",
    "time_left",
    # Whether estimated_cost_usd holds answers projected from tried rows (not shown itself).
    "estimate_projected",
)
# Rows of a finished job that got neither an answer nor an error.
_UNANSWERED = ("cancelled", "expired", "not_run", "pending")
#: Columns of a job's batches table, in order.
BATCH_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "part",
    "kind",
    "status",
    "meaning",
    "completed",
    "failed",
    "total",
    "created",
    "expires_in",
)
#: Columns of the validation errors table.
ERROR_COLUMNS: tuple[str, ...] = ("batch_id", "part", "line", "code", "message")
#: Columns of the table of every batch the key can see.
REMOTE_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "status",
    "job_here",
    "created",
    "completed",
    "failed",
    "total",
    "endpoint",
    "expires_in",
)


def time_left(expires_at: int | None, now: float) -> str:
    """How long until `expires_at` (unix seconds): '23 h 05 min', '12 min', 'ended', or ''."""
    if expires_at is None:
        return ""
    seconds = int(expires_at - now)
    if seconds <= 0:
        return _("ended")
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return _("{hours} h {minutes:02d} min", hours=hours, minutes=minutes)
    return _("{minutes} min", minutes=max(minutes, 1))


def answered(status: JobStatus) -> tuple[int, int]:
    """Requests answered so far (with an answer or an error) and all requests of the job.

    A finished job counts its rows; a running one its batches' counts (a part not sent yet
    counts as unanswered rows).
    """
    if status.state == "finished":
        left = sum(status.counts.get(key, 0) for key in _UNANSWERED)
        return status.rows - left, status.rows
    done = sum(min(batch.completed + batch.failed, batch.total) for batch in status.batches)
    return done, max(sum(batch.total for batch in status.batches), status.rows)


def answered_percent(status: JobStatus) -> int:
    """The answered share in whole percent, rounded down: 100 only once every request is."""
    done, total = answered(status)
    return math.floor(100 * done / total) if total else 100


def _answered_words(done: int, total: int) -> str:
    return _("{done:,} of {total:,}", done=done, total=total)


def _moment(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def jobs_frame(
    statuses: Sequence[JobStatus],
    *,
    now: float,
    terminal: Collection[str] = OPENAI_TERMINAL_STATUSES,
) -> pd.DataFrame:
    """One row per job, in the order given (the registry's: newest first).

    `estimated_cost_usd` holds the input plus the answers projected from tried rows when the
    job was made after a try (`estimate_projected`), else the input alone.
    """
    rows = [
        {
            "job_id": status.job_id,
            # Shown beside the others once "Show archived" is on: marked, as in the picker.
            "name": _("{job} (archived)", job=status.name) if status.archived else status.name,
            "created": status.created_at,
            "status": str(job_word(status, terminal)),
            "progress": answered_percent(status),
            "answered": _answered_words(*answered(status)),
            # The projection from tried rows when the job has one, else the input alone.
            "estimated_cost_usd": status.expected_cost_usd
            if status.expected_cost_usd is not None
            else status.estimated_cost_usd,
            "actual_cost_usd": status.actual_cost_usd,
            "time_left": time_left(status.expires_at, now),
            "estimate_projected": status.expected_cost_usd is not None,
        }
        for status in statuses
    ]
    frame = pd.DataFrame(rows, columns=list(JOB_COLUMNS))
    frame["estimate_projected"] = frame["estimate_projected"].astype(bool)
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    for column in ("estimated_cost_usd", "actual_cost_usd"):
        frame[column] = frame[column].astype("float64")
    frame["progress"] = frame["progress"].astype("int64")
    return frame


def filter_jobs(frame: pd.DataFrame, *, words: Collection[str], search: str) -> pd.DataFrame:
    """The jobs whose status is one of `words` (all when empty) and whose name holds `search`."""
    keep = pd.Series(True, index=frame.index)
    if words:
        keep &= frame["status"].isin(list(words))
    needle = search.strip().casefold()
    if needle:
        keep &= frame["name"].str.casefold().str.contains(needle, regex=False)
    return frame[keep]


def part_kind_word(kind: str) -> str:
    """How a batch came to the job, in the language in use."""
    words = {
        "initial": _("first send"),
        "repair": _("repair"),
        "attached": _("attached"),
        "imported": _("imported"),
        "direct": _("direct"),
    }
    return words.get(kind, kind)


def batches_frame(
    status: JobStatus,
    *,
    now: float,
    terminal: Collection[str] = OPENAI_TERMINAL_STATUSES,
) -> pd.DataFrame:
    """One row per batch of the job, by part number, with what its status means."""
    rows = [
        {
            "batch_id": batch.id,
            "part": batch.part_number,
            "kind": part_kind_word(batch.kind),
            "status": str(batch_word(batch.status)),
            "meaning": str(batch_meaning(batch.status)),
            "completed": batch.completed,
            "failed": batch.failed,
            "total": batch.total,
            "created": _moment(batch.created_at),
            "expires_in": time_left(batch.expires_at, now) if batch.status not in terminal else "",
        }
        for batch in status.batches
    ]
    frame = pd.DataFrame(rows, columns=list(BATCH_COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame


def batch_errors_frame(status: JobStatus) -> pd.DataFrame:
    """The validation errors of the job's batches, with the input-file line each names."""
    rows = [
        {
            "batch_id": batch.id,
            "part": batch.part_number,
            "line": error.line,
            "code": error.code or "",
            "message": error.message or "",
        }
        for batch in status.batches
        for error in batch.errors
    ]
    frame = pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
    frame["line"] = frame["line"].astype("Int64")
    return frame


def remote_frame(
    batches: Sequence[tuple[BatchInfo, str | None]],
    job_names: dict[str, str],
    *,
    now: float,
) -> pd.DataFrame:
    """Every batch the key can see, newest first, with the name of its job here ('' if none)."""
    rows = [
        {
            "batch_id": info.id,
            "status": str(batch_word(info.status)),
            "job_here": job_names.get(job_id, job_id) if job_id else "",
            "created": _moment(info.created_at),
            "completed": info.completed,
            "failed": info.failed,
            "total": info.total,
            "endpoint": info.endpoint,
            "expires_in": "" if info.terminal else time_left(info.expires_at, now),
        }
        for info, job_id in batches
    ]
    frame = pd.DataFrame(rows, columns=list(REMOTE_COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame
