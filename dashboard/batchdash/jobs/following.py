"""Following jobs: refreshing their batches, fetching results once, resuming a stopped
submission, cancelling extra batches a lost create left, and the statuses that come of it."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow as pa

from batchdash.api.batch_info import BatchInfo
from batchdash.api.notices import notify
from batchdash.api.polling import poll_batches
from batchdash.direct.cancelling import finish_abandoned_cancels
from batchdash.errors import (
    BatchdashError,
)
from batchdash.i18n import _l, english
from batchdash.jobs import token_queue
from batchdash.jobs.announcing import record_events
from batchdash.jobs.extra_batches import WATCH, WATCH_EVERY, extra_note, extras, is_watched
from batchdash.jobs.sending import is_sending, resume_from, stopped_parts
from batchdash.jobs.status import (
    JobStatus,
    JobView,
    summarize,
    tally,
)
from batchdash.jobs.submitting import CLOCK_SLACK_SECONDS, JobSubmitting
from batchdash.jobs.tidying import delete_finished_inputs
from batchdash.preflight.pricing import price_for
from batchdash.recipe import DIRECT_BATCH_ID
from batchdash.registry.blobs import BlobColumns
from batchdash.registry.direct_lines import DIRECT_KIND, DONE
from batchdash.registry.records import Job, Part
from batchdash.results.export import MergedColumns, TableColumns
from batchdash.results.merge import merge_table, merged_frame
from batchdash.results.result_table import ResultFile, read_result_files

#: What messages call a batch's kept files.
_FILE_WORDS = {"output": "output", "errors": "error"}

#: The merged table's columns a job's status is counted from.
_TALLIED = ("custom_id", "status", "batch_id", "cost_usd")


class JobFollowing(JobSubmitting):
    """Jobs of one owner scope, followed as their batches run."""

    # -- following -------------------------------------------------------------------------

    def refresh(self, job_id: str) -> JobStatus:
        """Ask the API about the job's running batches, fetch finished results; its status."""
        return self._refresh([self._job(job_id)])[0]

    def refresh_jobs(self, jobs: list[Job]) -> list[JobStatus]:
        """`refresh` for several jobs of the scope (as the registry listed them) at once,
        polling all their batches together."""
        if any(job.scope != self.scope for job in jobs):
            raise ValueError("a job of another scope was asked for")
        return self._refresh(jobs)

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
        now = datetime.fromtimestamp(self._clock(), UTC)
        for index, view in enumerate(views):
            if finish_abandoned_cancels(self.registry, view.job, view.parts, now):
                views[index] = view = self._view(view.job)
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

        polled = self._retrying(poll, _l("Checking the batches")) if wanted else {}
        known = {i: info for view in views for i, info in view.infos.items()}
        changed = {i: info.to_dict() for i, info in polled.items() if info != known.get(i)}
        if changed:  # a batch that did not move costs no write
            self.registry.save_snapshots(changed, terminal=self.gateway.terminal_statuses)
        for view in views:
            view.infos.update({i: polled[i] for i in view.active_batches() if i in polled})
            for info in view.unfetched_terminal():
                fetch = partial(self._fetch_results, info)
                self._retrying(
                    fetch, _l("Fetching the results of batch {batch_id}", batch_id=info.id)
                )
                view.fetched.add(info.id)
        noted = self._cancel_extras([*views, *watched_views], listed)
        noted |= token_queue.move_queue(self, views)
        delete_finished_inputs(self.registry, self.gateway, self.provider, self.scope, views, now)
        statuses = [
            self._summary(self._view(view.job) if view.job.id in noted else view) for view in views
        ]
        record_events(
            self.registry,
            [*jobs, *(watched or [])],
            [*statuses, *map(self._summary, watched_views)],
            now,
        )
        return statuses

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
                lambda: list(self.gateway.batches_since(since)), _l("Checking the batches")
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
        where = _l("Job {job}, part {number}", job=job_name, number=part.number)
        running = not (extra.terminal or extra.status == "cancelling")
        if running:
            try:
                extra = self._cancel_batch(extra.id)
            except BatchdashError as error:
                notify(
                    _l(
                        "{where}: the second batch {batch_id} could not be cancelled yet: {error}",
                        where=where,
                        batch_id=extra.id,
                        error=error,
                    )
                )
                return False  # tried again while a refresh still lists it
        assert part.batch_id is not None
        note = extra_note(self.gateway.provider, extra, part.batch_id, cancelled_here=running)
        # Kept in English, as data: the job's problems quote it in any language.
        if not self.registry.note_extra_batch(part.id, extra.id, english(note)):
            return False
        notify(_l("{where}: {note}", where=where, note=note))
        return True

    def _interrupted(self, view: JobView) -> bool:
        """Whether the job was being submitted and has parts nobody is sending any more: its
        sender and every claim on its unsent parts are gone (a process of this machine that
        ended) or ran out unrenewed, and no create that lost its answer may still land."""
        if view.job.state != "active":
            return False  # "new": never submitted; the analyst sends it or discards it
        now = datetime.fromtimestamp(self._clock(), UTC)
        return (
            bool(stopped_parts(view.parts))
            and not is_sending(view.job, view.parts, now)
            and resume_from(view.parts, now, self.resume_after) is None
        )

    def _resume(self, job: Job) -> None:
        """Send a job's parts left unsent by a submitter that stopped (a crash, a lost network).

        An error is told to the listeners, not raised: it must not keep the other jobs from
        being refreshed, and the job's status says that parts are unsent.
        """
        notify(_l("Job {job}: sending the parts its submission left unsent.", job=job.name))
        try:
            self.submit(job.id)
        except BatchdashError as error:
            notify(
                _l(
                    "Job {job}: the unsent parts could not be sent yet: {error}",
                    job=job.name,
                    error=error,
                )
            )

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

    def announce(self, job: Job) -> JobStatus:
        """The status of a job that moved without a refresh (a direct run, in the process
        that ran it), recording its events (`announcing`) against `job` as it was before."""
        status = self.status(job.id)
        record_events(self.registry, [job], [status], datetime.fromtimestamp(self._clock(), UTC))
        return status

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
            recorded = {
                part.id: frozenset(self.registry.direct_recorded_ids(part.id))
                for part in record.parts
                if part.kind == DIRECT_KIND
                and part.state != DONE
                and record.direct_lines.get(part.id)
            }
            views.append(JobView(job, record.parts, infos, fetched, record.direct_lines, recorded))
        return views

    def _merged(self, job: Job) -> pd.DataFrame:
        """The merged table as a DataFrame (for repairs and the page's table)."""
        cached = self._cached_merge(job)
        return merged_frame(cached.table() if cached else self._merge(job), job.recipe)

    def _merged_columns(self, job: Job) -> MergedColumns:
        """The merged table to export: the cached one, read a column or a row group at a time,
        else merged now (and cached)."""
        return self._cached_merge(job) or TableColumns(self._merge(job))

    def _cached_merge(self, job: Job) -> BlobColumns | None:
        # Cached costs use the library's prices, so the cache serves only a service without
        # price overrides.
        return None if self._price_overrides else self.registry.merged_columns(job.id)

    def _merge(self, job: Job) -> pa.Table:
        """Merge the kept results into the rows, reading one stored chunk of lines at a time:
        batches' files and direct parts' lines alike."""
        keys = self.registry.result_keys(job.id)  # before the results: see `result_keys`
        fetched = self.registry.fetched_files(job.id)
        numbers = {part.batch_id: part.number for part in self.registry.parts(job.id)}
        files = [
            (
                numbers.get(batch_id, 0),
                ResultFile(
                    self.registry.result_chunks(batch_id, which),
                    batch_id,
                    f"the {_FILE_WORDS[which]} file of batch {batch_id}",
                ),
            )
            for batch_id, which in fetched
        ]
        files += [
            (
                part.number,
                ResultFile(
                    self.registry.direct_line_runs(part.id),
                    DIRECT_BATCH_ID,
                    f"the answers of direct part {part.number}",
                ),
            )
            for part in self.registry.parts(job.id)
            if part.kind == DIRECT_KIND
        ]
        # By part number: repairs come after the rows they repair.
        files.sort(key=lambda numbered: numbered[0])
        results = read_result_files((file for _, file in files), job.recipe)
        rows = self.registry.job_rows(job.id)
        merged = merge_table(
            rows,
            job.recipe,
            results,
            price_overrides=self._price_overrides,
            provider=self.provider,
        )
        del results, rows  # before the table is packed for the registry
        if not self._price_overrides:
            self.registry.save_merged(job.id, merged, keys)
        return merged

    def _tally_columns(self, job: Job) -> pd.DataFrame:
        """The merged table's columns a status counts, without reading the others when the
        table is cached (a finished job's status merges nothing)."""
        cached = self._cached_merge(job)
        table = cached.columns(list(_TALLIED)) if cached else self._merge(job).select(_TALLIED)
        return merged_frame(table, job.recipe)

    def _summary(self, view: JobView) -> JobStatus:
        # The tally depends only on the rows, the parts and the fetched batches: kept per job
        # under that key, a list of finished jobs does not open their merged tables each time.
        key = (
            view.job.updated_at,
            tuple((part.id, part.state, part.batch_id) for part in view.parts),
            frozenset(view.fetched),
            tuple(sorted(view.direct_lines.items())),
        )
        remembered = self._tallies.get(view.job.id)
        if remembered is not None and remembered[0] == key:
            rows = remembered[1]
        else:
            needs_table = (
                bool(view.fetched)
                or bool(view.direct_lines)
                or any(part.custom_ids for part in view.parts)
            )
            rows = tally(view, self._tally_columns(view.job) if needs_table else None)
            self._tallies[view.job.id] = (key, rows)
        now = datetime.fromtimestamp(self._clock(), UTC)
        price = price_for(view.job.recipe.model, self._price_overrides, self.provider)
        status = summarize(view, rows, price, now=now, resume_after=self.resume_after)
        # A job stays "new" until something of it is sent, or nothing is left to send.
        never_sent = view.job.state == "new" and not status.batches
        state = "new" if never_sent and status.state == "active" else status.state
        if state != view.job.state:
            self.registry.set_job_state(view.job.id, state)
        return status
