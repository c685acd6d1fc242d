"""Watchers on one registry: which jobs each may move, its claims on them, and its heartbeat.

Several watchers (`cli.py watch`, on one machine or several) may share a PostgreSQL registry.
Each round a watcher claims every job it is about to move; a claim is one conditional UPDATE
(or, for a job nobody claimed yet, one INSERT that the primary key lets only one claimer win),
so exactly one watcher moves a job at a time. A claim names its holder (`holders`) and carries a
short lease the holder renews while it works: a claim whose holder's process is gone from this
machine is free at once, any other one once its lease runs out. At the end of its round the
holder releases its claims, leaving them to rest until its next round is due: a job one watcher
just moved is not moved again by another a moment later (with N watchers, a job is still polled
once a round, not N times).

Each round a watcher also records its heartbeat: the key fingerprints it serves and when it was
last seen, which the Jobs page reads to say that jobs move on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from batchdash.registry.claims import rowcount
from batchdash.registry.database import RegistryDatabase
from batchdash.registry.holders import is_gone
from batchdash.registry.models import JobModel, WatchClaimModel, WatcherModel
from batchdash.registry.records import Job, job_record

#: How long a watcher's heartbeat is kept after it was last seen (a killed one leaves it).
_FORGOTTEN_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class WatcherSeen:
    """A watcher's last heartbeat."""

    #: Its process (`registry.holders`).
    holder: str
    #: The key fingerprints whose jobs it moves.
    fingerprints: tuple[str, ...]
    #: Seconds between two of its rounds.
    every_seconds: float
    seen_at: datetime


class WatchClaims(RegistryDatabase):
    """Watchers' claims on jobs and their heartbeats, on the registry's database."""

    def watchable_jobs(self, fingerprint: str) -> list[Job]:
        """The active jobs of every scope of a key fingerprint (`fingerprint` and
        `fingerprint/user`), archived or not, oldest first."""
        query = (
            select(JobModel)
            .where(JobModel.state == "active")
            .where(or_(JobModel.scope == fingerprint, JobModel.scope.startswith(f"{fingerprint}/")))
            .order_by(JobModel.created_at, JobModel.id)
        )
        with self._read() as session:
            return [job_record(job) for job in session.scalars(query)]

    def claim_watch(self, job_id: str, holder: str, *, lease: timedelta) -> bool:
        """Claim the job for `holder` until `lease` runs out; False when another live watcher
        holds it (a claim of `holder` itself is renewed)."""
        now = self._clock()
        values = {"holder": holder, "claimed_at": now, "expires_at": now + lease}
        with self._read() as session:
            current = session.scalar(
                select(WatchClaimModel.holder).where(WatchClaimModel.job_id == job_id)
            )
        free = [WatchClaimModel.expires_at <= now, WatchClaimModel.holder == holder]
        if current is not None and current != holder and is_gone(current):
            free.append(WatchClaimModel.holder == current)
        statement = (
            update(WatchClaimModel)
            .where(WatchClaimModel.job_id == job_id, or_(*free))
            .values(**values)
        )
        with self._write() as session:
            if rowcount(session, statement):
                return True
            if current is not None:
                return False  # held by another live watcher (or taken since by one)
        try:
            with self._write() as session:
                session.add(WatchClaimModel(job_id=job_id, **values))
        except IntegrityError:
            return False  # another watcher inserted its claim first
        return True

    def keep_watching(self, holder: str, *, lease: timedelta) -> int:
        """The heartbeat of a round: renew `holder`'s claims; how many it still holds."""
        statement = (
            update(WatchClaimModel)
            .where(WatchClaimModel.holder == holder)
            .values(expires_at=self._clock() + lease)
        )
        with self._write() as session:
            return rowcount(session, statement)

    def release_watch(
        self, job_ids: Sequence[str], holder: str, *, rest: timedelta = timedelta(0)
    ) -> None:
        """Let go of `holder`'s claims on the jobs once `rest` has passed (the jobs were just
        moved; a claim taken over since is left alone)."""
        if not job_ids:
            return
        statement = (
            update(WatchClaimModel)
            .where(WatchClaimModel.holder == holder, WatchClaimModel.job_id.in_(list(job_ids)))
            .values(expires_at=self._clock() + rest)
        )
        with self._write() as session:
            rowcount(session, statement)

    def watch_holders(self, job_ids: Sequence[str]) -> dict[str, str]:
        """Who holds a live claim on each of the jobs (free or lapsed ones left out)."""
        now = self._clock()
        statement = select(WatchClaimModel.job_id, WatchClaimModel.holder).where(
            WatchClaimModel.job_id.in_(list(job_ids)), WatchClaimModel.expires_at > now
        )
        with self._read() as session:
            held = {job_id: holder for job_id, holder in session.execute(statement)}
        return {job_id: holder for job_id, holder in held.items() if not is_gone(holder)}

    # -- heartbeats ---------------------------------------------------------------------------

    def note_watcher(self, holder: str, fingerprints: Sequence[str], every_seconds: float) -> None:
        """Record that the watcher `holder` is running now (and forget long-gone ones)."""
        now = self._clock()
        with self._write() as session:
            session.execute(
                delete(WatcherModel).where(WatcherModel.seen_at < now - _FORGOTTEN_AFTER)
            )
            model = session.get(WatcherModel, holder)
            if model is None:
                model = WatcherModel(holder=holder)
                session.add(model)
            model.fingerprints = list(fingerprints)
            model.every_seconds = every_seconds
            model.seen_at = now

    def forget_watcher(self, holder: str) -> None:
        """The watcher `holder` stopped: no page says any more that it moves jobs."""
        with self._write() as session:
            session.execute(delete(WatcherModel).where(WatcherModel.holder == holder))

    def watchers_of(self, fingerprint: str | None) -> list[WatcherSeen]:
        """The heartbeats of the watchers serving a key fingerprint (None: of every watcher),
        latest first (a watcher whose process is known to be gone left out)."""
        query = select(WatcherModel).order_by(WatcherModel.seen_at.desc())
        with self._read() as session:
            seen = [
                WatcherSeen(
                    model.holder,
                    tuple(model.fingerprints),
                    model.every_seconds,
                    model.seen_at,
                )
                for model in session.scalars(query)
            ]
        return [
            w
            for w in seen
            if (fingerprint is None or fingerprint in w.fingerprints) and not is_gone(w.holder)
        ]
