"""Repair: which rows of a job to run again, and as which new parts.

A repair re-runs rows whose status the analyst picks, with the same custom_ids, in new parts of
kind "repair" numbered after the job's others; the merge then lets their answers take the rows'
place (an `ok` answer wins, else the latest). Rows still pending in a running part are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import Message, _l, n_l
from batchdash.preflight.plan import BatchPlan
from batchdash.registry.records import PartSpec

#: The statuses a repair can re-run, and its default choice.
REPAIRABLE: tuple[str, ...] = ("error", "expired", "cancelled", "not_run")

# A row's error names the HTTP status it was answered with ("... (HTTP 400, code)."; see
# results). A 4xx says the request itself is wrong, so the same request is refused again; a
# timeout (408), a conflict (409) and a rate limit (429) are passing, like a 5xx.
_REFUSED = re.compile(r"\(HTTP 4(?!08|09|29)\d\d[,)]")


@dataclass(frozen=True)
class RepairPlan:
    """What a repair would send: rows, custom_ids, tokens and cost."""

    #: The statuses picked.
    statuses: tuple[str, ...]
    #: Number of rows that would run again.
    rows: int
    #: Their custom_ids, in input order.
    custom_ids: tuple[str, ...]
    #: Exact input tokens of their requests (0 for a batch attached without its recipe).
    input_tokens: int
    #: USD for those input tokens at the batch price; None when the price is unknown.
    estimated_cost_usd: float | None
    #: How many of them the server refused as they stand (HTTP 4xx): sent unchanged, they
    #: fail again.
    refused: int = 0


def checked_statuses(statuses: Iterable[str]) -> tuple[str, ...]:
    """The picked statuses, each one a repairable one; InputError otherwise."""
    picked = tuple(dict.fromkeys(status.strip() for status in statuses if status.strip()))
    unknown = [status for status in picked if status not in REPAIRABLE]
    if unknown or not picked:
        raise InputError(
            _l(
                "Cannot repair rows with status {statuses}; pick among {repairable}.",
                statuses=", ".join(unknown) or _l("(none given)"),
                repairable=", ".join(REPAIRABLE),
            )
        )
    return picked


def rows_to_repair(
    merged: pd.DataFrame, pending: np.ndarray, statuses: tuple[str, ...]
) -> np.ndarray:
    """0-based positions of the rows with one of `statuses` that no open part covers."""
    chosen = merged["status"].isin(statuses).to_numpy(dtype=bool) & ~pending
    return np.flatnonzero(chosen)


def refused_again(errors: pd.Series, positions: np.ndarray) -> int:
    """How many rows at `positions` have an error that says the server refused the request."""
    picked = errors.iloc[positions].fillna("").astype(str)
    return int(picked.str.contains(_REFUSED).sum())


def refused_warning(refused: int, rows: int) -> Message | None:
    """What the analyst must know before repairing `rows` rows of which `refused` were refused
    as they stand; None when there are none."""
    if not refused:
        return None
    why = _l(
        "refused by the API as a bad request (an HTTP 4xx error such as 400: the request itself "
        "is wrong, for example a parameter the model does not take)"
    )
    if refused >= rows:
        return n_l(
            "Every row picked was {why}. Sent unchanged, it will fail again: change the table or "
            "the recipe and submit it as a new job.",
            "Every row picked was {why}. Sent unchanged, they will fail again: change the table "
            "or the recipe and submit them as a new job.",
            refused,
            why=why,
        )
    return n_l(
        "{n:,} of these rows was {why}. Sent unchanged, it will fail again: change the table or "
        "the recipe and submit it as a new job. The other rows can pass on a second try.",
        "{n:,} of these rows were {why}. Sent unchanged, they will fail again: change the table "
        "or the recipe and submit them as a new job. The other rows can pass on a second try.",
        refused,
        why=why,
    )


def repair_parts(
    plan: BatchPlan,
    positions: np.ndarray,
    ids: pd.Series,
    output_tokens_per_row: float | None = None,
) -> list[PartSpec]:
    """One repair part per part of `plan` (the preflight of the rows at `positions`); the job's
    projected answer length per row, when known, carries over to the rows run again."""
    chosen = ids.to_numpy(dtype=object)[positions]
    return [
        PartSpec(
            requests=part.requests,
            kind="repair",
            custom_ids=tuple(str(i) for i in chosen[part.first_row : part.stop_row]),
            estimated_input_tokens=part.input_tokens,
            estimated_cost_usd=_part_cost(plan, part.input_tokens),
            estimated_output_tokens=(
                None if output_tokens_per_row is None else output_tokens_per_row * part.requests
            ),
        )
        for part in plan.parts
    ]


def _part_cost(plan: BatchPlan, tokens: int) -> float | None:
    if plan.estimated_cost_usd is None or plan.input_tokens == 0:
        return plan.estimated_cost_usd
    return plan.estimated_cost_usd * tokens / plan.input_tokens
