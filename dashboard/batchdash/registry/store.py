"""The job registry: jobs and their rows, parts, batch snapshots and fetched results.

An SQLite file by default, PostgreSQL when several app replicas share one database. Every method
is one short transaction, so a crash loses at most the step in flight. Nothing here calls the
API. The API key is never stored: jobs carry a scope made from its fingerprint
(`settings.owner_scope`).

Submission is made idempotent by the part's states, each recorded before the next API call:
planned -> uploaded (input file id) -> created (batch id). A submitter first claims the part:
the claim is a conditional UPDATE, so exactly one process or thread wins it. It names its holder
(`holders`: machine, pid, process start) and carries a short lease the submitter renews while it
works: a claim whose holder is gone from this machine is free at once, any other one once its
lease runs out. A job records its sender the same way, so that a refresh can tell a submission
under way from one that stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.recipe import Recipe
from batchdash.registry.blobs import (
    TABLE_CODEC,
    blob_to_frame,
    frame_to_blob,
    text_frame,
)
from batchdash.registry.claims import (
    NO_CLAIM,
    OPEN_STATES,
    claim_statement,
    claimable,
    gone_holders,
    rowcount,
)
from batchdash.registry.direct_lines import DIRECT_KIND, SENDING, DirectLines, line_counts
from batchdash.registry.file_deletions import FileDeletions
from batchdash.registry.fingerprints import job_fingerprint
from batchdash.registry.holders import this_run
from batchdash.registry.kept import snapshot_query
from batchdash.registry.models import (
    JobModel,
    JobRowsModel,
    MergedModel,
    PartModel,
    ResultModel,
)
from batchdash.registry.notifications import NotificationOutbox
from batchdash.registry.offline import OfflineParts
from batchdash.registry.preferences import Preferences
from batchdash.registry.queued_parts import QueuedParts
from batchdash.registry.records import (
    DEFAULT_LEASE,
    Claim,
    Job,
    JobRecords,
    JobRecordState,
    Part,
    PartConflict,
    PartSpec,
    job_record,
    new_job_id,
    part_record,
    snapshot_record,
)
from batchdash.registry.saved_recipes import SavedRecipes
from batchdash.registry.watch_claims import WatchClaims
from batchdash.settings import Settings


class Registry(
    OfflineParts,
    DirectLines,
    Preferences,
    NotificationOutbox,
    SavedRecipes,
    FileDeletions,
    WatchClaims,
    QueuedParts,
):
    """The registry on one database; cheap to share between threads (one engine, short transactions)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """The registry that `BATCHDASH_DB_URL` (or its default) names."""
        return cls(settings.db_url)

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
        state: JobRecordState = "new",
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
            fingerprint=job_fingerprint(rows, recipe),
        )
        with self._write() as session:
            session.add(job)
            session.flush()  # the job row first: its rows and parts refer to it
            session.add(JobRowsModel(job_id=job.id, codec=TABLE_CODEC, data=blob))
            for number, spec in enumerate(parts, start=1):
                session.add(_part_model(job.id, number, spec, now))
            return job_record(job)

    def get_job(self, job_id: str, scope: str) -> Job:
        """The job, if it belongs to `scope`; raises InputError otherwise."""
        with self._read() as session:
            job = session.get(JobModel, job_id)
            if job is None or job.scope != scope:
                raise InputError(
                    _l(
                        "There is no job {job_id} for this API key; pick one from the list of jobs.",
                        job_id=job_id,
                    )
                )
            return job_record(job)

    def list_jobs(self, scope: str, *, include_archived: bool = False) -> list[Job]:
        """The scope's jobs, newest first."""
        query = select(JobModel).where(JobModel.scope == scope)
        if not include_archived:
            query = query.where(JobModel.archived.is_(False))
        query = query.order_by(JobModel.created_at.desc(), JobModel.id.desc())
        with self._read() as session:
            return [job_record(job) for job in session.scalars(query)]

    def unfinished_jobs_like(self, scope: str, fingerprint: str) -> list[Job]:
        """The scope's unfinished jobs (not archived) of the same rows and recipe, newest first.

        A job saved before fingerprints were kept gets its fingerprint here, once."""
        query = (
            select(JobModel)
            .where(JobModel.scope == scope, JobModel.state != "finished")
            .where(JobModel.archived.is_(False))
            .where(or_(JobModel.fingerprint == fingerprint, JobModel.fingerprint.is_(None)))
            .order_by(JobModel.created_at.desc(), JobModel.id.desc())
        )
        with self._read() as session:
            jobs = [job_record(job) for job in session.scalars(query)]
        for index, job in enumerate(jobs):
            if job.fingerprint is None:
                found = job_fingerprint(self.job_rows(job.id), job.recipe)
                self._set_job(job.id, fingerprint=found)
                jobs[index] = replace(job, fingerprint=found)
        return [job for job in jobs if job.fingerprint == fingerprint]

    def archive_job(self, job_id: str, scope: str, archived: bool = True) -> Job:
        """Hide the job from the list (or show it again); nothing is deleted."""
        self.get_job(job_id, scope)
        self._update_job(job_id, archived=archived)
        return self.get_job(job_id, scope)

    def set_job_state(self, job_id: str, state: JobRecordState) -> None:
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
        self._set_job(job_id, **values, updated_at=self._clock())

    def _set_job(self, job_id: str, **values: Any) -> None:
        # Without `updated_at`: what is kept about a finished job stays valid.
        statement = update(JobModel).where(JobModel.id == job_id)
        with self._write() as session:
            if not rowcount(session, statement.values(**values)):
                raise KeyError(job_id)

    # -- senders ------------------------------------------------------------------------------

    def start_sending(self, job_id: str, holder: str, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """Record that `holder` sends the job's parts now (until `lease` runs out unrenewed)."""
        self._set_job(job_id, sender=holder, sender_until=self._clock() + lease)

    def stop_sending(self, job_id: str, holder: str) -> bool:
        """`holder` sends no more (a sender that took over since is left alone); False when the
        database could not be written: then the hold runs out unrenewed within its lease.

        Called as a submission ends, also by an error: a second error here must not hide it."""
        statement = (
            update(JobModel)
            .where(JobModel.id == job_id, JobModel.sender == holder)
            .values(sender=None, sender_until=None)
        )
        try:
            with self._write() as session:
                session.execute(statement)
        except SQLAlchemyError:
            return False
        return True

    def keep_sending(self, job_id: str, holder: str, *, lease: timedelta = DEFAULT_LEASE) -> int:
        """The heartbeat: renew the job's sender and the part claims of `holder`; how many part
        claims it still holds."""
        until = self._clock() + lease
        with self._write() as session:
            session.execute(
                update(JobModel)
                .where(JobModel.id == job_id, JobModel.sender == holder)
                .values(sender_until=until)
            )
            return rowcount(
                session,
                update(PartModel)
                .where(PartModel.job_id == job_id, PartModel.claim_holder == holder)
                .where(PartModel.claim_token.is_not(None), PartModel.state.in_(OPEN_STATES))
                .values(claim_expires_at=until),
            )

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
                            return part_record(existing)
                    chosen = number or 1 + (
                        session.scalar(
                            select(func.max(PartModel.number)).where(PartModel.job_id == job_id)
                        )
                        or 0
                    )
                    model = _part_model(job_id, chosen, spec, self._clock())
                    session.add(model)
                    session.flush()
                    return part_record(model)
            except IntegrityError:
                continue  # a concurrent writer took that number: look again
        raise PartConflict(
            _l("Job {job_id} kept changing while a part was added; try again.", job_id=job_id)
        )

    def part(self, part_id: int) -> Part:
        """One part by its registry id."""
        with self._read() as session:
            model = session.get(PartModel, part_id)
            if model is None:
                raise KeyError(part_id)
            return part_record(model)

    def part_for_batch(self, batch_id: str) -> Part | None:
        """The part a batch belongs to, if any."""
        with self._read() as session:
            model = session.scalar(select(PartModel).where(PartModel.batch_id == batch_id))
            return None if model is None else part_record(model)

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
            return [part_record(model) for model in session.scalars(query)]

    def job_records(self, job_ids: Sequence[str]) -> dict[str, JobRecords]:
        """Parts, snapshots, kept results and direct lines of several jobs in one transaction.

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
                    records[model.job_id].parts.append(part_record(model))
                snapshots = snapshot_query(PartModel.job_id.in_(chunk)).add_columns(
                    PartModel.job_id
                )
                for model, number, job_id in session.execute(snapshots):
                    records[job_id].snapshots.append(snapshot_record(model, number))
                kept = (
                    select(ResultModel.batch_id, PartModel.job_id)
                    .join(PartModel, ResultModel.part_id == PartModel.id)
                    .where(PartModel.job_id.in_(chunk))
                )
                for batch_id, job_id in session.execute(kept):
                    records[job_id].fetched.add(batch_id)
                direct = {
                    part.id: job_id
                    for job_id in chunk
                    for part in records[job_id].parts
                    if part.kind == DIRECT_KIND
                }
                if direct:  # a fourth query only for jobs run directly
                    for part_id, counts in line_counts(session, list(direct)).items():
                        records[direct[part_id]].direct_lines[part_id] = counts
        return records

    def claim_part(
        self, part_id: int, *, lease: timedelta = DEFAULT_LEASE, holder: str | None = None
    ) -> str | None:
        """Hold an unsubmitted part for `lease`; its claim token, or None if a live holder has
        it or it is done. `holder` (default: this process) names who holds it."""
        token = uuid.uuid4().hex
        now = self._clock()
        held_by = holder or this_run().text()
        with self._write() as session:
            gone = gone_holders(session, PartModel.id == part_id, now)
            claimed = rowcount(session, claim_statement(part_id, token, now, lease, held_by, gone))
        return token if claimed else None

    def claim_next_part(
        self, job_id: str, *, lease: timedelta = DEFAULT_LEASE, holder: str | None = None
    ) -> Claim | None:
        """Hold the job's lowest-numbered part that no live holder has and that has no batch."""
        token = uuid.uuid4().hex
        now = self._clock()
        held_by = holder or this_run().text()
        tried: list[int] = []
        with self._write() as session:
            gone = gone_holders(session, PartModel.job_id == job_id, now)
            # One candidate at a time: PostgreSQL locks what it selects, and a concurrent claimer
            # must skip only the part being claimed, not every part (it would think none is left).
            while (
                found := session.execute(
                    select(PartModel.id, PartModel.claim_token, PartModel.claimed_at)
                    .where(PartModel.job_id == job_id, claimable(now, gone))
                    .where(PartModel.id.not_in(tried))
                    .order_by(PartModel.number)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
            ) is not None:
                part_id, earlier, earlier_at = found
                if rowcount(session, claim_statement(part_id, token, now, lease, held_by, gone)):
                    model = session.get(PartModel, part_id, populate_existing=True)
                    assert model is not None
                    taken = earlier_at if earlier is not None else None
                    return Claim(part=part_record(model), token=token, taken_over=taken)
                tried.append(part_id)
        return None

    def keep_claim(self, part_id: int, claim: str, *, lease: timedelta = DEFAULT_LEASE) -> bool:
        """Renew one claim; False when it is no longer held (another submitter took it over)."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.claim_token == claim)
            .where(PartModel.state.in_(OPEN_STATES))
            .values(claim_expires_at=self._clock() + lease)
        )
        with self._write() as session:
            return bool(rowcount(session, statement))

    def release_part(self, part_id: int, claim: str) -> None:
        """Give a claimed part back (e.g. after an error worth retrying later)."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.claim_token == claim)
            .values(**NO_CLAIM)
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
            {**values, **NO_CLAIM},
            claim,
            done=lambda part: part.state == "created" and part.batch_id == batch_id,
        )

    def mark_part_failed(self, part_id: int, error: str, *, claim: str | None = None) -> Part:
        """Record that the part could not be submitted, and why; ends its claim."""
        values = {"state": "failed", "error": error, **NO_CLAIM}
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
            PartModel.state.in_(OPEN_STATES),
        ]
        if unless is not None:
            conditions.append(~unless)
        if claim is not None:
            conditions.append(PartModel.claim_token == claim)
        statement = update(PartModel).where(*conditions).values(**values, updated_at=self._clock())
        try:
            with self._write() as session:
                moved = rowcount(session, statement)
        except IntegrityError:
            raise PartConflict(
                _l(
                    "Batch {batch_id} already belongs to another part; refresh the job.",
                    batch_id=values.get("batch_id"),
                )
            ) from None
        part = self.part(part_id)
        if moved or done(part):
            return part
        raise PartConflict(
            _l(
                "Part {number} of job {job_id} was taken over by another submitter (it is {state}); "
                "refresh the job to see its batch.",
                number=part.number,
                job_id=part.job_id,
                state=part.state,
            )
        )


def _part_model(job_id: str, number: int, spec: PartSpec, now: datetime) -> PartModel:
    return PartModel(
        job_id=job_id,
        number=number,
        kind=spec.kind,
        first_row=spec.first_row,
        stop_row=spec.stop_row,
        custom_ids=list(spec.custom_ids) if spec.custom_ids else None,
        requests=spec.requests,
        state=SENDING if spec.kind == DIRECT_KIND else "planned",
        estimated_input_tokens=spec.estimated_input_tokens,
        estimated_cost_usd=spec.estimated_cost_usd,
        estimated_output_tokens=spec.estimated_output_tokens,
        created_at=now,
        updated_at=now,
    )
