"""How far a job's direct run is, read from the registry alone (any process can ask)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from batchdash.i18n import Message, _l, n_l
from batchdash.registry.direct_lines import CANCELLING, DIRECT_KIND, DONE
from batchdash.registry.holders import is_gone
from batchdash.registry.records import LineCounts, Part
from batchdash.wording import listing

#: "running": a live runner sends rows; "stopped": rows wait and nobody sends them (resume
#: them); "cancelling": a cancel was asked and the runner is stopping; "done": every row has
#: its line; "none": the job has no direct part.
DirectState = Literal["running", "stopped", "cancelling", "done", "none"]


@dataclass(frozen=True)
class DirectProgress:
    """A job's direct parts, summed: what was answered, what failed, what is left."""

    #: Rows the direct parts send (a row repaired directly counts once per part).
    rows: int
    #: Rows answered (HTTP 200).
    answered: int
    #: Rows failed: refused by the server, or failing past the retries.
    failed: int
    #: Rows a cancel kept from being sent.
    cancelled: int
    #: Calls under way now (0 when no runner runs).
    in_flight: int
    #: Rows without a line that are not under way.
    left: int
    #: Calls made, retries included.
    calls: int
    #: Calls the runner allows at once now (None when no runner runs).
    concurrency: int | None
    #: See DirectState.
    state: DirectState

    @property
    def recorded(self) -> int:
        """Rows with their line."""
        return self.answered + self.failed + self.cancelled

    def describe(self) -> Message:
        """One line for the analyst, worded when shown: "1,200 of 2,000 rows answered, 3
        failed, 8 in flight"."""
        parts = [
            _l("{answered:,} of {rows:,} rows answered", answered=self.answered, rows=self.rows)
        ]
        if self.failed:
            parts.append(_l("{n:,} failed", n=self.failed))
        if self.cancelled:
            parts.append(_l("{n:,} cancelled", n=self.cancelled))
        if self.in_flight:
            parts.append(_l("{n:,} in flight", n=self.in_flight))
        if self.concurrency is not None:
            parts.append(_l("{n} at once", n=self.concurrency))
        parts.append(n_l("{n:,} call", "{n:,} calls", self.calls))
        return _l("{clauses}.", clauses=listing(parts))


def is_live(part: Part, now: datetime) -> bool:
    """Whether a runner that still runs holds the part (renewed, and not gone from here)."""
    return (
        part.claim_expires_at is not None
        and part.claim_expires_at > now
        and not is_gone(part.claim_holder)
    )


def direct_progress(
    parts: Sequence[Part], lines: Mapping[int, LineCounts], now: datetime
) -> DirectProgress:
    """The progress of the direct parts among `parts`, with their recorded `lines` (by part
    id, as `Registry.job_records` reads them)."""
    direct = [part for part in parts if part.kind == DIRECT_KIND]
    if not direct:
        return DirectProgress(0, 0, 0, 0, 0, 0, 0, None, "none")
    live = [part for part in direct if part.state != DONE and is_live(part, now)]
    counts = [lines.get(part.id, LineCounts()) for part in direct]
    answered = sum(count.ok for count in counts)
    failed = sum(count.error for count in counts)
    cancelled = sum(count.cancelled for count in counts)
    in_flight = sum(part.direct_in_flight for part in live)
    rows = sum(part.requests for part in direct)
    state: DirectState
    if all(part.state == DONE for part in direct):
        state = "done"
    elif any(part.state == CANCELLING for part in direct):
        state = "cancelling"
    else:
        state = "running" if live else "stopped"
    return DirectProgress(
        rows=rows,
        answered=answered,
        failed=failed,
        cancelled=cancelled,
        in_flight=in_flight,
        left=max(rows - answered - failed - cancelled - in_flight, 0),
        calls=sum(
            part.direct_calls + count.calls for part, count in zip(direct, counts, strict=True)
        ),
        concurrency=max((p.direct_concurrency or 0 for p in live), default=0) or None,
        state=state,
    )
