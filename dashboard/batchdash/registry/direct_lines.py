"""What the registry keeps of direct parts: each row's line as it arrived, and who sends them.

A direct part (kind "direct") sends its rows one call each to the endpoint's synchronous route
(`batchdash.direct`). Every answer is recorded here the moment it arrives, as a line of the
Batch API's output format, keyed by part and custom_id: a row whose line is recorded is never
sent again, and the merge reads the lines as it reads a batch's files. A part is "sending"
while rows wait for a line, "cancelling" once a cancel was asked (its runner stops and the
unsent rows end as cancelled), "done" when every row has its line.

A runner holds the part with the same claim as a batch submitter (`claims`, `holders`): one
runner at a time, and a runner whose process is gone is recognised at once on its machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from batchdash.registry.claims import (
    NO_CLAIM,
    claim_statement,
    claimable,
    gone_holders,
    rowcount,
)
from batchdash.registry.holders import this_run
from batchdash.registry.kept import KeptResults, dialect_insert
from batchdash.registry.models import DirectLineModel, PartModel
from batchdash.registry.records import DEFAULT_LEASE, LineCounts

#: The part kind of rows sent to the synchronous route.
DIRECT_KIND: Literal["direct"] = "direct"
#: A direct part's states (see the module's docstring).
SENDING = "sending"
CANCELLING = "cancelling"
DONE = "done"
#: States in which a direct part may be held by a runner.
_HELD_STATES = (SENDING, CANCELLING)

#: Lines read at a time when the merge reads a part's lines.
LINES_PER_RUN = 5_000


@dataclass(frozen=True)
class DirectLine:
    """One row's line, ready to record."""

    #: The row's custom_id.
    custom_id: str
    #: "ok", "error" or "cancelled".
    outcome: str
    #: The output line (JSON, no newline).
    line: str
    #: Calls made for the row, retries included.
    calls: int


class DirectLines(KeptResults):
    """Direct parts' lines and claims, on the registry's database."""

    # -- claims -------------------------------------------------------------------------------

    def claim_direct_part(
        self,
        part_id: int,
        *,
        lease: timedelta = DEFAULT_LEASE,
        holder: str | None = None,
        ceiling: int | None = None,
    ) -> str | None:
        """Hold a direct part that has rows to send, noting the calls at once the run was asked
        for (`ceiling`, when given); its claim token, or None when a live runner holds it or
        it is cancelled or done."""
        token = uuid.uuid4().hex
        now = self._clock()
        held_by = holder or this_run().text()
        with self._write() as session:
            gone = gone_holders(session, PartModel.id == part_id, now, _HELD_STATES)
            statement = claim_statement(
                part_id, token, now, lease, held_by, gone, states=(SENDING,)
            )
            if ceiling is not None:
                statement = statement.values(direct_ceiling=ceiling)
            claimed = rowcount(session, statement)
        return token if claimed else None

    def keep_direct_claim(
        self,
        part_id: int,
        claim: str,
        *,
        lease: timedelta = DEFAULT_LEASE,
        in_flight: int = 0,
        concurrency: int | None = None,
    ) -> str | None:
        """Renew a runner's claim, noting its calls under way and how many it allows at once;
        the part's state ("sending" or "cancelling"), or None when the claim is lost (the part
        went to another runner, or was finished)."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.claim_token == claim)
            .where(PartModel.state.in_(_HELD_STATES))
            .values(
                claim_expires_at=self._clock() + lease,
                direct_in_flight=in_flight,
                direct_concurrency=concurrency,
            )
            .returning(PartModel.state)
        )
        with self._write() as session:
            state = session.execute(statement).scalar_one_or_none()
        return None if state is None else str(state)

    def direct_state(self, part_id: int) -> str:
        """The direct part's state, read alone (a runner looks at it between calls)."""
        with self._read() as session:
            return str(session.scalar(select(PartModel.state).where(PartModel.id == part_id)))

    def release_direct_part(self, part_id: int, claim: str) -> None:
        """Give the part back unfinished (its runner stopped); its state stays."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.claim_token == claim)
            .values(**NO_CLAIM, direct_in_flight=0)
        )
        with self._write() as session:
            session.execute(statement)

    def request_direct_cancel(self, part_id: int) -> bool:
        """Ask the part's runner (in any process) to stop sending; False when it was not
        sending (already cancelling, or done)."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.state == SENDING)
            .values(state=CANCELLING, updated_at=self._clock())
        )
        with self._write() as session:
            return bool(rowcount(session, statement))

    def finish_direct_part(
        self, part_id: int, lines: Iterable[DirectLine] = (), *, claim: str | None = None
    ) -> bool:
        """Record the last lines (the cancelled rows) and mark the part done, in one step.

        With `claim`, only its holder finishes it; without, only when no live runner holds it.
        False when the part was not finished here (another holder, or already done)."""
        now = self._clock()
        with self._write() as session:
            held: ColumnElement[bool]
            if claim is not None:
                held = (PartModel.claim_token == claim) & PartModel.state.in_(_HELD_STATES)
            else:
                gone = gone_holders(session, PartModel.id == part_id, now, _HELD_STATES)
                held = claimable(now, gone, _HELD_STATES)
            statement = (
                update(PartModel)
                .where(PartModel.id == part_id, held)
                .values(**NO_CLAIM, state=DONE, direct_in_flight=0, updated_at=now)
            )
            if not rowcount(session, statement):
                return False
            self._insert_lines(session, part_id, list(lines))
        return True

    # -- lines --------------------------------------------------------------------------------

    def record_direct_line(self, part_id: int, line: DirectLine) -> bool:
        """Record one row's line as it arrived (one statement); False when the row had its
        line already (it is never replaced)."""
        with self._write() as session:
            return bool(self._insert_lines(session, part_id, [line]))

    def note_direct_calls(self, part_id: int, calls: int) -> None:
        """Count calls that brought no line (rows in flight when a runner stopped); the calls
        of recorded rows are counted in their lines."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id)
            .values(direct_calls=func.coalesce(PartModel.direct_calls, 0) + calls)
        )
        with self._write() as session:
            rowcount(session, statement)

    def direct_recorded_ids(self, part_id: int) -> set[str]:
        """The custom_ids of the part's rows that have their line."""
        query = select(DirectLineModel.custom_id).where(DirectLineModel.part_id == part_id)
        with self._read() as session:
            return set(session.scalars(query))

    def direct_line_runs(self, part_id: int, lines: int = LINES_PER_RUN) -> Iterator[bytes]:
        """The part's lines in arrival order, as runs of whole JSONL lines."""
        last = 0
        while True:
            query = (
                select(DirectLineModel.id, DirectLineModel.line)
                .where(DirectLineModel.part_id == part_id, DirectLineModel.id > last)
                .order_by(DirectLineModel.id)
                .limit(lines)
            )
            with self._read() as session:
                found = session.execute(query).all()
            if not found:
                return
            last = found[-1][0]
            yield "".join(f"{line}\n" for _, line in found).encode()

    def direct_line_counts(self, part_ids: Sequence[int]) -> dict[int, LineCounts]:
        """Recorded lines per part (parts without any are left out)."""
        with self._read() as session:
            return line_counts(session, part_ids)

    # -- the merged table's key ---------------------------------------------------------------

    def _result_keys(self, session: Session, job_id: str) -> list[str]:
        # A direct part's lines change the merged table without any batch being fetched.
        counts = (
            select(DirectLineModel.part_id, func.count())
            .join(PartModel, DirectLineModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
            .group_by(DirectLineModel.part_id)
        )
        direct = [f"direct:{part}:{count}" for part, count in session.execute(counts)]
        return sorted([*super()._result_keys(session, job_id), *direct])

    def _insert_lines(self, session: Session, part_id: int, lines: list[DirectLine]) -> int:
        if not lines:
            return 0
        now = self._clock()
        rows = [
            {
                "part_id": part_id,
                "custom_id": line.custom_id,
                "outcome": line.outcome,
                "line": line.line,
                "calls": line.calls,
                "recorded_at": now,
            }
            for line in lines
        ]
        statement = dialect_insert(session, DirectLineModel).on_conflict_do_nothing(
            index_elements=[DirectLineModel.part_id, DirectLineModel.custom_id]
        )
        if len(rows) == 1:
            # RETURNING says whether the row went in (PostgreSQL gives no rowcount here).
            return len(session.execute(statement.values(rows).returning(DirectLineModel.id)).all())
        session.execute(statement, rows)
        return len(rows)


def line_counts(session: Session, part_ids: Sequence[int]) -> dict[int, LineCounts]:
    """Recorded lines per part, inside a transaction already open."""
    found: dict[int, dict[str, int]] = {}
    wanted = list(part_ids)
    for start in range(0, len(wanted), 500):  # far below any bound-parameter limit
        query = (
            select(
                DirectLineModel.part_id,
                DirectLineModel.outcome,
                func.count(),
                func.sum(DirectLineModel.calls),
            )
            .where(DirectLineModel.part_id.in_(wanted[start : start + 500]))
            .group_by(DirectLineModel.part_id, DirectLineModel.outcome)
        )
        for part_id, outcome, count, calls in session.execute(query):
            counts = found.setdefault(part_id, {"calls": 0})
            counts[str(outcome)] = int(count)
            counts["calls"] += int(calls or 0)
    return {part_id: LineCounts(**counts) for part_id, counts in found.items()}
