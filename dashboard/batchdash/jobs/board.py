"""The list of a scope's jobs as the Jobs page shows it, cheap enough to redraw every few seconds.

Working out a job's status reads its parts, its batch snapshots and which results are kept, a
few milliseconds per job: 200 jobs would take a second at every redraw. A finished job does
not change unless something changes the job itself (a repair makes it active again, archiving
flips its flag), and each of those moves the job's `updated_at` or `state`. So the board keeps
the status of every finished job under that key and works out only the others again; the list
of jobs itself is one registry query, and the others' parts, snapshots and results one more.

Every session of one app server that shows the same scope shares one board, and each of their
pages refreshes on its own timer: the board lets one of them ask the API while the others
show what the registry holds, and a refresh that began moments ago counts for everyone.

It also says how often to ask the API again: often while a batch is young, less often as it
ages (a batch takes minutes to hours), and not at all when nothing runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus

#: Seconds between refreshes by the age of the youngest running batch: (younger than, every).
REFRESH_PACE: tuple[tuple[float, float], ...] = ((120.0, 3.0), (900.0, 10.0))
#: Seconds between refreshes once every running batch is older than the last pace step.
SLOWEST_REFRESH = 30.0
#: Seconds between refreshes while only results of finished batches wait to be fetched.
FETCH_RETRY = 10.0
#: Seconds between refreshes while a direct run sends rows (its progress moves by the second).
DIRECT_REFRESH = 2.0
#: A refresh that began less than this many seconds ago counts as fresh for every session.
SHARED_REFRESH_AGE = 1.5


def needs_refresh(status: JobStatus) -> bool:
    """Whether a refresh can change the job: it is not finished and has a batch to ask the
    API about, or parts still to send (a refresh sends those a stopped submission left)."""
    return status.state == "active" and bool(
        status.batches or status.unsent or _sending_directly(status)
    )


def _sending_directly(status: JobStatus) -> bool:
    return status.direct is not None and status.direct.state in ("running", "cancelling")


def refresh_interval(
    statuses: Iterable[JobStatus], *, now: float, terminal: Collection[str]
) -> float | None:
    """Seconds until the next automatic refresh; None when nothing runs."""
    waiting = [status for status in statuses if needs_refresh(status)]
    if not waiting:
        return None
    if any(_sending_directly(status) for status in waiting):
        return DIRECT_REFRESH
    started = [
        batch.created_at or now
        for status in waiting
        for batch in status.batches
        if batch.status not in terminal
    ]
    if not started:
        return FETCH_RETRY
    age = now - max(started)
    for younger_than, every in REFRESH_PACE:
        if age < younger_than:
            return every
    return SLOWEST_REFRESH


class JobBoard:
    """The job statuses of one JobService's scope, finished ones kept between calls."""

    def __init__(self, service: JobService, *, clock: Callable[[], float] = time.monotonic) -> None:
        #: The service the statuses come from.
        self.service = service
        # Finished jobs: job id -> (the job's `updated_at` when its status was worked out, it).
        self._finished: dict[str, tuple[datetime, JobStatus]] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._clock = clock
        # When the last refresh that ran to its end began.
        self._refreshed_at: float | None = None

    @property
    def terminal(self) -> frozenset[str]:
        """The statuses after which a batch never changes, for this service's API."""
        return frozenset(self.service.gateway.terminal_statuses)

    def statuses(self, *, include_archived: bool = False) -> list[JobStatus]:
        """Every job of the scope, newest first, from the registry alone."""
        jobs = [
            job
            for job in self.service.registry.list_jobs(self.service.scope, include_archived=True)
            if include_archived or not job.archived
        ]
        with self._lock:
            kept = {
                job.id: self._finished[job.id][1]
                for job in jobs
                if job.state == "finished"
                and job.id in self._finished
                and self._finished[job.id][0] == job.updated_at
            }
        worked_out = self.service.statuses_of([job for job in jobs if job.id not in kept])
        fresh = {status.job_id: status for status in worked_out}
        for job in jobs:
            status = fresh.get(job.id)
            if status is not None and status.state == "finished":
                self._remember(status, job.updated_at if job.state == "finished" else None)
        return [kept.get(job.id) or fresh[job.id] for job in jobs]

    def refresh(self, *, fresh_within: float | None = None) -> list[JobStatus]:
        """Ask the API about every running batch of the scope (one call each at most), fetch
        finished results; then every job's status, as `statuses` gives it.

        Skipped when another session's refresh is under way (its results land in the registry
        for the next redraw) or began less than `fresh_within` (default `SHARED_REFRESH_AGE`)
        seconds ago."""
        if fresh_within is None:
            fresh_within = SHARED_REFRESH_AGE
        if self._refreshing.acquire(blocking=False):
            try:
                began = self._clock()
                last = self._refreshed_at
                if last is None or began - last >= fresh_within:
                    self.service.refresh_all()
                    self._refreshed_at = began
            finally:
                self._refreshing.release()
        return self.statuses(include_archived=True)

    def status(self, job_id: str) -> JobStatus:
        """One job's status from the registry (InputError if the scope has no such job)."""
        return self.service.status(job_id)

    def forget(self, job_id: str) -> None:
        """Drop what is kept about a job (after acting on it)."""
        with self._lock:
            self._finished.pop(job_id, None)

    def _remember(self, status: JobStatus, updated_at: datetime | None) -> None:
        """Keep a finished job's status under the job's `updated_at` (None: read it again, as
        working out the status has just marked the job finished, which moved it)."""
        if updated_at is None:
            job = self.service.registry.get_job(status.job_id, self.service.scope)
            if job.state != "finished":
                return
            updated_at = job.updated_at
        with self._lock:
            self._finished[status.job_id] = (updated_at, status)
