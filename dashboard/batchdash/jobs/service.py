"""The job service: the analyst's unit of work, over the registry and the Batch API.

A job is saved with its rows, recipe and planned parts before anything is sent. Submission is
idempotent per part: a submitter claims the part in the registry, uploads its file and records
the file id, looks for a batch already tagged with the job and part (a submitter that crashed
after creating it, a registry restored from a backup), creates one only if there is none, and
records the batch id, each step committed before the next. A rerun, a double click, a crash or a
second replica therefore never makes a second batch for a part; a crash between an upload and its
record costs one more upload of the same file (never billed).

A busy or failing API is ridden out (`retry_policy`): the SDK retries what is safe to repeat,
and the service tries a part again after a retryable error, looking first for the batch (or the
uploaded file) an attempt that timed out may have made after all; every retry is told to the
notice listeners (`api_notices`) and to `submit`'s progress callback in plain words. A job whose
submitter died with parts unsent is picked up by the next refresh once the dead claim runs out.
A create the server carries out so late that the part got a batch of its own meanwhile leaves an
extra batch: the refreshes find it and cancel it (`extra_batches`).

Refreshing costs at most one API call per running batch (see `batch_polling`) and none for a
finished one, plus a list call now and then after a create lost its answer; a batch's result
files are fetched once, when it is terminal, and kept in the registry. The merged table is
cached in the registry until another batch is fetched.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from batchdash.api.batch_info import BatchInfo
from batchdash.api.batch_tags import JOB_TAG, PART_TAG, part_tag
from batchdash.api.gateway import Gateway
from batchdash.api.notices import listening_to_notices, notify
from batchdash.api.polling import poll_batches
from batchdash.api.retry_policy import RetryPolicy, retrying, seconds_text
from batchdash.errors import (
    ApiError,
    BadRequest,
    BatchdashError,
    InputError,
    NotFound,
    RateLimited,
)
from batchdash.jobs.attached import attached_rows
from batchdash.jobs.extra_batches import WATCH, WATCH_EVERY, extra_note, extras, is_watched
from batchdash.jobs.repair import (
    REPAIRABLE,
    RepairPlan,
    checked_statuses,
    refused_again,
    repair_parts,
    rows_to_repair,
)
from batchdash.jobs.status import (
    BatchRow,
    JobStatus,
    JobView,
    RowTally,
    pending_rows,
    projected_output_per_row,
    summarize,
    tally,
)
from batchdash.preflight import limits
from batchdash.preflight.ids import custom_ids
from batchdash.preflight.part_requests import plan_jsonl, plan_rows, select_lines
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.recipe import Recipe
from batchdash.registry.blobs import text_frame
from batchdash.registry.records import DEFAULT_LEASE, Job, Part, PartConflict, PartSpec
from batchdash.registry.store import Registry
from batchdash.results.merge import merge_results
from batchdash.results.parse import RowResult, parse_result_lines

__all__ = ["JOB_TAG", "PART_TAG", "BatchRow", "JobService", "JobStatus", "RepairPlan"]

#: How long a submitted job with unsent, unclaimed parts must stay still before a refresh sends
#: them itself.
RESUME_AFTER = timedelta(seconds=60)

#: Seconds of clock difference allowed between this machine and the API server when looking
#: for a batch created since a part was planned.
CLOCK_SLACK_SECONDS = 600

R = TypeVar("R")

#: How patiently the service rides out a busy or failing API (about two minutes of waits).
DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass
class _Sending:
    """What one `submit` learnt about a part across its attempts."""

    #: The part's JSONL, built once.
    data: bytes | None = None
    #: Set when an upload failed in a way that may have hidden its success (a timeout, a lost
    #: connection, a 5xx): unix seconds from which to look for the file before uploading again.
    upload_doubt: int | None = None


class JobService:
    """Jobs of one owner scope: create, submit, refresh, cancel, repair, attach and read them."""

    def __init__(
        self,
        registry: Registry,
        gateway: Gateway,
        scope: str,
        *,
        price_overrides: Mapping[str, ModelPrice] | None = None,
        clock: Callable[[], float] = time.time,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        claim_lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.registry = registry
        self.gateway = gateway
        #: Owner of the jobs this service sees (`settings.owner_scope`).
        self.scope = scope
        #: Tries and waits after a retryable API error.
        self.retry_policy = retry_policy
        #: How long a submitter holds a part: after a crash, the part waits this long.
        self.claim_lease = claim_lease
        #: How long a job with unsent, unclaimed parts stays still before a refresh sends them.
        self.resume_after = RESUME_AFTER
        self._price_overrides = dict(price_overrides or {})
        self._clock = clock
        self._sleep = sleep
        # JSONL makers of parts planned by this object, so a submit right after create_job or
        # repair does not plan the rows again; each is dropped once its part is uploaded.
        self._part_files: dict[tuple[str, int], Callable[[], bytes]] = {}
        # Per job: the registry state a tally was made from, and the tally.
        self._tallies: dict[str, tuple[Hashable, RowTally]] = {}
        # When this service last listed the batches to look for late creates (its clock).
        self._watch_listed_at: float | None = None

    # -- creating and submitting ----------------------------------------------------------

    def create_job(
        self,
        name: str,
        frame: pd.DataFrame,
        recipe: Recipe,
        *,
        source_name: str = "",
        enqueued_token_limit: int | None = None,
        output_tokens_per_row: float | None = None,
    ) -> str:
        """Save a job and its planned parts; its id. InputError if the preflight blocks it.

        `output_tokens_per_row` is the answers' length projected from tried rows (None: no try);
        the Jobs and Results pages show the expected cost from it beside the actual one.
        """
        rows = text_frame(frame)
        plan = plan_batch(
            rows,
            recipe,
            enqueued_token_limit=enqueued_token_limit,
            price_overrides=self._price_overrides,
        )
        _raise_blocking(plan)
        price = price_for(recipe.model, self._price_overrides)
        specs = [
            PartSpec(
                requests=part.requests,
                first_row=part.first_row,
                stop_row=part.stop_row,
                estimated_input_tokens=part.input_tokens,
                estimated_cost_usd=price.cost(part.input_tokens, 0) if price else None,
                estimated_output_tokens=(
                    None if output_tokens_per_row is None else output_tokens_per_row * part.requests
                ),
            )
            for part in plan.parts
        ]
        title = name.strip() or source_name or f"Job of {datetime.now(UTC):%Y-%m-%d %H:%M}"
        job = self.registry.create_job(
            self.scope, title, recipe, rows, source_name=source_name, parts=specs
        )
        for part in plan.parts:
            self._remember_part(job.id, part.number, plan, part.number)
        return job.id

    def submit(
        self, job_id: str, *, on_progress: Callable[[int, int, str], None] | None = None
    ) -> list[str]:
        """Send every part that has no batch yet; the job's batch ids, by part number.

        `on_progress(done_parts, total_parts, message)` follows along, retry notices included
        ("Part 2: OpenAI is busy (rate limit); trying again in 20 s."). A part the server
        rejects (HTTP 400) is marked failed and the others go on; any other API error, once the
        retries run out, stops the submission and is raised, and submitting again later (or a
        refresh, once the claim on the part has run out) resumes where it stopped.
        """
        job = self._job(job_id)
        if job.state == "new":
            # Recorded before anything is sent: a job whose submitter dies stays active, so a
            # refresh sends what is left (see `_resume`).
            self.registry.set_job_state(job_id, "active")
        parts = self.registry.parts(job_id)
        total = sum(part.state != "failed" for part in parts)
        done = sum(part.batch_id is not None for part in parts)
        report = on_progress or (lambda _done, _total, _message: None)
        report(done, total, f"{done} of {total} parts submitted.")
        with listening_to_notices(lambda message: report(done, total, message)):
            lease = self.claim_lease
            while (claim := self.registry.claim_next_part(job_id, lease=lease)) is not None:
                part = claim.part
                try:
                    batch_id = self._submit_part(job, part, claim.token)
                except PartConflict:
                    continue  # another submitter took the part over; it records its batch
                except BadRequest as error:
                    self.registry.mark_part_failed(part.id, str(error), claim=claim.token)
                    total -= 1
                    report(done, total, f"Part {part.number} was rejected: {error}")
                    continue
                except BaseException:
                    self.registry.release_part(part.id, claim.token)
                    raise
                done += 1
                report(done, total, f"Part {part.number} is batch {batch_id}.")
        parts = self.registry.parts(job_id)
        return [part.batch_id for part in parts if part.batch_id is not None]

    def _submit_part(self, job: Job, part: Part, claim: str) -> str:
        if part.kind == "attached":
            raise BadRequest("The attached batch was not recorded; attach it again by its id.")
        tag = part_tag(job.id, part.number)
        sending = _Sending()

        def attempt() -> BatchInfo:
            return self._find_or_create(job, self.registry.part(part.id), claim, tag, sending)

        batch = self._retrying(attempt, f"Part {part.number}")
        try:
            self.registry.mark_part_created(part.id, batch.id, claim=claim)
        except PartConflict:
            if self.registry.part(part.id).batch_id != batch.id and not batch.terminal:
                # The part went to another submitter (or was cancelled): ours must not run too.
                self._cancel_batch(batch.id)
            raise
        self.registry.save_snapshot(
            batch.id, batch.to_dict(), terminal=self.gateway.terminal_statuses
        )
        return batch.id

    def _find_or_create(
        self, job: Job, part: Part, claim: str, tag: dict[str, str], sending: _Sending
    ) -> BatchInfo:
        """One attempt at a part: the batch tagged with it if there is one, else a new one.

        Looking first is what makes trying again safe: a create that timed out (or a
        submitter that died) may have made the batch after all.
        """
        since = int(part.created_at.timestamp()) - CLOCK_SLACK_SECONDS
        batch = self.gateway.find_batch(tag, created_after=since)
        if batch is not None:
            return batch
        file_id = part.input_file_id
        if part.state == "planned" or file_id is None:
            file_id = self._upload(job, part, claim, sending)
        sent_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            return self.gateway.create_batch(file_id, job.recipe.endpoint, tag)
        except ApiError as error:
            if _may_have_landed(error):
                # Kept in the registry: whoever refreshes the job looks for a late twin.
                self.registry.note_create_doubt(part.id, sent_at)
            raise

    def _upload(self, job: Job, part: Part, claim: str, sending: _Sending) -> str:
        """Upload the part's file once (an earlier attempt's file is reused if it landed)."""
        name = f"{job.id}-part-{part.number:04d}.jsonl"
        if sending.data is None:
            sending.data = self._part_file(job, part)
        file_id = None
        if sending.upload_doubt is not None:
            # A server that cannot list files so gets the upload again (never billed).
            with contextlib.suppress(BadRequest, NotFound):
                file_id = self.gateway.find_file(name, len(sending.data), sending.upload_doubt)
        if file_id is None:
            started = int(self._clock()) - CLOCK_SLACK_SECONDS
            try:
                file_id = self.gateway.upload_part(name, sending.data, retry=False)
            except ApiError as error:
                if _may_have_landed(error):
                    sending.upload_doubt = min(started, sending.upload_doubt or started)
                raise
        self.registry.mark_part_uploaded(part.id, file_id, claim=claim)
        self._part_files.pop((job.id, part.number), None)
        return file_id

    def _part_file(self, job: Job, part: Part) -> bytes:
        """The JSONL of a part, built again from the job's rows (or its attached batch's file)."""
        remembered = self._part_files.get((job.id, part.number))
        if remembered is not None:
            return remembered()
        attached = [p for p in self.registry.parts(job.id) if p.kind == "attached"]
        if attached and attached[0].input_file_id:
            original = self.gateway.file_bytes(attached[0].input_file_id)
            return select_lines(original, part.custom_ids)
        rows = self.registry.job_rows(job.id)
        positions: np.ndarray | slice = slice(part.first_row, part.stop_row)
        if part.custom_ids:
            ids = custom_ids(rows, job.recipe.id_column)
            positions = np.flatnonzero(ids.isin(set(part.custom_ids)).to_numpy(dtype=bool))
        plan = plan_rows(rows, job.recipe, positions, price_overrides=self._price_overrides)
        return plan_jsonl(plan)

    def _remember_part(self, job_id: str, number: int, plan: BatchPlan, index: int) -> None:
        """Part `number` of the job is part `index` of `plan`."""
        self._part_files[(job_id, number)] = lambda: plan.part_bytes(index)

    # -- following -------------------------------------------------------------------------

    def refresh(self, job_id: str) -> JobStatus:
        """Ask the API about the job's running batches, fetch finished results; its status."""
        return self._refresh([self._job(job_id)])[0]

    def refresh_all(self) -> list[JobStatus]:
        """`refresh` for every unfinished job of the scope, polling all their batches at once."""
        jobs = self.registry.list_jobs(self.scope, include_archived=True)
        # A job finished within WATCH may still have a part watched for a late create.
        recent = datetime.fromtimestamp(self._clock(), UTC) - WATCH
        finished = [job for job in jobs if job.state == "finished" and job.updated_at > recent]
        return self._refresh([job for job in jobs if job.state != "finished"], watched=finished)

    def _refresh(self, jobs: list[Job], *, watched: list[Job] | None = None) -> list[JobStatus]:
        """Refresh `jobs`, and look for extra batches of their parts and of `watched`'s."""
        views = self._views([*jobs, *(watched or [])])
        views, watched_views = views[: len(jobs)], views[len(jobs) :]
        for index, view in enumerate(views):
            if self._interrupted(view):
                self._resume(view.job)
                views[index] = self._view(view.job)
        wanted = {
            batch_id: view.infos[batch_id].created_at if batch_id in view.infos else 0
            for view in views
            for batch_id in view.active_batches()
        }
        listed: list[BatchInfo] = []

        def poll() -> dict[str, BatchInfo]:
            return poll_batches(self.gateway, wanted, listed=listed)

        polled = self._retrying(poll, "Checking the batches") if wanted else {}
        known = {i: info for view in views for i, info in view.infos.items()}
        changed = {i: info.to_dict() for i, info in polled.items() if info != known.get(i)}
        if changed:  # a batch that did not move costs no write
            self.registry.save_snapshots(changed, terminal=self.gateway.terminal_statuses)
        for view in views:
            view.infos.update({i: polled[i] for i in view.active_batches() if i in polled})
            for info in view.unfetched_terminal():
                fetch = partial(self._fetch_results, info)
                self._retrying(fetch, f"Fetching the results of batch {info.id}")
                view.fetched.add(info.id)
        noted = self._cancel_extras([*views, *watched_views], listed)
        return [
            self._summary(self._view(view.job) if view.job.id in noted else view) for view in views
        ]

    def _cancel_extras(self, views: list[JobView], listed: list[BatchInfo]) -> set[str]:
        """Cancel the extra batches of the views' parts (see `extra_batches`) found among the
        batches `listed` and, for parts whose create lost its answer lately, among those created
        since; the ids of the jobs that got a note."""
        clock = self._clock()
        now = datetime.fromtimestamp(clock, UTC)
        parts = [part for view in views for part in view.parts]
        watched = [part for part in parts if is_watched(part, now)]
        last = self._watch_listed_at
        if watched and (last is None or clock - last >= WATCH_EVERY):
            first = min(part.create_doubt_since or now for part in watched)
            since = int(first.timestamp()) - CLOCK_SLACK_SECONDS
            recent = self._retrying(
                lambda: list(self.gateway.batches_since(since)), "Checking the batches"
            )
            self._watch_listed_at = clock
            listed = [*listed, *recent]
        names = {view.job.id: view.job.name for view in views}
        noted: set[str] = set()
        for part, extra in extras(listed, parts):
            if self._cancel_extra(names[part.job_id], part, extra):
                noted.add(part.job_id)
        return noted

    def _cancel_extra(self, job_name: str, part: Part, extra: BatchInfo) -> bool:
        """Cancel one extra batch of the part, note it and tell the analyst; whether it was
        noted here (False when another replica did, or when it is not an extra after all)."""
        if self.registry.part_for_batch(extra.id) is not None:
            return False  # some part's own batch: attached by the analyst, or another scope's
        where = f"Job {job_name}, part {part.number}"
        running = not (extra.terminal or extra.status == "cancelling")
        if running:
            try:
                extra = self._cancel_batch(extra.id)
            except BatchdashError as error:
                notify(f"{where}: the second batch {extra.id} could not be cancelled yet: {error}")
                return False  # tried again while a refresh still lists it
        assert part.batch_id is not None
        note = extra_note(self.gateway.provider, extra, part.batch_id, cancelled_here=running)
        if not self.registry.note_extra_batch(part.id, extra.id, note):
            return False
        notify(f"{where}: {note}")
        return True

    def _retrying(self, call: Callable[[], R], doing: str) -> R:
        """`call()` with the service's retries, each told as "<doing>: <reason>; trying again"."""

        def describe(error: ApiError, wait: float) -> str:
            reason = self.gateway.retry_reason(error)
            return f"{doing}: {reason}; trying again in {seconds_text(wait)}."

        return retrying(
            call,
            policy=self.retry_policy,
            describe=describe,
            timeout=self.gateway.timeout,
            sleep=self._sleep,
        )

    def _interrupted(self, view: JobView) -> bool:
        """Whether the job was being submitted and has parts nobody is sending any more: none
        is claimed, and nothing of the job moved for `resume_after` (a live submitter marks
        the job active, then claims, uploads and records part after part within moments, and
        a refresh from another session must not take the next part from under it)."""
        if view.job.state != "active":
            return False  # "new": never submitted (or a submitter died before its first write)
        now = datetime.fromtimestamp(self._clock(), UTC)
        unsent = [p for p in view.parts if p.batch_id is None and p.state != "failed"]
        held = any(p.claim_expires_at is not None and p.claim_expires_at > now for p in unsent)
        moved = [view.job.updated_at] + [
            moment
            for part in view.parts
            for moment in (part.uploaded_at, part.submitted_at, part.claim_expires_at)
            if moment is not None
        ]
        return bool(unsent) and not held and max(moved) < now - self.resume_after

    def _resume(self, job: Job) -> None:
        """Send a job's parts left unsent by a submitter that stopped (a crash, a lost network).

        An error is told to the listeners, not raised: it must not keep the other jobs from
        being refreshed, and the job's status says that parts are unsent.
        """
        notify(f"Job {job.name}: sending the parts its submission left unsent.")
        try:
            self.submit(job.id)
        except BatchdashError as error:
            notify(f"Job {job.name}: the unsent parts could not be sent yet: {error}")

    def _fetch_results(self, info: BatchInfo) -> None:
        """Keep a terminal batch's output and error files in the registry (once)."""
        with tempfile.TemporaryDirectory(prefix="batchdash-results-") as directory:
            files: dict[str, Path | None] = {}
            for which, file_id in (("output", info.output_file_id), ("errors", info.error_file_id)):
                path = Path(directory) / f"{which}.jsonl" if file_id else None
                if file_id and path:
                    self.gateway.download_file(file_id, path)
                files[which] = path
            self.registry.save_results(info.id, files["output"], files["errors"])

    def status(self, job_id: str) -> JobStatus:
        """The job's status from the registry alone (no API call)."""
        return self._summary(self._view(self._job(job_id)))

    def list_jobs(self, *, include_archived: bool = False) -> list[JobStatus]:
        """Every job of the scope, newest first, from the registry alone."""
        jobs = self.registry.list_jobs(self.scope, include_archived=include_archived)
        return self.statuses_of(jobs)

    def statuses_of(self, jobs: list[Job]) -> list[JobStatus]:
        """The statuses of jobs of the scope (as `list_jobs` read them), from the registry."""
        if any(job.scope != self.scope for job in jobs):
            raise ValueError("a job of another scope was asked for")
        return [self._summary(view) for view in self._views(jobs)]

    def _view(self, job: Job) -> JobView:
        return self._views([job])[0]

    def _views(self, jobs: list[Job]) -> list[JobView]:
        """The jobs with their parts, batch snapshots and kept results, read in one go."""
        terminal = frozenset(self.gateway.terminal_statuses)
        records = self.registry.job_records([job.id for job in jobs])
        views = []
        for job in jobs:
            record = records[job.id]
            infos = {
                snapshot.batch_id: BatchInfo.from_dict(snapshot.info, terminal_statuses=terminal)
                for snapshot in record.snapshots
            }
            fetched = {i for i, info in infos.items() if info.terminal and i in record.fetched}
            views.append(JobView(job, record.parts, infos, fetched))
        return views

    def _summary(self, view: JobView) -> JobStatus:
        # The tally depends only on the rows, the parts and the fetched batches: kept per job
        # under that key, a list of finished jobs does not open their merged tables each time.
        key = (
            view.job.updated_at,
            tuple((part.id, part.state, part.batch_id) for part in view.parts),
            frozenset(view.fetched),
        )
        remembered = self._tallies.get(view.job.id)
        if remembered is not None and remembered[0] == key:
            rows = remembered[1]
        else:
            needs_table = bool(view.fetched) or any(part.custom_ids for part in view.parts)
            rows = tally(view, self._merged(view.job) if needs_table else None)
            self._tallies[view.job.id] = (key, rows)
        now = datetime.fromtimestamp(self._clock(), UTC)
        price = price_for(view.job.recipe.model, self._price_overrides)
        status = summarize(view, rows, price, now=now)
        state = status.state if view.job.state != "new" or status.batches else "new"
        if state != view.job.state:
            self.registry.set_job_state(view.job.id, state)
        return status

    # -- acting on a job -------------------------------------------------------------------

    def cancel(self, job_id: str, batch_id: str | None = None) -> int:
        """Cancel one running batch of the job, or all of them and any part not yet sent.

        Returns how many batches and unsent parts it stopped: 0 when everything had already
        finished (a batch that ends while the analyst confirms is not cancelled, and is no error).
        """
        view = self._view(self._job(job_id))
        stopped = 0
        if batch_id is not None and batch_id not in {p.batch_id for p in view.parts}:
            raise InputError(
                f"Batch {batch_id} is not part of job {job_id}; pick one of its batches."
            )
        changed: dict[str, dict[str, Any]] = {}
        for part in view.parts:
            if batch_id is None and part.batch_id is None and part.state != "failed":
                self.registry.mark_part_failed(
                    part.id, "The job was cancelled before this part was sent."
                )
                stopped += 1
            if part.batch_id is None or batch_id not in (None, part.batch_id):
                continue
            info = view.infos.get(part.batch_id)
            if info is None or not (info.terminal or info.status == "cancelling"):
                after = self._cancel_batch(part.batch_id)
                changed[part.batch_id] = after.to_dict()
                stopped += after.status in ("cancelling", "cancelled")
        self.registry.save_snapshots(changed, terminal=self.gateway.terminal_statuses)
        return stopped

    def _cancel_batch(self, batch_id: str) -> BatchInfo:
        try:
            return self.gateway.cancel_batch(batch_id)
        except BadRequest:
            # Refused when the batch finished since the last refresh: then there is no error.
            info = self.gateway.retrieve_batch(batch_id)
            if info.terminal or info.status == "cancelling":
                return info
            raise

    def plan_repair(self, job_id: str, statuses: Iterable[str] = REPAIRABLE) -> RepairPlan:
        """What `repair` would send for rows with these statuses (no API call)."""
        job = self._job(job_id)
        picked, ids, positions = self._repair_rows(job, statuses)
        chosen = tuple(str(i) for i in ids.to_numpy(dtype=object)[positions])
        refused = refused_again(self._merged(job)["error"], positions)
        price = price_for(job.recipe.model, self._price_overrides)
        if not len(positions) or self._is_attached(job):
            free = None if price is None else 0.0
            return RepairPlan(picked, len(chosen), chosen, 0, free, refused)
        plan = self._repair_plan(job, positions)
        return RepairPlan(
            picked, len(chosen), chosen, plan.input_tokens, plan.estimated_cost_usd, refused
        )

    def repair(self, job_id: str, statuses: Iterable[str] = REPAIRABLE) -> list[str]:
        """Run the rows with these statuses again in new repair parts; their batch ids.

        Rows already in a running part are left out, so a second click adds nothing.
        """
        job = self._job(job_id)
        picked, ids, positions = self._repair_rows(job, statuses)
        parts = self.registry.parts(job_id)
        if not len(positions):
            waiting = [
                p.id for p in parts if p.kind == "repair" and p.state in ("planned", "uploaded")
            ]
            if not waiting:
                raise InputError(
                    f"No row of job {job_id} is {' or '.join(picked)} outside a running batch; "
                    "there is nothing to repair."
                )
            self.submit(job_id)  # an earlier repair of these rows stopped before its batch
            latest = {part.id: part.batch_id for part in self.registry.parts(job_id)}
            return [batch for part_id in waiting if (batch := latest[part_id]) is not None]
        plan: BatchPlan | None = None
        if self._is_attached(job):
            specs = _attached_repair_parts(ids.to_numpy(dtype=object)[positions])
        else:
            plan = self._repair_plan(job, positions)
            specs = repair_parts(plan, positions, ids, projected_output_per_row(parts))
        # Numbered after the job's last part: a concurrent repair of the same rows picks the
        # same numbers, and `add_part` hands it the parts already there instead of new ones.
        first = 1 + max(part.number for part in parts)
        added = [
            self.registry.add_part(job_id, spec, number=first + i) for i, spec in enumerate(specs)
        ]
        if plan is not None:
            for index, (part, spec) in enumerate(zip(added, specs, strict=True), start=1):
                if part.custom_ids == spec.custom_ids:
                    self._remember_part(job_id, part.number, plan, index)
        self.submit(job_id)
        if job.state == "finished":
            self.registry.set_job_state(job_id, "active")
        latest = {part.id: part.batch_id for part in self.registry.parts(job_id)}
        return [batch for part in added if (batch := latest[part.id]) is not None]

    def _repair_rows(
        self, job: Job, statuses: Iterable[str]
    ) -> tuple[tuple[str, ...], pd.Series, np.ndarray]:
        picked = checked_statuses(statuses)
        view = self._view(job)
        merged = self._merged(job)
        ids = merged["custom_id"]
        positions = rows_to_repair(merged, pending_rows(view, ids), picked)
        return picked, ids, positions

    def _repair_plan(self, job: Job, positions: np.ndarray) -> BatchPlan:
        # The job's enqueued-token limit is not kept, but its largest part was accepted: repair
        # parts no larger than that fit under whatever limit the analyst gave.
        accepted = [
            part.estimated_input_tokens
            for part in self.registry.parts(job.id)
            if part.kind == "initial" and part.estimated_input_tokens
        ]
        return plan_rows(
            self.registry.job_rows(job.id),
            job.recipe,
            positions,
            enqueued_token_limit=max(accepted) if len(accepted) > 1 else None,
            price_overrides=self._price_overrides,
        )

    def _is_attached(self, job: Job) -> bool:
        return any(part.kind == "attached" for part in self.registry.parts(job.id))

    def attach(
        self, batch_id: str, *, name: str | None = None, frame: pd.DataFrame | None = None
    ) -> str:
        """Follow a batch created elsewhere as a job of its own; the job id.

        Its rows are the requests of its input file (custom_id and prompt), or `frame` when the
        analyst gives the table behind them. Attaching a batch twice gives the same job.
        """
        known = self.registry.part_for_batch(batch_id)
        if known is not None:
            return self._own_job_of(batch_id, known.job_id)
        info = self.gateway.retrieve_batch(batch_id)
        if not info.input_file_id:
            raise InputError(f"Batch {batch_id} names no input file, so its requests are unknown.")
        found = attached_rows(info, self.gateway.file_bytes(info.input_file_id), frame)
        spec = PartSpec(
            requests=len(found.custom_ids), kind="attached", first_row=0, stop_row=len(found.frame)
        )
        job = self.registry.create_job(
            self.scope,
            name or f"Batch {batch_id}",
            found.recipe,
            found.frame,
            parts=[spec],
            state="active",
        )
        part = self.registry.parts(job.id)[0]
        self.registry.mark_part_uploaded(part.id, info.input_file_id)
        try:
            self.registry.mark_part_created(part.id, batch_id)
        except PartConflict:
            # Attached by another replica at the same moment: keep that job, hide this one.
            self.registry.mark_part_failed(part.id, f"Batch {batch_id} belongs to another job.")
            self.registry.archive_job(job.id, self.scope)
            other = self.registry.part_for_batch(batch_id)
            assert other is not None
            return self._own_job_of(batch_id, other.job_id)
        self.registry.save_snapshot(batch_id, info.to_dict())
        return job.id

    def archive(self, job_id: str, archived: bool = True) -> None:
        """Hide the job from the list (or show it again); nothing is deleted."""
        self.registry.archive_job(job_id, self.scope, archived)

    # -- reading results -------------------------------------------------------------------

    def merged_table(self, job_id: str) -> pd.DataFrame:
        """The merged table (contract 6) of what was fetched so far.

        While batches run, their rows are `not_run` with an empty error (the job's status
        counts them as pending).
        """
        return self._merged(self._job(job_id))

    def _merged(self, job: Job) -> pd.DataFrame:
        # Cached costs use the library's prices, so the cache serves only a service without
        # price overrides.
        cacheable = not self._price_overrides
        if cacheable and (cached := self.registry.merged(job.id)) is not None:
            return cached
        fetched = self.registry.results(job.id)
        results: list[RowResult] = []
        for batch in fetched:  # by part number: repairs come after the rows they repair
            for which, data in (("output", batch.output), ("error", batch.errors)):
                results += parse_result_lines(
                    data,
                    recipe=job.recipe,
                    batch_id=batch.batch_id,
                    source_name=f"the {which} file of batch {batch.batch_id}",
                )
        rows = self.registry.job_rows(job.id)
        merged = merge_results(rows, job.recipe, results, price_overrides=self._price_overrides)
        if cacheable:
            self.registry.save_merged(job.id, merged, [batch.batch_id for batch in fetched])
        return merged

    def raw_results(self, job_id: str) -> tuple[bytes, bytes]:
        """Every fetched output line and every error line of the job, as two JSONL files."""
        fetched = self.registry.results(self._job(job_id).id)
        return (
            b"".join(_with_final_newline(batch.output) for batch in fetched),
            b"".join(_with_final_newline(batch.errors) for batch in fetched),
        )

    def manifest(self, job_id: str) -> dict[str, Any]:
        """Recipe, parts, batch ids, timestamps and costs of the job, ready for JSON."""
        job = self._job(job_id)
        view = self._view(job)
        status = self._summary(view)
        return {
            "job_id": job.id,
            "name": job.name,
            "source_name": job.source_name,
            "created_at": job.created_at.isoformat(),
            "rows": job.rows,
            "columns": list(job.columns),
            "recipe": job.recipe.to_dict(),
            "state": status.state,
            "counts": status.counts,
            "estimated_cost_usd": status.estimated_cost_usd,
            "expected_cost_usd": status.expected_cost_usd,
            "actual_cost_usd": status.actual_cost_usd,
            "parts": [
                _part_manifest(part, view.infos.get(part.batch_id or "")) for part in view.parts
            ],
        }

    def remote_batches(self) -> list[tuple[BatchInfo, str | None]]:
        """Every batch the key can see, newest first, with the job here it belongs to, if any.

        Batches another key or signed-in user follows in Batchdash are left out: colleagues
        sharing one key (or one OpenAI project) see their own jobs' batches only.
        """
        owners = {
            part.batch_id: job.id
            for job in self.registry.list_jobs(self.scope, include_archived=True)
            for part in self.registry.parts(job.id)
            if part.batch_id is not None
        }
        listed = list(self.gateway.list_batches())
        others = self.registry.batches_of_other_scopes((info.id for info in listed), self.scope)
        return [(info, owners.get(info.id)) for info in listed if info.id not in others]

    def _job(self, job_id: str) -> Job:
        return self.registry.get_job(job_id.strip(), self.scope)

    def _own_job_of(self, batch_id: str, job_id: str) -> str:
        """`job_id` when it is this scope's; a batch followed under another key or user is
        refused without naming that job."""
        try:
            return self._job(job_id).id
        except InputError:
            raise InputError(
                f"Batch {batch_id} is already followed in Batchdash under another API key or "
                "user, so it cannot be attached here. Ask whoever submitted it for its results."
            ) from None


def _may_have_landed(error: ApiError) -> bool:
    """Whether a call that failed so may have been carried out unseen: a 429 was refused
    outright, but after a timeout, a lost connection or a 5xx the server may have acted."""
    return error.retryable and not isinstance(error, RateLimited)


def _raise_blocking(plan: BatchPlan) -> None:
    for problem in plan.problems:
        if problem.blocking:
            raise InputError(problem.message)


def _attached_repair_parts(chosen: np.ndarray) -> list[PartSpec]:
    """Repair parts of a batch attached without its recipe: its own lines, re-sent as they were."""
    step = limits.MAX_REQUESTS_PER_PART
    return [
        PartSpec(
            requests=len(chosen[i : i + step]),
            kind="repair",
            custom_ids=tuple(str(c) for c in chosen[i : i + step]),
        )
        for i in range(0, len(chosen), step)
    ]


def _with_final_newline(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


def _part_manifest(part: Part, info: BatchInfo | None) -> dict[str, Any]:
    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "number": part.number,
        "kind": part.kind,
        "first_row": part.first_row,
        "stop_row": part.stop_row,
        "requests": part.requests,
        "state": part.state,
        "input_file_id": part.input_file_id,
        "batch_id": part.batch_id,
        "status": info.status if info else None,
        "output_file_id": info.output_file_id if info else None,
        "error_file_id": info.error_file_id if info else None,
        "input_tokens": info.input_tokens if info else None,
        "output_tokens": info.output_tokens if info else None,
        "estimated_input_tokens": part.estimated_input_tokens,
        "estimated_cost_usd": part.estimated_cost_usd,
        "estimated_output_tokens": part.estimated_output_tokens,
        "error": part.error,
        "extra_batches": dict(part.extra_batches),
        "planned_at": stamp(part.created_at),
        "uploaded_at": stamp(part.uploaded_at),
        "submitted_at": stamp(part.submitted_at),
        "batch_created_at": info.created_at if info else None,
        "completed_at": info.completed_at if info else None,
    }
