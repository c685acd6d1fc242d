"""Watchers on one registry: which jobs each may move, its claims on them, and its heartbeat.

Several watchers (`cli.py watch`, on one machine or several) may share a PostgreSQL registry.
Each round a watcher claims the jobs it is about to move, all of a scope in one transaction: a
conditional UPDATE of the free claims and, for jobs nobody claimed yet, an INSERT that the
primary key lets only one claimer win, so exactly one watcher moves a job at a time. A claim names its holder (`holders`) and carries a
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

from sqlalchemy import Insert, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

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

    def claim_watch(self, job_ids: Sequence[str], holder: str, *, lease: timedelta) -> set[str]:
        """Claim the jobs for `holder` until `lease` runs out; the ones it won (a job another
        live watcher holds is left out; a claim of `holder` itself is renewed).

        One transaction for all: a conditional UPDATE of the claims that are free (lapsed,
        `holder`'s own, or a gone holder's), an INSERT of the missing ones that skips any a
        racing watcher inserted first, then the ones `holder` now has, stamped with this
        claim's moment. Ids are taken in order, so two watchers lock rows in the same order.
        """
        if not job_ids:
            return set()
        ids = sorted(set(job_ids))
        now = self._clock()
        values = {"holder": holder, "claimed_at": now, "expires_at": now + lease}
        for attempt in range(2):
            try:
                with self._write() as session:
                    held = session.execute(
                        select(WatchClaimModel.job_id, WatchClaimModel.holder).where(
                            WatchClaimModel.job_id.in_(ids)
                        )
                    ).all()
                    gone = sorted({h for _, h in held if h != holder and is_gone(h)})
                    free = [WatchClaimModel.expires_at <= now, WatchClaimModel.holder == holder]
                    if gone:
                        free.append(WatchClaimModel.holder.in_(gone))
                    rowcount(
                        session,
                        update(WatchClaimModel)
                        .where(WatchClaimModel.job_id.in_(ids), or_(*free))
                        .values(**values),
                    )
                    known = {job_id for job_id, _ in held}
                    missing = [job_id for job_id in ids if job_id not in known]
                    if missing:
                        rows = [{"job_id": job_id, **values} for job_id in missing]
                        session.execute(_insert_missing(self.dialect).values(rows))
                    won = session.scalars(
                        select(WatchClaimModel.job_id).where(
                            WatchClaimModel.job_id.in_(ids),
                            WatchClaimModel.holder == holder,
                            WatchClaimModel.claimed_at == now,
                        )
                    )
                    return set(won)
            except OperationalError:
                if attempt:  # a deadlock with another watcher, twice: leave them this round
                    raise
        return set()

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


def _insert_missing(dialect: str) -> Insert:
    """An INSERT of claims that skips a job a racing watcher inserted a claim for first."""
    if dialect == "postgresql":
        return postgresql.insert(WatchClaimModel).on_conflict_do_nothing()
    return sqlite.insert(WatchClaimModel).on_conflict_do_nothing()
