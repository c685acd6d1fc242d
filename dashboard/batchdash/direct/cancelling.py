"""Cancelling a job's direct parts from any process: each is asked to stop through the
registry (its runner, wherever it runs, looks between calls), and one that no live runner
holds is finished at once, its unsent rows `cancelled`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from batchdash.direct.lines import cancelled_line
from batchdash.direct.progress import is_live
from batchdash.direct.rows import part_custom_ids
from batchdash.registry.direct_lines import CANCELLING, DIRECT_KIND, DONE, SENDING
from batchdash.registry.records import Job, Part
from batchdash.registry.store import Registry


def open_direct_parts(parts: Sequence[Part]) -> list[Part]:
    """The direct parts with rows still to send (or being cancelled), by number."""
    return [part for part in parts if part.kind == DIRECT_KIND and part.state != DONE]


def cancel_direct(registry: Registry, job: Job, parts: Sequence[Part], now: datetime) -> int:
    """Ask every open direct part of the job to stop; how many were still sending."""
    stopped = 0
    for part in open_direct_parts(parts):
        if part.state == SENDING and registry.request_direct_cancel(part.id):
            stopped += 1
        if not is_live(part, now):
            finish_cancelled(registry, job, part)
    return stopped


def finish_abandoned_cancels(
    registry: Registry, job: Job, parts: Sequence[Part], now: datetime
) -> bool:
    """Finish the parts a cancel was asked of whose runner is gone; whether any was."""
    abandoned = [part for part in parts if part.kind == DIRECT_KIND and part.state == CANCELLING]
    return any([finish_cancelled(registry, job, p) for p in abandoned if not is_live(p, now)])


def finish_cancelled(registry: Registry, job: Job, part: Part, claim: str | None = None) -> bool:
    """Record `cancelled` for the part's rows without a line and mark it done (only by the
    holder of `claim`, or, without one, when no live runner holds it); whether it was."""
    recorded = registry.direct_recorded_ids(part.id)
    ids = part_custom_ids(registry.job_rows(job.id), job.recipe, part)
    lines = [cancelled_line(custom_id) for custom_id in ids if custom_id not in recorded]
    return registry.finish_direct_part(part.id, lines, claim=claim)
