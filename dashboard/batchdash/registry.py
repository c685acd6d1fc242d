"""The job registry: jobs and their rows, parts, batch snapshots and fetched results.

An SQLite file by default, PostgreSQL when several app replicas share one database. Every method
is one short transaction, so a crash loses at most the step in flight. Nothing here calls the
API. The API key is never stored: jobs carry a scope made from its fingerprint
(`settings.owner_scope`).

Submission is made idempotent by the part's states, each recorded before the next API call:
planned -> uploaded (input file id) -> created (batch id). A submitter first claims the part:
the claim is a conditional UPDATE, so exactly one process or thread wins it, and it carries a
lease so a crashed submitter's claim runs out.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from batchdash.errors import BatchdashError, InputError
from batchdash.recipe import Recipe
from batchdash.registry_blobs import (
    CHUNK_CODEC,
    TABLE_CODEC,
    blob_to_frame,
    compress_lines,
    decompress_chunk,
    frame_to_blob,
    text_frame,
)
from batchdash.registry_engine import WRITE_OPTION, make_engine
from batchdash.registry_migrations import upgrade
from batchdash.registry_models import (
    JobModel,
    JobRowsModel,
    MergedModel,
    PartModel,
    ResultChunkModel,
    ResultModel,
    SnapshotModel,
)
from batchdash.settings import Settings

JobState = Literal["new", "active", "finished"]
PartKind = Literal["initial", "repair", "attached"]
PartState = Literal["planned", "uploaded", "created", "failed"]
ResultFile = Literal["output", "errors"]

#: Batch statuses after which nothing changes; a snapshot in one is never replaced by an older,
#: non-terminal one that a slower replica fetched earlier.
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})

#: How long a claim on a part holds when its holder says nothing more.
DEFAULT_LEASE = timedelta(minutes=10)

_OPEN_STATES = ("planned", "uploaded")
_TERMINAL_ORDER = sorted(TERMINAL_STATUSES)


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


@dataclass(frozen=True)
class PartSpec:
    """What a new part covers, as planned before any API call."""

    #: Number of requests (lines) in the part's input file.
    requests: int
    #: "initial" (a row range of the job), "repair" (listed custom_ids) or "attached".
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
    #: "initial", "repair" or "attached".
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


@dataclass(frozen=True)
class Claim:
    """A part held by one submitter; `token` proves it in the `mark_part_*` calls."""

    #: The part as it was when claimed.
    part: Part
    #: Secret of this claim.
    token: str


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
        """Whether the batch can no longer change."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class JobRecords:
    """What the registry holds about one job's batches, read together."""

    #: Its parts by number.
    parts: list[Part]
    #: The latest snapshot of each of its batches, by part number.
    snapshots: list[Snapshot]
    #: Its batches whose result files are kept.
    fetched: set[str]


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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """The registry on one database; cheap to share between threads (one engine, short transactions)."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        """Open (and create or upgrade) the registry at `url`; raises RegistryError."""
        self._engine = make_engine(url)
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        try:
            #: Schema version of the database, after any upgrade.
            self.schema_version = upgrade(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """The registry that `BATCHDASH_DB_URL` (or its default) names."""
        return cls(settings.db_url)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """The backend: "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    # -- jobs ---------------------------------------------------------------------------------

    def create_job(
        self,
        scope: str,
        name: str,
        recipe: Recipe,
        frame: pd.DataFrame,
        *,
        source_name: str = "",
        parts: Sequence[PartSpec] = (),
        state: JobState = "new",
    ) -> Job:
        """Save a job with its rows (as text) and its planned parts, numbered 1.., in one step."""
        rows = text_frame(frame)
        blob = frame_to_blob(rows)
        now = self._clock()
        job = JobModel(
            id=new_job_id(),
            scope=scope,
            name=name,
            state=state,
            archived=False,
            recipe=recipe.to_dict(),
            source_name=source_name,
            column_names=list(rows.columns),
            row_count=len(rows),
            created_at=now,
            updated_at=now,
        )
        with self._write() as session:
            session.add(job)
            session.flush()  # the job row first: its rows and parts refer to it
            session.add(JobRowsModel(job_id=job.id, codec=TABLE_CODEC, data=blob))
            for number, spec in enumerate(parts, start=1):
                session.add(_part_model(job.id, number, spec, now))
            return _job(job)

    def get_job(self, job_id: str, scope: str) -> Job:
        """The job, if it belongs to `scope`; raises InputError otherwise."""
        with self._read() as session:
            job = session.get(JobModel, job_id)
            if job is None or job.scope != scope:
                raise InputError(
                    f"There is no job {job_id} for this API key; pick one from the list of jobs."
                )
            return _job(job)

    def list_jobs(self, scope: str, *, include_archived: bool = False) -> list[Job]:
        """The scope's jobs, newest first."""
        query = select(JobModel).where(JobModel.scope == scope)
        if not include_archived:
            query = query.where(JobModel.archived.is_(False))
        query = query.order_by(JobModel.created_at.desc(), JobModel.id.desc())
        with self._read() as session:
            return [_job(job) for job in session.scalars(query)]

    def archive_job(self, job_id: str, scope: str, archived: bool = True) -> Job:
        """Hide the job from the list (or show it again); nothing is deleted."""
        self.get_job(job_id, scope)
        self._update_job(job_id, archived=archived)
        return self.get_job(job_id, scope)

    def set_job_state(self, job_id: str, state: JobState) -> None:
        """Record the job's overall state (the job service derives it from its parts)."""
        self._update_job(job_id, state=state)

    def rename_job(self, job_id: str, name: str) -> None:
        """Give the job another name."""
        self._update_job(job_id, name=name)

    def job_rows(self, job_id: str) -> pd.DataFrame:
        """The job's input rows: text cells, original columns, index 0..n-1."""
        with self._read() as session:
            stored = session.get(JobRowsModel, job_id)
            if stored is None:
                raise KeyError(job_id)
            blob = stored.data
        return blob_to_frame(blob)

    def replace_job_rows(
        self, job_id: str, frame: pd.DataFrame, *, source_name: str | None = None
    ) -> None:
        """Put other rows under the job (e.g. the CSV behind an attached batch)."""
        rows = text_frame(frame)
        blob = frame_to_blob(rows)
        with self._write() as session:
            stored = session.get(JobRowsModel, job_id)
            job = session.get(JobModel, job_id)
            if stored is None or job is None:
                raise KeyError(job_id)
            stored.data = blob
            job.column_names = list(rows.columns)
            job.row_count = len(rows)
            job.source_name = job.source_name if source_name is None else source_name
            job.updated_at = self._clock()
            session.execute(delete(MergedModel).where(MergedModel.job_id == job_id))

    def _update_job(self, job_id: str, **values: Any) -> None:
        statement = update(JobModel).where(JobModel.id == job_id)
        with self._write() as session:
            if not _rowcount(session, statement.values(**values, updated_at=self._clock())):
                raise KeyError(job_id)

    # -- parts --------------------------------------------------------------------------------

    def add_part(self, job_id: str, spec: PartSpec, *, number: int | None = None) -> Part:
        """Plan one more part; with `number`, an existing part of that number is returned as is."""
        for _attempt in range(5):
            try:
                with self._write() as session:
                    if number is not None:
                        existing = session.scalar(
                            select(PartModel).where(
                                PartModel.job_id == job_id, PartModel.number == number
                            )
                        )
                        if existing is not None:
                            return _part(existing)
                    chosen = number or 1 + (
                        session.scalar(
                            select(func.max(PartModel.number)).where(PartModel.job_id == job_id)
                        )
                        or 0
                    )
                    model = _part_model(job_id, chosen, spec, self._clock())
                    session.add(model)
                    session.flush()
                    return _part(model)
            except IntegrityError:
                continue  # a concurrent writer took that number: look again
        raise PartConflict(f"Job {job_id} kept changing while a part was added; try again.")

    def part(self, part_id: int) -> Part:
        """One part by its registry id."""
        with self._read() as session:
            model = session.get(PartModel, part_id)
            if model is None:
                raise KeyError(part_id)
            return _part(model)

    def part_for_batch(self, batch_id: str) -> Part | None:
        """The part a batch belongs to, if any."""
        with self._read() as session:
            model = session.scalar(select(PartModel).where(PartModel.batch_id == batch_id))
            return None if model is None else _part(model)

    def batches_of_other_scopes(self, batch_ids: Iterable[str], scope: str) -> set[str]:
        """Those of `batch_ids` that belong to a job of a scope other than `scope`."""
        wanted = list(dict.fromkeys(batch_ids))
        found: set[str] = set()
        with self._read() as session:
            for start in range(0, len(wanted), 500):  # far below any bound-parameter limit
                query = (
                    select(PartModel.batch_id)
                    .join(JobModel, JobModel.id == PartModel.job_id)
                    .where(PartModel.batch_id.in_(wanted[start : start + 500]))
                    .where(JobModel.scope != scope)
                )
                found.update(batch for batch in session.scalars(query) if batch is not None)
        return found

    def parts(self, job_id: str) -> list[Part]:
        """The job's parts by number."""
        query = select(PartModel).where(PartModel.job_id == job_id).order_by(PartModel.number)
        with self._read() as session:
            return [_part(model) for model in session.scalars(query)]

    def job_records(self, job_ids: Sequence[str]) -> dict[str, JobRecords]:
        """Parts, snapshots and kept results of several jobs in one transaction.

        Three queries for any number of jobs: the Jobs page reads every unfinished job this way
        at each refresh, where a few queries per job (each a round trip, on PostgreSQL) made up
        most of a refresh's time."""
        records = {job_id: JobRecords([], [], set()) for job_id in job_ids}
        wanted = list(records)
        with self._read() as session:
            for start in range(0, len(wanted), 500):  # far below any bound-parameter limit
                chunk = wanted[start : start + 500]
                parts = select(PartModel).where(PartModel.job_id.in_(chunk))
                for model in session.scalars(parts.order_by(PartModel.number)):
                    records[model.job_id].parts.append(_part(model))
                snapshots = _snapshot_query(PartModel.job_id.in_(chunk)).add_columns(
                    PartModel.job_id
                )
                for model, number, job_id in session.execute(snapshots):
                    records[job_id].snapshots.append(_snapshot(model, number))
                kept = (
                    select(ResultModel.batch_id, PartModel.job_id)
                    .join(PartModel, ResultModel.part_id == PartModel.id)
                    .where(PartModel.job_id.in_(chunk))
                )
                for batch_id, job_id in session.execute(kept):
                    records[job_id].fetched.add(batch_id)
        return records

    def claim_part(self, part_id: int, *, lease: timedelta = DEFAULT_LEASE) -> str | None:
        """Hold an unsubmitted part for `lease`; its claim token, or None if someone holds it or it is done."""
        token = uuid.uuid4().hex
        now = self._clock()
        with self._write() as session:
            claimed = _rowcount(session, _claim(part_id, token, now, lease))
        return token if claimed else None

    def claim_next_part(self, job_id: str, *, lease: timedelta = DEFAULT_LEASE) -> Claim | None:
        """Hold the job's lowest-numbered part that nobody holds and that has no batch yet."""
        token = uuid.uuid4().hex
        now = self._clock()
        tried: list[int] = []
        with self._write() as session:
            # One candidate at a time: PostgreSQL locks what it selects, and a concurrent claimer
            # must skip only the part being claimed, not every part (it would think none is left).
            while (
                part_id := session.scalar(
                    select(PartModel.id)
                    .where(PartModel.job_id == job_id, _claimable(now), PartModel.id.not_in(tried))
                    .order_by(PartModel.number)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ) is not None:
                if _rowcount(session, _claim(part_id, token, now, lease)):
                    model = session.get(PartModel, part_id, populate_existing=True)
                    assert model is not None
                    return Claim(part=_part(model), token=token)
                tried.append(part_id)
        return None

    def release_part(self, part_id: int, claim: str) -> None:
        """Give a claimed part back (e.g. after an error worth retrying later)."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.claim_token == claim)
            .values(claim_token=None, claimed_at=None, claim_expires_at=None)
        )
        with self._write() as session:
            session.execute(statement)

    def mark_part_uploaded(self, part_id: int, file_id: str, *, claim: str | None = None) -> Part:
        """Record the part's uploaded input file; repeating the same call changes nothing."""
        now = self._clock()
        values = {"state": "uploaded", "input_file_id": file_id, "uploaded_at": now}
        # A repeat must not touch `uploaded_at`; a new file id (a re-upload) replaces the old one.
        repeat = (PartModel.state == "uploaded") & (PartModel.input_file_id == file_id)
        return self._advance(
            part_id,
            values,
            claim,
            done=lambda part: part.state == "uploaded" and part.input_file_id == file_id,
            unless=repeat,
        )

    def mark_part_created(self, part_id: int, batch_id: str, *, claim: str | None = None) -> Part:
        """Record the part's batch and end its claim; raises PartConflict if it has another batch."""
        values = {"state": "created", "batch_id": batch_id, "submitted_at": self._clock()}
        return self._advance(
            part_id,
            {**values, **_NO_CLAIM},
            claim,
            done=lambda part: part.state == "created" and part.batch_id == batch_id,
        )

    def mark_part_failed(self, part_id: int, error: str, *, claim: str | None = None) -> Part:
        """Record that the part could not be submitted, and why; ends its claim."""
        values = {"state": "failed", "error": error, **_NO_CLAIM}
        return self._advance(
            part_id, values, claim, done=lambda part: part.state == "failed" and part.error == error
        )

    def note_create_doubt(self, part_id: int, sent_at: datetime) -> None:
        """Record that a create of the part's batch, sent at `sent_at`, lost its answer; the
        earliest such moment is kept."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.create_doubt_since.is_(None))
            .values(create_doubt_since=sent_at, updated_at=self._clock())
        )
        with self._write() as session:
            session.execute(statement)

    def note_extra_batch(self, part_id: int, batch_id: str, note: str) -> bool:
        """Record a batch the API made for the part besides its own, and what became of it;
        False when it was noted already (by another replica, say).

        The job's `updated_at` moves too, so a kept status of a finished job is worked out
        again and shows the note."""
        now = self._clock()
        with self._write() as session:
            model = session.get(PartModel, part_id, with_for_update=True)
            if model is None:
                raise KeyError(part_id)
            noted = dict(model.extra_batches or {})
            if batch_id in noted:
                return False
            model.extra_batches = {**noted, batch_id: note}
            model.updated_at = now
            session.execute(
                update(JobModel).where(JobModel.id == model.job_id).values(updated_at=now)
            )
        return True

    def _advance(
        self,
        part_id: int,
        values: Mapping[str, Any],
        claim: str | None,
        *,
        done: Callable[[Part], bool],
        unless: ColumnElement[bool] | None = None,
    ) -> Part:
        # Only a part without a batch moves, and only for its claim holder when a claim is given.
        conditions: list[ColumnElement[bool]] = [
            PartModel.id == part_id,
            PartModel.state.in_(_OPEN_STATES),
        ]
        if unless is not None:
            conditions.append(~unless)
        if claim is not None:
            conditions.append(PartModel.claim_token == claim)
        statement = update(PartModel).where(*conditions).values(**values, updated_at=self._clock())
        try:
            with self._write() as session:
                moved = _rowcount(session, statement)
        except IntegrityError:
            raise PartConflict(
                f"Batch {values.get('batch_id')} already belongs to another part; refresh the job."
            ) from None
        part = self.part(part_id)
        if moved or done(part):
            return part
        raise PartConflict(
            f"Part {part.number} of job {part.job_id} was taken over by another submitter "
            f"(it is {part.state}); refresh the job to see its batch."
        )

    # -- batch snapshots ----------------------------------------------------------------------

    def save_snapshot(self, batch_id: str, info: Mapping[str, Any]) -> None:
        """Save the latest Batch description (JSON-ready, with a "status") of a part's batch."""
        self.save_snapshots({batch_id: info})

    def save_snapshots(self, infos: Mapping[str, Mapping[str, Any]]) -> None:
        """Save several batches' descriptions in one transaction."""
        if not infos:
            return
        now = self._clock()
        with self._write() as session:
            owners = select(PartModel.batch_id, PartModel.id).where(PartModel.batch_id.in_(infos))
            part_ids = {batch_id: part_id for batch_id, part_id in session.execute(owners)}
            rows = []
            for batch_id, info in infos.items():
                if batch_id not in part_ids:
                    raise ValueError(f"batch {batch_id} belongs to no part of the registry")
                status = info.get("status")
                if not isinstance(status, str):
                    raise ValueError(f"the description of batch {batch_id} has no status")
                rows.append(
                    {
                        "batch_id": batch_id,
                        "part_id": part_ids[batch_id],
                        "status": status,
                        "info": json.loads(json.dumps(dict(info))),
                        "updated_at": now,
                    }
                )
            # One statement for all rows (a refresh of 20 batches writes in one round trip);
            # executemany takes no expanding IN, hence the terminal statuses spelled out.
            statement = _dialect_insert(session, SnapshotModel)
            new = statement.excluded
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[SnapshotModel.batch_id],
                    set_={"status": new.status, "info": new.info, "updated_at": new.updated_at},
                    where=or_(
                        and_(*(SnapshotModel.status != status for status in _TERMINAL_ORDER)),
                        or_(*(new.status == status for status in _TERMINAL_ORDER)),
                    ),
                ),
                rows,
            )

    def snapshot(self, batch_id: str) -> Snapshot | None:
        """The latest saved description of one batch."""
        found = self._snapshots(SnapshotModel.batch_id == batch_id)
        return found[0] if found else None

    def snapshots(self, job_id: str) -> list[Snapshot]:
        """The latest saved description of each of the job's batches, by part number."""
        return self._snapshots(PartModel.job_id == job_id)

    def _snapshots(self, condition: ColumnElement[bool]) -> list[Snapshot]:
        with self._read() as session:
            return [
                _snapshot(model, number)
                for model, number in session.execute(_snapshot_query(condition))
            ]

    # -- fetched results ----------------------------------------------------------------------

    def save_results(
        self, batch_id: str, output: bytes | Path | None, errors: bytes | Path | None
    ) -> bool:
        """Keep a batch's output and error files (bytes, or files on disk); False if already kept."""
        if self.has_results(batch_id):
            return False
        # Compress before the transaction: SQLite holds its write lock for the whole of it.
        pieces = {"output": compress_lines(output), "errors": compress_lines(errors)}
        with self._write() as session:
            part_id = session.scalar(select(PartModel.id).where(PartModel.batch_id == batch_id))
            if part_id is None:
                raise ValueError(f"batch {batch_id} belongs to no part of the registry")
            header = _dialect_insert(session, ResultModel).values(
                batch_id=batch_id,
                part_id=part_id,
                output_size=sum(chunk.raw_size for chunk in pieces["output"]),
                errors_size=sum(chunk.raw_size for chunk in pieces["errors"]),
                fetched_at=self._clock(),
            )
            # RETURNING says whether the row went in: PostgreSQL's driver gives no rowcount
            # (-1) for an INSERT ... ON CONFLICT DO NOTHING.
            stored = session.execute(
                header.on_conflict_do_nothing().returning(ResultModel.batch_id)
            ).first()
            if stored is None:
                return False  # another replica stored them first
            chunks = [
                {
                    "batch_id": batch_id,
                    "which": which,
                    "seq": seq,
                    "codec": CHUNK_CODEC,
                    "raw_size": chunk.raw_size,
                    "data": chunk.data,
                }
                for which, chunks in pieces.items()
                for seq, chunk in enumerate(chunks)
            ]
            if chunks:
                session.execute(insert(ResultChunkModel), chunks)
        return True

    def has_results(self, batch_id: str) -> bool:
        """Whether the batch's files were fetched already."""
        with self._read() as session:
            return session.get(ResultModel, batch_id) is not None

    def results(self, job_id: str) -> list[FetchedResults]:
        """Every fetched batch of the job with its files' bytes, by part number."""
        headers = (
            select(ResultModel, PartModel.number, PartModel.kind)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
            .order_by(PartModel.number)
        )
        chunks = (
            select(
                ResultChunkModel.batch_id,
                ResultChunkModel.which,
                ResultChunkModel.raw_size,
                ResultChunkModel.data,
            )
            .join(ResultModel, ResultChunkModel.batch_id == ResultModel.batch_id)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
            .order_by(ResultChunkModel.batch_id, ResultChunkModel.which, ResultChunkModel.seq)
        )
        with self._read() as session:
            found = [
                (model.batch_id, model.part_id, number, kind, model.fetched_at)
                for model, number, kind in session.execute(headers)
            ]
            stored = session.execute(chunks).all()
        pieces: dict[tuple[str, str], list[bytes]] = {}
        for batch_id, which, raw_size, data in stored:
            pieces.setdefault((batch_id, which), []).append(decompress_chunk(raw_size, data))
        return [
            FetchedResults(
                batch_id=batch_id,
                part_id=part_id,
                part_number=number,
                part_kind=kind,
                output=b"".join(pieces.get((batch_id, "output"), [])),
                errors=b"".join(pieces.get((batch_id, "errors"), [])),
                fetched_at=fetched_at,
            )
            for batch_id, part_id, number, kind, fetched_at in found
        ]

    def result_chunks(self, batch_id: str, which: ResultFile) -> Iterator[bytes]:
        """One kept file as runs of whole lines, read one stored chunk at a time."""
        key = (ResultChunkModel.batch_id == batch_id, ResultChunkModel.which == which)
        with self._read() as session:
            seqs = list(
                session.scalars(
                    select(ResultChunkModel.seq).where(*key).order_by(ResultChunkModel.seq)
                )
            )
        for seq in seqs:
            with self._read() as session:
                raw_size, data = session.execute(
                    select(ResultChunkModel.raw_size, ResultChunkModel.data).where(
                        *key, ResultChunkModel.seq == seq
                    )
                ).one()
            yield decompress_chunk(raw_size, data)

    # -- merged-table cache -------------------------------------------------------------------

    def save_merged(self, job_id: str, frame: pd.DataFrame, batch_ids: Iterable[str]) -> bool:
        """Cache the job's merged table made from these fetched batches; False if it cannot be stored."""
        try:
            blob = frame_to_blob(frame)
        except (pa.ArrowException, TypeError, ValueError):
            return False  # cells Parquet cannot type: merging again is always possible
        with self._write() as session:
            statement = _dialect_insert(session, MergedModel).values(
                job_id=job_id,
                batch_ids=sorted(batch_ids),
                codec=TABLE_CODEC,
                data=blob,
                saved_at=self._clock(),
            )
            new = statement.excluded
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[MergedModel.job_id],
                    set_={"batch_ids": new.batch_ids, "data": new.data, "saved_at": new.saved_at},
                )
            )
        return True

    def merged(self, job_id: str) -> pd.DataFrame | None:
        """The cached merged table, or None when there is none or batches were fetched since."""
        fetched = (
            select(ResultModel.batch_id)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
        )
        with self._read() as session:
            cached = session.get(MergedModel, job_id)
            if cached is None or cached.batch_ids != sorted(session.scalars(fetched)):
                return None
            blob = cached.data
        return blob_to_frame(blob)

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._writer) as session, session.begin():
            yield session


_NO_CLAIM: dict[str, Any] = {"claim_token": None, "claimed_at": None, "claim_expires_at": None}


def _claimable(now: datetime) -> ColumnElement[bool]:
    return PartModel.state.in_(_OPEN_STATES) & or_(
        PartModel.claim_token.is_(None), PartModel.claim_expires_at < now
    )


def _claim(part_id: int, token: str, now: datetime, lease: timedelta) -> Update:
    # One conditional UPDATE: the database lets exactly one of several racing claimers match.
    return (
        update(PartModel)
        .where(PartModel.id == part_id, _claimable(now))
        .values(claim_token=token, claimed_at=now, claim_expires_at=now + lease, updated_at=now)
    )


def _rowcount(session: Session, statement: Any) -> int:
    # Our sessions live for one transaction, so the ORM need not mirror updates into objects.
    options = {"synchronize_session": False} if isinstance(statement, Update) else {}
    result = cast(CursorResult[Any], session.execute(statement, execution_options=options))
    return result.rowcount


def _dialect_insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _part_model(job_id: str, number: int, spec: PartSpec, now: datetime) -> PartModel:
    return PartModel(
        job_id=job_id,
        number=number,
        kind=spec.kind,
        first_row=spec.first_row,
        stop_row=spec.stop_row,
        custom_ids=list(spec.custom_ids) if spec.custom_ids else None,
        requests=spec.requests,
        state="planned",
        estimated_input_tokens=spec.estimated_input_tokens,
        estimated_cost_usd=spec.estimated_cost_usd,
        estimated_output_tokens=spec.estimated_output_tokens,
        created_at=now,
        updated_at=now,
    )


def _snapshot_query(condition: ColumnElement[bool]) -> Select[SnapshotModel, int]:
    return (
        select(SnapshotModel, PartModel.number)
        .join(PartModel, SnapshotModel.part_id == PartModel.id)
        .where(condition)
        .order_by(PartModel.number)
    )


def _snapshot(model: SnapshotModel, part_number: int) -> Snapshot:
    return Snapshot(
        batch_id=model.batch_id,
        part_id=model.part_id,
        part_number=part_number,
        status=model.status,
        info=model.info,
        updated_at=model.updated_at,
    )


def _job(model: JobModel) -> Job:
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
    )


def _part(model: PartModel) -> Part:
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
    )
