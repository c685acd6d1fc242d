"""What the registry hands out: jobs, parts, claims, snapshots and results as plain records,
and the mappers from its database rows to them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.errors import BatchdashError
from batchdash.recipe import Recipe
from batchdash.registry.models import JobModel, PartModel, SnapshotModel

#: A job as recorded: "new" until its first part is sent, then "active", then "finished"
#: (jobs.status.JobState is what an analyst sees: a new job counts as active there).
JobRecordState = Literal["new", "active", "finished"]
PartKind = Literal["initial", "repair", "attached", "imported", "direct"]
#: A batch part moves planned -> uploaded -> created (or failed); "exported": written out to
#: run elsewhere (vLLM's run-batch), never sent, its batch the file imported back (`created`
#: then, like a sent part); a direct part is "sending" while rows wait for an answer,
#: "cancelling" once a cancel was asked, "done" when every row has its line.
PartState = Literal[
    "planned", "uploaded", "created", "failed", "exported", "sending", "cancelling", "done"
]
ResultFile = Literal["output", "errors"]

#: Batch statuses after which nothing changes; a snapshot in one is never replaced by an older,
#: non-terminal one that a slower replica fetched earlier.

#: How long a claim on a part (or a job's sender) holds when its holder says nothing more: a
#: submitter renews it every few seconds while it works (its heartbeat), so a holder that
#: stopped on another machine is recognised within this time; one on this machine at once
#: (`registry.holders`).
DEFAULT_LEASE = timedelta(seconds=45)


class PartConflict(BatchdashError):
    """A part changed under the caller: another submitter claimed it or it already has a batch."""


@dataclass(frozen=True)
class Job:
    """A saved job as the registry holds it."""

    #: `job_` and 12 hex digits.
    id: str
    #: Owner: key fingerprint, plus the signed-in user when login is on.
    scope: str
    #: The analyst's name for the job.
    name: str
    #: "new" (no batch yet), "active" or "finished".
    state: str
    #: Hidden from the list of jobs, kept in the registry.
    archived: bool
    #: How every row becomes a request.
    recipe: Recipe
    #: File name the rows came from ("" when typed in the page).
    source_name: str
    #: Input column names in their original order.
    columns: tuple[str, ...]
    #: Number of input rows.
    rows: int
    #: When the job was saved.
    created_at: datetime
    #: When the job itself last changed (state, name, archive flag, rows).
    updated_at: datetime
    #: Digest of its rows and recipe (None for a job saved before fingerprints were kept).
    fingerprint: str | None = None
    #: The process sending its parts (`registry.holders`), if one said so.
    sender: str | None = None
    #: Until when that sender holds the job unless its heartbeat renews it.
    sender_until: datetime | None = None


@dataclass(frozen=True)
class PartSpec:
    """What a new part covers, as planned before any API call."""

    #: Number of requests (lines) in the part's input file.
    requests: int
    #: "initial" (a row range of the job), "repair" (listed custom_ids), "attached", or
    #: "direct" (its rows sent one call each to the synchronous route: `batchdash.direct`).
    kind: PartKind = "initial"
    #: First input row, 0-based inclusive; None when the part lists custom_ids instead.
    first_row: int | None = None
    #: Row after the last one, 0-based exclusive.
    stop_row: int | None = None
    #: The custom_ids a repair part re-runs.
    custom_ids: tuple[str, ...] = ()
    #: Exact input tokens counted by the preflight.
    estimated_input_tokens: int | None = None
    #: Estimated cost at batch price; None when the model's price is unknown.
    estimated_cost_usd: float | None = None
    #: Output tokens of the answers projected from tried rows; None without a try.
    estimated_output_tokens: float | None = None


@dataclass(frozen=True)
class Part:
    """One part of a job and how far its submission got."""

    #: Registry id of the part.
    id: int
    #: The job it belongs to.
    job_id: str
    #: 1-based, unique in the job; repairs come after the parts they repair.
    number: int
    #: "initial", "repair", "attached" or "direct".
    kind: str
    #: First input row, 0-based inclusive (None for repairs).
    first_row: int | None
    #: Row after the last one (None for repairs).
    stop_row: int | None
    #: The custom_ids a repair part re-runs (empty for row ranges).
    custom_ids: tuple[str, ...]
    #: Number of requests in the part.
    requests: int
    #: "planned", "uploaded", "created" or "failed".
    state: str
    #: Uploaded input file, once uploaded.
    input_file_id: str | None
    #: The batch, once created.
    batch_id: str | None
    #: Exact input tokens counted by the preflight.
    estimated_input_tokens: int | None
    #: Estimated cost at batch price.
    estimated_cost_usd: float | None
    #: Why submission failed, for a failed part.
    error: str | None
    #: Until when a submitter holds the part (None: nobody does).
    claim_expires_at: datetime | None
    #: When the part was planned.
    created_at: datetime
    #: When its input file was recorded.
    uploaded_at: datetime | None
    #: When its batch was recorded.
    submitted_at: datetime | None
    #: When a create of its batch was sent whose answer was lost (a timeout, a dropped
    #: connection, a 5xx): the server may carry it out late, as a second batch.
    create_doubt_since: datetime | None = None
    #: Batches the API made for the part besides its own, each with what became of it (a
    #: sentence for the analyst), in the order they were found.
    extra_batches: tuple[tuple[str, str], ...] = ()
    #: Output tokens of its answers projected from tried rows; None without a try.
    estimated_output_tokens: float | None = None
    #: The process holding its claim (`registry.holders`).
    claim_holder: str | None = None
    #: A direct part: calls made so far, retries included.
    direct_calls: int = 0
    #: A direct part: calls under way at its runner's last record.
    direct_in_flight: int = 0
    #: A direct part: calls at once its runner allowed at its last record.
    direct_concurrency: int | None = None
    #: A direct part: calls at once its last run was asked for (the most it allows).
    direct_ceiling: int | None = None
    #: Why it waits for room under its model's enqueued-token limit, as (name, value) pairs
    #: (`jobs.token_queue.QueueWait`); None: it does not wait.
    queue_wait: tuple[tuple[str, Any], ...] | None = None


@dataclass(frozen=True)
class Claim:
    """A part held by one submitter; `token` proves it in the `mark_part_*` calls."""

    #: The part as it was when claimed.
    part: Part
    #: Secret of this claim.
    token: str
    #: When the claim this one replaced was made, if the part was held by a submitter that
    #: stopped (its lease ran out or its process is gone); None for a part nobody held.
    taken_over: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    """The latest Batch object seen for one batch."""

    #: The batch.
    batch_id: str
    #: Its part in the registry.
    part_id: int
    #: That part's number in the job.
    part_number: int
    #: Batch status as the API gave it (unknown statuses included).
    status: str
    #: The whole Batch description as saved (JSON values).
    info: dict[str, Any]
    #: When it was saved.
    updated_at: datetime

    @property
    def terminal(self) -> bool:
        """Whether the batch can no longer change, by OpenAI's statuses (a provider's own final
        statuses are the gateway's: see BatchInfo.terminal)."""
        return self.status in OPENAI_TERMINAL_STATUSES


@dataclass(frozen=True)
class LineCounts:
    """A direct part's recorded lines (`registry.direct_lines`), counted."""

    #: Rows answered (HTTP 200).
    ok: int = 0
    #: Rows refused, or failing past the retries.
    error: int = 0
    #: Rows a cancel kept from being sent.
    cancelled: int = 0
    #: Calls those rows took, retries included.
    calls: int = 0

    @property
    def recorded(self) -> int:
        """Rows with their line."""
        return self.ok + self.error + self.cancelled


@dataclass(frozen=True)
class JobRecords:
    """What the registry holds about one job's batches, read together."""

    #: Its parts by number.
    parts: list[Part]
    #: The latest snapshot of each of its batches, by part number.
    snapshots: list[Snapshot]
    #: Its batches whose result files are kept.
    fetched: set[str]
    #: Its direct parts' recorded lines, by part id.
    direct_lines: dict[int, LineCounts] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchedResults:
    """A batch's output and error files as fetched once from the API."""

    #: The batch.
    batch_id: str
    #: Its part in the registry.
    part_id: int
    #: That part's number (results of later parts, e.g. repairs, come later).
    part_number: int
    #: That part's kind.
    part_kind: str
    #: The output file's bytes (b"" when the batch had none).
    output: bytes
    #: The error file's bytes (b"" when the batch had none).
    errors: bytes
    #: When they were fetched.
    fetched_at: datetime


def new_job_id() -> str:
    """A fresh job id: `job_` and 12 hex digits."""
    return "job_" + uuid.uuid4().hex[:12]


def snapshot_record(model: SnapshotModel, part_number: int) -> Snapshot:
    return Snapshot(
        batch_id=model.batch_id,
        part_id=model.part_id,
        part_number=part_number,
        status=model.status,
        info=model.info,
        updated_at=model.updated_at,
    )


def job_record(model: JobModel) -> Job:
    return Job(
        id=model.id,
        scope=model.scope,
        name=model.name,
        state=model.state,
        archived=model.archived,
        recipe=Recipe.from_dict(model.recipe),
        source_name=model.source_name,
        columns=tuple(model.column_names),
        rows=model.row_count,
        created_at=model.created_at,
        updated_at=model.updated_at,
        fingerprint=model.fingerprint,
        sender=model.sender,
        sender_until=model.sender_until,
    )


def part_record(model: PartModel) -> Part:
    return Part(
        id=model.id,
        job_id=model.job_id,
        number=model.number,
        kind=model.kind,
        first_row=model.first_row,
        stop_row=model.stop_row,
        custom_ids=tuple(model.custom_ids or ()),
        requests=model.requests,
        state=model.state,
        input_file_id=model.input_file_id,
        batch_id=model.batch_id,
        estimated_input_tokens=model.estimated_input_tokens,
        estimated_cost_usd=model.estimated_cost_usd,
        error=model.error,
        estimated_output_tokens=model.estimated_output_tokens,
        claim_expires_at=model.claim_expires_at,
        created_at=model.created_at,
        uploaded_at=model.uploaded_at,
        submitted_at=model.submitted_at,
        create_doubt_since=model.create_doubt_since,
        extra_batches=tuple((model.extra_batches or {}).items()),
        claim_holder=model.claim_holder,
        direct_calls=model.direct_calls or 0,
        direct_in_flight=model.direct_in_flight or 0,
        direct_concurrency=model.direct_concurrency,
        direct_ceiling=model.direct_ceiling,
        queue_wait=None if model.queue_wait is None else tuple(sorted(model.queue_wait.items())),
    )
