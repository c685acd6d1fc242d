"""The watcher (DESIGN.md contract 12): jobs moved with no page open.

Each round, for every key it holds, the watcher takes the active jobs of every scope of the
key's fingerprint (`fingerprint` and, with sign-in on, `fingerprint/user`), claims each in the
registry (`registry.watch_claims`), refreshes the ones it won together (the job service's
refresh polls their batches, fetches finished results once and resumes a submission whose
sender is gone) and releases them after a rest (its `rest`, normally the time to its next
round). A job another live watcher holds, or has just moved, is skipped: several watchers on
one database never do the same work twice. Then the round's hooks run.

Hooks are the seam for work that is not about one key's jobs: each is called with the
registry after the jobs moved, in order, every round (notifications to deliver, files to tidy).
A hook that fails is reported with the round's other failures; the next hook still runs.
`cli.py watch` runs the hooks listed in `cli_watch.ROUND_HOOKS`.

A job sent with a key typed into a page cannot be watched: the key is never stored, so only
the page that holds it in its session can move that job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from batchdash.errors import BatchdashError
from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus
from batchdash.registry.holders import this_run
from batchdash.registry.records import Job
from batchdash.registry.store import Registry
from batchdash.registry.watch_claims import WatcherSeen
from batchdash.settings import WATCH_EVERY

#: What runs after each round's jobs moved, with the registry (its result is ignored).
Hook = Callable[[Registry], object]
#: The job service of one scope of a key's fingerprint.
ServiceOpener = Callable[[str], JobService]

#: How long a claim holds unrenewed; the round renews it a few times a lease while it works.
WATCH_LEASE = timedelta(seconds=60)
#: Seconds between two rounds unless the watcher is told otherwise (`settings`, where the CLI's
#: parser reads it without importing the job service).
DEFAULT_EVERY = WATCH_EVERY
#: Beyond two of its rounds, how long a watcher not seen still counts as running.
_SEEN_SLACK = timedelta(seconds=60)
#: Failures a round survives (the next round tries again); anything else is a bug to show.
ROUND_FAILURES = (BatchdashError, OSError, SQLAlchemyError)


@dataclass(frozen=True)
class WatchedKey:
    """A key the watcher holds: its fingerprint (the scopes it serves) and how to open the job
    service of one of them."""

    fingerprint: str
    open_service: ServiceOpener


@dataclass
class WatchRound:
    """What one round did."""

    #: The jobs it moved, as their refresh left them.
    moved: list[JobStatus] = field(default_factory=list)
    #: Jobs another live watcher held: job id -> its holder (`registry.holders` text).
    skipped: dict[str, str] = field(default_factory=dict)
    #: What failed (an API error for one scope's jobs, a hook); the rest of the round went on.
    failures: list[Exception] = field(default_factory=list)


class Watcher:
    """Moves the active jobs of its keys, a round at a time, beside any other watcher on the
    same registry."""

    def __init__(
        self,
        registry: Registry,
        keys: Sequence[WatchedKey],
        *,
        every: float = DEFAULT_EVERY,
        hooks: Sequence[Hook] = (),
        lease: timedelta = WATCH_LEASE,
        rest: timedelta | None = None,
    ) -> None:
        """`rest`: how long the jobs it moved stay its own after a round (default: `every`
        seconds, till its next round; a single round gives zero, leaving nothing held)."""
        self.registry = registry
        self.keys = list(keys)
        self.every = every
        self.hooks = list(hooks)
        self.lease = lease
        self.rest = timedelta(seconds=every) if rest is None else rest
        #: This watcher as its claims and heartbeat name it.
        self.holder = this_run().text()

    def run_round(self) -> WatchRound:
        """One round: claim, move and release every job it can, then run the hooks."""
        done = WatchRound()
        try:
            self._heartbeat()
        except SQLAlchemyError as error:
            done.failures.append(error)
        with self._renewing():
            for key in self.keys:
                try:
                    jobs = self.registry.watchable_jobs(key.fingerprint)
                except ROUND_FAILURES as error:
                    done.failures.append(error)
                    continue
                for scope, scoped in _by_scope(jobs).items():
                    self._move(key, scope, scoped, done)
        for hook in self.hooks:
            try:
                hook(self.registry)
            except Exception as error:  # another part's work must not stop the watcher
                done.failures.append(error)
        return done

    def stop(self) -> None:
        """The watcher stops: pages no longer say that it moves jobs, and the jobs it just
        moved are free for another watcher at once (with the database gone, the claims run out
        within their rest and the heartbeat is not seen lately any more)."""
        with suppress(SQLAlchemyError):
            self.registry.keep_watching(self.holder, lease=timedelta(0))
            self.registry.forget_watcher(self.holder)

    def _move(self, key: WatchedKey, scope: str, jobs: list[Job], done: WatchRound) -> None:
        """Claim the scope's jobs, refresh the ones won together, release them."""
        claimed: list[str] = []
        try:
            won = self.registry.claim_watch([job.id for job in jobs], self.holder, lease=self.lease)
            claimed = [job.id for job in jobs if job.id in won]
            skipped = [job.id for job in jobs if job.id not in won]
            if skipped:
                done.skipped.update(self.registry.watch_holders(skipped))
            if claimed:
                mine = [job for job in jobs if job.id in won]
                done.moved.extend(key.open_service(scope).refresh_jobs(mine))
        except ROUND_FAILURES as error:
            done.failures.append(error)
        finally:
            self._release(claimed)

    def _release(self, job_ids: list[str]) -> None:
        with suppress(SQLAlchemyError):  # unreleased, the claims run out within their lease
            self.registry.release_watch(job_ids, self.holder, rest=self.rest)

    def _heartbeat(self) -> None:
        fingerprints = [key.fingerprint for key in self.keys]
        self.registry.note_watcher(self.holder, fingerprints, self.every)

    @contextmanager
    def _renewing(self) -> Iterator[None]:
        """Renew the round's claims and the heartbeat while the round works (a large fetch may
        outlast a lease)."""
        stop = threading.Event()
        pause = self.lease.total_seconds() / 3

        def renew() -> None:
            while not stop.wait(pause):
                try:
                    self.registry.keep_watching(self.holder, lease=self.lease)
                    self._heartbeat()
                except SQLAlchemyError:
                    pass  # tried again a third of a lease later

        thread = threading.Thread(target=renew, name="watch-claims", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def watcher_seen_lately(registry: Registry, scope: str | None, now: datetime) -> WatcherSeen | None:
    """The latest heartbeat of a watcher serving `scope`'s key (None: any key) that is still
    due to come back: seen within two of its rounds and a minute (a round may take a while)."""
    fingerprint = None if scope is None else scope.split("/", 1)[0]
    for seen in registry.watchers_of(fingerprint):
        if now - seen.seen_at <= timedelta(seconds=2 * seen.every_seconds) + _SEEN_SLACK:
            return seen
    return None


def _by_scope(jobs: list[Job]) -> dict[str, list[Job]]:
    scopes: dict[str, list[Job]] = {}
    for job in jobs:
        scopes.setdefault(job.scope, []).append(job)
    return scopes
