"""What the analyst sees of a job: one status, one progress, one cost, over all its batches.

Everything here is computed from what the registry holds (parts, batch snapshots, which results
were fetched, the merged table); nothing calls the API.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from batchdash.api.batch_info import BatchErrorEntry, BatchInfo
from batchdash.direct.progress import DirectProgress, direct_progress, is_live
from batchdash.direct.rows import part_positions
from batchdash.i18n import Message, _l, n_l
from batchdash.jobs.sending import DISCARDED, RESUME_AFTER, is_sending, unsent_note, unsent_parts
from batchdash.preflight.cost import answer_limit
from batchdash.preflight.pricing import ModelPrice, direct_price
from batchdash.recipe import DIRECT_BATCH_ID
from batchdash.registry.direct_lines import CANCELLING, DIRECT_KIND, DONE
from batchdash.registry.records import Job, LineCounts, Part
from batchdash.results.parse import ROW_STATUSES
from batchdash.results.vllm_lines import IMPORTED_PREFIX

JobState = Literal["active", "finished"]

#: Row counts of a job: the merged table's statuses, plus rows whose batch has not finished.
COUNT_KEYS: tuple[str, ...] = (*ROW_STATUSES, "pending")


@dataclass(frozen=True)
class BatchRow:
    """One batch of a job, as the Jobs page lists it."""

    #: Batch id.
    id: str
    #: Number of the job's part the batch runs.
    part_number: int
    #: "initial", "repair" or "attached".
    kind: str
    #: Status as the API last said (validating, in_progress, ..., or a provider's own word).
    status: str
    #: Requests in the batch.
    total: int
    #: Requests answered so far.
    completed: int
    #: Requests failed so far.
    failed: int
    #: Unix seconds of creation.
    created_at: int | None
    #: Unix seconds when the completion window ends.
    expires_at: int | None
    #: Validation errors, with the input-file line each is about.
    errors: tuple[BatchErrorEntry, ...]
    #: Input tokens billed so far.
    input_tokens: int
    #: Output tokens billed so far.
    output_tokens: int


@dataclass(frozen=True)
class JobStatus:
    """A job at a glance, summed over its parts and batches."""

    #: The job's id.
    job_id: str
    #: The analyst's name for it.
    name: str
    #: When it was saved.
    created_at: datetime
    #: Model of its requests.
    model: str
    #: Endpoint of its requests.
    endpoint: str
    #: "active" while any part is unsubmitted, running or not fetched yet; else "finished".
    state: JobState
    #: Input rows.
    rows: int
    #: Rows by status: ok, error, expired, cancelled, not_run and pending (summing to `rows`).
    counts: dict[str, int]
    #: Number of parts (initial, repair and attached).
    parts: int
    #: Every batch of the job, by part number.
    batches: tuple[BatchRow, ...]
    #: Share of the job's requests that have finished, 0 to 1.
    progress: float
    #: USD for the input tokens at the batch price, summed over parts; None when unknown.
    estimated_cost_usd: float | None
    #: USD billed so far at the batch price; None when the model's price is unknown.
    actual_cost_usd: float | None
    #: Unix seconds of the earliest completion-window end among running batches.
    expires_at: int | None
    #: Hidden from the list of jobs.
    archived: bool
    #: Plain sentences about what went wrong and what to do.
    problems: tuple[str | Message, ...] = field(default=())
    #: Parts of a submitted job still to be sent (a submission under way, or one that stopped).
    unsent: int = 0
    #: Of those, the parts that wait for room under the enqueued-token limit (`token_queue`).
    queued: int = 0
    #: What is not sent yet and what will happen to it ("" when everything is sent).
    unsent_note: str | Message = ""
    #: How to act on the unsent parts from the command line ("" when there is nothing to do).
    unsent_hint: str | Message = ""
    #: Whether a live submitter is sending the job's parts right now.
    sending: bool = False
    #: Saved, but its submission never started: the analyst sends it or discards it.
    never_started: bool = False
    #: Nothing of it was sent, and the analyst discarded every part.
    discarded: bool = False
    #: Its direct runs' progress (`batchdash.direct`); None for a job without any.
    direct: DirectProgress | None = None
    #: USD of the answers projected from tried rows; None without a try or a price.
    answers_expected_usd: float | None = None
    #: USD if every answer used its whole output limit; None when unknown.
    answers_max_usd: float | None = None
    #: Rows exported to run elsewhere (vLLM's run-batch) whose output file is not imported yet.
    exported: int = 0

    @property
    def expected_cost_usd(self) -> float | None:
        """Input plus projected answers: what the job is expected to cost; None without a try."""
        if self.estimated_cost_usd is None or self.answers_expected_usd is None:
            return None
        return self.estimated_cost_usd + self.answers_expected_usd

    @property
    def max_cost_usd(self) -> float | None:
        """Input plus the answers' upper bound."""
        if self.estimated_cost_usd is None or self.answers_max_usd is None:
            return None
        return self.estimated_cost_usd + self.answers_max_usd


@dataclass
class JobView:
    """A job with its parts and the latest snapshot of each batch, as loaded from the registry."""

    #: The job.
    job: Job
    #: Its parts by number.
    parts: list[Part]
    #: Latest snapshot of each of its batches.
    infos: dict[str, BatchInfo]
    #: Batches whose results were fetched and kept.
    fetched: set[str]
    #: Direct parts' recorded lines: part id -> outcome -> rows.
    direct_lines: dict[int, LineCounts] = field(default_factory=dict)
    #: The custom_ids recorded by each direct part still sending (what it no longer waits for).
    direct_recorded: dict[int, frozenset[str]] = field(default_factory=dict)

    def is_open(self, part: Part) -> bool:
        """Whether the part still has work: unsubmitted, running, or results not fetched yet
        (a direct part: rows without their line)."""
        if part.kind == DIRECT_KIND:
            return part.state != DONE
        if part.state == "failed":
            return False
        return part.batch_id is None or part.batch_id not in self.fetched

    def active_batches(self) -> list[str]:
        """Batches not known to be terminal yet."""
        return [
            part.batch_id
            for part in self.parts
            if part.batch_id is not None
            and not (part.batch_id in self.infos and self.infos[part.batch_id].terminal)
        ]

    def unfetched_terminal(self) -> list[BatchInfo]:
        """Terminal batches whose results are not kept yet."""
        return [
            info
            for part in self.parts
            if part.batch_id is not None
            and (info := self.infos.get(part.batch_id)) is not None
            and info.terminal
            and part.batch_id not in self.fetched
        ]

    @property
    def finished(self) -> bool:
        """Whether nothing more will happen to the job unless the analyst acts."""
        return not any(self.is_open(part) for part in self.parts)


def pending_rows(view: JobView, ids: pd.Series | None) -> np.ndarray:
    """Which rows an open part covers (`ids`: the job's custom_ids, needed for repairs)."""
    pending = np.zeros(view.job.rows, dtype=bool)
    for part in view.parts:
        if not view.is_open(part):
            continue
        recorded = view.direct_recorded.get(part.id)
        if recorded:  # a direct part waits only for the rows without their line
            if ids is None:
                raise ValueError("the custom_ids are needed to place a direct part's rows")
            covered = np.zeros(view.job.rows, dtype=bool)
            covered[part_positions(ids, part)] = True
            pending |= covered & ~ids.isin(recorded).to_numpy(dtype=bool)
        elif part.custom_ids:
            if ids is None:
                raise ValueError("the custom_ids are needed to place a repair's rows")
            pending |= ids.isin(set(part.custom_ids)).to_numpy(dtype=bool)
        else:
            first = part.first_row or 0
            stop = view.job.rows if part.stop_row is None else part.stop_row
            pending[first:stop] = True
    return pending


def row_counts(view: JobView, merged: pd.DataFrame | None) -> dict[str, int]:
    """Rows by status; pending rows are those of open parts not already answered `ok`."""
    ids = merged["custom_id"] if merged is not None else None
    pending = pending_rows(view, ids)
    counts = dict.fromkeys(COUNT_KEYS, 0)
    if merged is None:
        counts["not_run"] = int((~pending).sum())
    else:
        statuses = merged["status"].to_numpy(dtype=object)
        pending &= statuses != "ok"
        found = pd.Series(statuses[~pending]).value_counts()
        for status, count in found.items():
            counts[str(status)] = int(count)
    counts["pending"] = int(pending.sum())
    return counts


@dataclass(frozen=True)
class RowTally:
    """What a job's status needs from its merged table, small enough to keep between calls."""

    #: Rows by status, pending included (see `row_counts`).
    counts: dict[str, int]
    #: Cost of the rows each batch answered, from their own tokens.
    batch_costs: dict[str, float]


def tally(view: JobView, merged: pd.DataFrame | None) -> RowTally:
    """Counts and per-batch costs; `merged` is needed once any result was fetched."""
    costs: dict[str, float] = {}
    if merged is not None:
        sums = merged["cost_usd"].fillna(0).groupby(merged["batch_id"]).sum()
        costs = {str(batch): float(cost) for batch, cost in sums.items() if batch}
        direct = merged["batch_id"] == DIRECT_BATCH_ID
        if direct.any() and merged.loc[direct, "cost_usd"].isna().any():
            costs[DIRECT_BATCH_ID] = math.nan  # a direct row of a model without a price
    return RowTally(row_counts(view, merged), costs)


def summarize(
    view: JobView,
    rows: RowTally,
    price: ModelPrice | None,
    *,
    now: datetime | None = None,
    resume_after: timedelta = RESUME_AFTER,
) -> JobStatus:
    """The JobStatus of a loaded job (`resume_after`: see `sending.resume_from`)."""
    job = view.job
    now = now or datetime.now(UTC)
    unsent = unsent_parts(view.parts)
    note, hint = unsent_note(job, view.parts, now, resume_after)
    if not note:
        note, hint = _direct_note(view, now)
    counts = dict(rows.counts)
    batches = tuple(
        _batch_row(part, view.infos[part.batch_id])
        for part in view.parts
        if part.batch_id is not None and part.batch_id in view.infos
    )
    running = [view.infos[b] for b in view.active_batches() if b in view.infos]
    expiries = [info.expires_at for info in running if info.expires_at is not None]
    estimates = [p.estimated_cost_usd for p in view.parts if p.state != "failed"]
    known = [estimate for estimate in estimates if estimate is not None]
    return JobStatus(
        job_id=job.id,
        name=job.name,
        created_at=job.created_at,
        model=job.recipe.model,
        endpoint=job.recipe.endpoint,
        state="finished" if view.finished else "active",
        rows=job.rows,
        counts=counts,
        parts=len(view.parts),
        batches=batches,
        progress=_progress(view),
        estimated_cost_usd=round(sum(known), 10) if known else None,
        actual_cost_usd=_actual_cost(view, rows.batch_costs, price),
        expires_at=min(expiries) if expiries else None,
        archived=job.archived,
        problems=tuple(_problems(view, counts)),
        unsent=len(unsent) if job.state == "active" else 0,
        queued=sum(part.queue_wait is not None for part in unsent) if job.state == "active" else 0,
        unsent_note=note,
        unsent_hint=hint,
        sending=bool(unsent) and is_sending(job, view.parts, now),
        never_started=bool(unsent) and job.state == "new",
        discarded=bool(view.parts) and all(part.error == DISCARDED for part in view.parts),
        exported=sum(part.requests for part in view.parts if part.state == "exported"),
        direct=(
            direct_progress(view.parts, view.direct_lines, now)
            if any(part.kind == DIRECT_KIND for part in view.parts)
            else None
        ),
        **_answer_costs(job, view.parts, price),
    )


def projected_output_per_row(parts: Sequence[Part]) -> float | None:
    """Output tokens per request projected when the job was made; None without a try."""
    known = [p for p in parts if p.estimated_output_tokens is not None and p.requests]
    if not known:
        return None
    return sum(p.estimated_output_tokens or 0.0 for p in known) / sum(p.requests for p in known)


def _answer_costs(
    job: Job, parts: Sequence[Part], price: ModelPrice | None
) -> dict[str, float | None]:
    """The answers' projected cost and upper bound over the parts that were not refused, those
    of direct parts at the price they are billed (no batch discount)."""
    live = [part for part in parts if part.state != "failed"]
    limit = answer_limit(job.recipe).tokens
    # Embeddings write no answer tokens: nothing to project.
    per_row = 0.0 if limit == 0 else projected_output_per_row(parts)
    expected: float | None = 0.0
    most: float | None = 0.0
    for kind_price, requests in (
        (price, sum(part.requests for part in live if part.kind != DIRECT_KIND)),
        (direct_price(price), sum(part.requests for part in live if part.kind == DIRECT_KIND)),
    ):
        if not requests or (kind_price is not None and kind_price.answers_free):
            continue
        if kind_price is None:
            return {"answers_expected_usd": None, "answers_max_usd": None}
        expected = (
            None
            if per_row is None or expected is None
            else (expected + kind_price.cost(0, per_row * requests))
        )
        most = (
            None if limit is None or most is None else most + kind_price.cost(0, limit * requests)
        )
    return {"answers_expected_usd": expected, "answers_max_usd": most}


def _direct_note(view: JobView, now: datetime) -> tuple[str | Message, str | Message]:
    """What the job's direct parts have not sent and what becomes of it, as `unsent_note`."""
    waiting = [part for part in view.parts if part.kind == DIRECT_KIND and part.state != DONE]
    if not waiting:
        return "", ""
    left = sum(
        max(part.requests - view.direct_lines.get(part.id, LineCounts()).recorded, 0)
        for part in waiting
    )
    job = view.job.id
    if any(part.state == CANCELLING for part in waiting):
        return (
            n_l(
                "{n:,} row not sent yet: the direct run is being cancelled, they will end as "
                "cancelled.",
                "{n:,} rows not sent yet: the direct run is being cancelled, they will end as "
                "cancelled.",
                left,
            ),
            "",
        )
    if any(is_live(part, now) for part in waiting):
        return (
            n_l(
                "{n:,} row not sent yet: they are being sent directly now.",
                "{n:,} rows not sent yet: they are being sent directly now.",
                left,
            ),
            "",
        )
    return (
        n_l(
            "{n:,} row not sent yet: the direct run stopped.",
            "{n:,} rows not sent yet: the direct run stopped.",
            left,
        ),
        _l(
            "Continue it with {resume}, or stop it with {cancel}.",
            resume=f"`cli.py resume {job}`",
            cancel=f"`cli.py cancel {job}`",
        ),
    )


def _batch_row(part: Part, info: BatchInfo) -> BatchRow:
    return BatchRow(
        id=info.id,
        part_number=part.number,
        kind=part.kind,
        status=info.status,
        total=info.total or part.requests,
        completed=info.completed,
        failed=info.failed,
        created_at=info.created_at or None,
        expires_at=info.expires_at,
        errors=info.errors,
        input_tokens=info.input_tokens,
        output_tokens=info.output_tokens,
    )


def _progress(view: JobView) -> float:
    """Finished requests over all requests; a failed part counts as finished."""
    total = done = 0
    for part in view.parts:
        total += part.requests
        info = view.infos.get(part.batch_id) if part.batch_id else None
        if part.kind == DIRECT_KIND and part.state != DONE:
            done += min(view.direct_lines.get(part.id, LineCounts()).recorded, part.requests)
        elif part.state in ("failed", DONE) or (info is not None and info.terminal):
            done += part.requests
        elif info is not None:
            done += min(info.completed + info.failed, part.requests)
    return done / total if total else 1.0


def _actual_cost(
    view: JobView, batch_costs: Mapping[str, float], price: ModelPrice | None
) -> float | None:
    """Batch usage at the batch price; the rows' own tokens where a server reports no usage,
    and for the rows of direct runs (priced by the merge)."""
    direct = batch_costs.get(DIRECT_BATCH_ID)
    known = direct is not None and not math.isnan(direct)
    if price is None:
        # The merge prices direct rows: at no cost on a server whose calls are free.
        return round(direct, 10) if known and direct is not None and not view.infos else None
    cost = direct if known and direct is not None else 0.0
    for batch_id, info in view.infos.items():
        if info.input_tokens or info.output_tokens or info.completed == 0:
            cost += price.cost(info.input_tokens, info.output_tokens)
        else:
            cost += batch_costs.get(batch_id, 0.0)
    return round(cost, 10)


def _problems(view: JobView, counts: Mapping[str, int]) -> list[Message]:
    # Unsent parts are not problems here: `unsent_note` says what becomes of them.
    problems: list[Message] = []
    for part in view.parts:
        if part.state == "failed" and part.error == DISCARDED:
            problems.append(
                _l(
                    "Part {number} was discarded before it was sent (not billed).",
                    number=part.number,
                )
            )
        elif part.state == "failed":
            problems.append(
                _l(
                    "Part {number} could not be submitted: {error}",
                    number=part.number,
                    error=part.error,
                )
            )
        info = view.infos.get(part.batch_id) if part.batch_id else None
        if info is not None and info.status == "failed" and counts["not_run"]:
            problems.append(_failed_batch(part, info))
        problems += [
            _l("Part {number}: {note}", number=part.number, note=note)
            for _batch, note in part.extra_batches
        ]
    if counts["error"]:
        # Rows answered by vLLM's run-batch run again the way they came: exported once more.
        if any((part.batch_id or "").startswith(IMPORTED_PREFIX) for part in view.parts):
            problems.append(
                n_l(
                    "{n:,} row failed; the error column says why. Export them again for vLLM "
                    "to try again.",
                    "{n:,} rows failed; the error column says why. Export them again for vLLM "
                    "to try again.",
                    counts["error"],
                )
            )
        else:
            problems.append(
                n_l(
                    "{n:,} row failed; the error column says why. Repair them to try again.",
                    "{n:,} rows failed; the error column says why. Repair them to try again.",
                    counts["error"],
                )
            )
    if counts["expired"]:
        problems.append(
            n_l(
                "{n:,} row expired before they ran; repair them to run them.",
                "{n:,} rows expired before they ran; repair them to run them.",
                counts["expired"],
            )
        )
    if counts["cancelled"]:
        problems.append(
            n_l(
                "{n:,} row were cancelled; repair them to run them.",
                "{n:,} rows were cancelled; repair them to run them.",
                counts["cancelled"],
            )
        )
    return problems


def _failed_batch(part: Part, info: BatchInfo) -> Message:
    if not info.errors:
        return _l(
            "Batch {batch_id} (part {number}) failed without saying why.",
            batch_id=info.id,
            number=part.number,
        )
    first = info.errors[0]
    reason = first.message or first.code
    others = len(info.errors) - 1
    if first.line is None:
        failed = _l(
            "Batch {batch_id} (part {number}) failed: {reason}",
            batch_id=info.id,
            number=part.number,
            reason=reason,
        )
    else:
        failed = _l(
            "Batch {batch_id} (part {number}) failed on line {line}: {reason}",
            batch_id=info.id,
            number=part.number,
            line=first.line,
            reason=reason,
        )
    if others:
        return _l("{failed} ({others} more errors).", failed=failed, others=others)
    return _l("{failed}.", failed=failed)
