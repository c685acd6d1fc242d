"""Claims on parts: one conditional UPDATE decides which of several racing claimers holds a
part, and a claim whose holder's process is gone (`holders`) is free at once.

Batch parts are claimed while planned or uploaded (`store`), direct parts while they have rows
to send (`direct_lines`): each caller names the states its parts are claimable in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from batchdash.registry.holders import is_gone
from batchdash.registry.models import PartModel

#: A batch part's states in which it may still be claimed (no batch yet).
OPEN_STATES = ("planned", "uploaded")

NO_CLAIM: dict[str, Any] = {
    "claim_token": None,
    "claimed_at": None,
    "claim_expires_at": None,
    "claim_holder": None,
}


def gone_holders(
    session: Session,
    where: ColumnElement[bool],
    now: datetime,
    states: Sequence[str] = OPEN_STATES,
) -> list[str]:
    """Holders of live claims on the parts `where` picks whose process is gone (`holders`)."""
    held = session.scalars(
        select(PartModel.claim_holder)
        .where(where, PartModel.state.in_(states), PartModel.claim_token.is_not(None))
        .where(PartModel.claim_holder.is_not(None), PartModel.claim_expires_at >= now)
        .distinct()
    )
    return [holder for holder in held if holder is not None and is_gone(holder)]


def claimable(
    now: datetime, gone: Sequence[str] = (), states: Sequence[str] = OPEN_STATES
) -> ColumnElement[bool]:
    free = [PartModel.claim_token.is_(None), PartModel.claim_expires_at < now]
    if gone:
        free.append(PartModel.claim_holder.in_(list(gone)))
    return PartModel.state.in_(states) & or_(*free)


def claim_statement(
    part_id: int,
    token: str,
    now: datetime,
    lease: timedelta,
    holder: str,
    gone: Sequence[str],
    states: Sequence[str] = OPEN_STATES,
) -> Update:
    # One conditional UPDATE: the database lets exactly one of several racing claimers match.
    return (
        update(PartModel)
        .where(PartModel.id == part_id, claimable(now, gone, states))
        .values(
            claim_token=token,
            claimed_at=now,
            claim_expires_at=now + lease,
            claim_holder=holder,
            updated_at=now,
        )
    )


def rowcount(session: Session, statement: Any) -> int:
    # Our sessions live for one transaction, so the ORM need not mirror updates into objects.
    options = {"synchronize_session": False} if isinstance(statement, Update) else {}
    result = cast(CursorResult[Any], session.execute(statement, execution_options=options))
    return result.rowcount
