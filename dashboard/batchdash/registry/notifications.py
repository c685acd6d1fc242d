"""The notifications' outbox: each event of a job recorded once, each claimed before it is sent.

Recording is an INSERT under a unique (job, event) key, so two processes that see the same job
finish keep one row. Sending starts with a claim, a conditional UPDATE that exactly one of
several racing deliverers wins (as `claims` does for parts), held for a lease: a deliverer that
dies mid-send leaves the row to be taken over once its lease runs out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from batchdash.registry.claims import rowcount
from batchdash.registry.database import RegistryDatabase
from batchdash.registry.holders import this_run
from batchdash.registry.models import NotificationModel

PENDING, SENT, GIVEN_UP = "pending", "sent", "given_up"

#: How long a deliverer holds a notification: far more than its sends' timeouts add up to.
NOTIFY_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Notification:
    """One row of the outbox."""

    id: int
    job_id: str
    scope: str
    #: "finished", "failed" or "expiring".
    event: str
    #: The plain body (event, job_id, name, state, counts, cost_usd) and `expires_at`.
    payload: dict[str, Any]
    state: str
    #: Digests of the targets already reached.
    reached: tuple[str, ...]
    attempts: int
    last_error: str | None
    #: The claim this process holds on it ("" when read without one).
    token: str = ""


def _record(model: NotificationModel, token: str = "") -> Notification:
    return Notification(
        id=model.id,
        job_id=model.job_id,
        scope=model.scope,
        event=model.event,
        payload=dict(model.payload),
        state=model.state,
        reached=tuple(model.reached or ()),
        attempts=model.attempts,
        last_error=model.last_error,
        token=token,
    )


class NotificationOutbox(RegistryDatabase):
    """Notifications recorded once and sent once."""

    def record_notification(
        self, job_id: str, scope: str, event: str, payload: dict[str, Any]
    ) -> bool:
        """Record the job's event; False when it was recorded already (here or elsewhere)."""
        statement = select(NotificationModel.id).where(
            NotificationModel.job_id == job_id, NotificationModel.event == event
        )
        with self._read() as session:
            if session.scalar(statement) is not None:
                return False
        try:
            with self._write() as session:
                session.add(
                    NotificationModel(
                        job_id=job_id,
                        scope=scope,
                        event=event,
                        payload=payload,
                        state=PENDING,
                        reached=[],
                        attempts=0,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError:
            return False  # another process recorded it between the look and the insert
        return True

    def recorded_events(self, job_ids: Sequence[str]) -> set[tuple[str, str]]:
        """The (job, event) pairs already in the outbox among these jobs, in one query."""
        wanted = list(dict.fromkeys(job_ids))
        found: set[tuple[str, str]] = set()
        with self._read() as session:
            for start in range(0, len(wanted), 500):  # far below any bound-parameter limit
                query = select(NotificationModel.job_id, NotificationModel.event).where(
                    NotificationModel.job_id.in_(wanted[start : start + 500])
                )
                found.update((job_id, event) for job_id, event in session.execute(query))
        return found

    def notifications(
        self, job_ids: Sequence[str] | None = None, *, scope: str | None = None
    ) -> list[Notification]:
        """The outbox in the order it was recorded (of some jobs, or of a scope, when given)."""
        query = select(NotificationModel).order_by(NotificationModel.id)
        if job_ids is not None:
            query = query.where(NotificationModel.job_id.in_(list(job_ids)))
        if scope is not None:
            query = query.where(NotificationModel.scope == scope)
        with self._read() as session:
            return [_record(model) for model in session.scalars(query)]

    def claim_notification(
        self, *, lease: timedelta = NOTIFY_LEASE, holder: str | None = None
    ) -> Notification | None:
        """Hold the oldest pending notification that is due and that no live deliverer holds."""
        token = uuid.uuid4().hex
        now = self._clock()
        due = (
            (NotificationModel.state == PENDING)
            & or_(NotificationModel.retry_at.is_(None), NotificationModel.retry_at <= now)
            & or_(NotificationModel.claim_token.is_(None), NotificationModel.claim_expires_at < now)
        )
        with self._read() as session:
            # Most calls find nothing due: a read spares them a write transaction.
            if session.scalar(select(NotificationModel.id).where(due).limit(1)) is None:
                return None
        tried: list[int] = []
        with self._write() as session:
            while (
                found := session.scalar(
                    select(NotificationModel.id)
                    .where(due, NotificationModel.id.not_in(tried))
                    .order_by(NotificationModel.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ) is not None:
                claim = (
                    update(NotificationModel)
                    .where(NotificationModel.id == found, due)
                    .values(
                        claim_token=token,
                        claim_holder=holder or this_run().text(),
                        claim_expires_at=now + lease,
                    )
                )
                if rowcount(session, claim):
                    model = session.get(NotificationModel, found, populate_existing=True)
                    assert model is not None
                    return _record(model, token)
                tried.append(found)
        return None

    def note_reached(self, notification: Notification) -> bool:
        """Record the targets the claimed notification reached so far (digests); False when
        the claim was lost (another deliverer took it over after the lease)."""
        return self._update_claimed(notification, reached=list(notification.reached))

    def mark_sent(self, notification: Notification) -> bool:
        """The claimed notification reached every target: it is never sent again."""
        return self._update_claimed(notification, state=SENT, sent_at=self._clock())

    def mark_failed(self, notification: Notification, error: str, delay: timedelta | None) -> bool:
        """A send failed: try again after `delay`, or never (None) after too many attempts."""
        retry_at = None if delay is None else self._clock() + delay
        return self._update_claimed(
            notification,
            state=PENDING if retry_at else GIVEN_UP,
            attempts=notification.attempts + 1,
            last_error=error,
            retry_at=retry_at,
        )

    def _update_claimed(self, notification: Notification, **values: Any) -> bool:
        done = values.get("state") in (SENT, GIVEN_UP) or "retry_at" in values
        release = {"claim_token": None, "claim_holder": None, "claim_expires_at": None}
        statement = (
            update(NotificationModel)
            .where(
                NotificationModel.id == notification.id,
                NotificationModel.claim_token == notification.token,
            )
            .values(**values, **(release if done else {}))
        )
        with self._write() as session:
            return bool(rowcount(session, statement))
