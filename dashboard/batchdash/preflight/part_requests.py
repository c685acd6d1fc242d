"""The requests of some rows of a job, keeping the custom_ids those rows have in the whole job.

The registry keeps a job's rows and recipe, not its JSONL: a part's file is built again from
them when it is uploaded. Automatic custom_ids (`row-<N>`) count rows from the top of the whole
table, so the rows of a part or a repair are planned with their job-wide ids in a hidden column.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.preflight.ids import custom_ids
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import Recipe

# Name of the column that carries job-wide automatic ids (made unique against the table's).
_HIDDEN_ID = "__batchdash_custom_id"


def plan_rows(
    frame: pd.DataFrame,
    recipe: Recipe,
    positions: np.ndarray | slice,
    *,
    enqueued_token_limit: int | None = None,
    price_overrides: Mapping[str, ModelPrice] | None = None,
    provider: ProviderProfile | None = None,
) -> BatchPlan:
    """The preflight of the rows at `positions` (0-based) with their job-wide custom_ids."""
    if recipe.id_column is None:
        column = _HIDDEN_ID
        while column in frame.columns:
            column += "_"
        frame = frame.assign(**{column: custom_ids(frame, None).to_numpy()})
        recipe = replace(recipe, id_column=column)
    subset = frame.iloc[positions].reset_index(drop=True)
    plan = plan_batch(
        subset,
        recipe,
        enqueued_token_limit=enqueued_token_limit,
        price_overrides=price_overrides,
        provider=provider,
    )
    if not plan.ok:
        raise InputError(next(problem.message for problem in plan.problems if problem.blocking))
    return plan


def plan_jsonl(plan: BatchPlan) -> bytes:
    """Every request of a plan as one JSONL file, whatever its split into parts."""
    return b"".join(plan.part_bytes(number) for number in range(1, len(plan.parts) + 1))


def input_custom_ids(data: bytes) -> list[str]:
    """The custom_id of every line of a batch input file, in file order."""
    return [custom_id for custom_id, _ in request_lines(data)]


def request_lines(data: bytes) -> list[tuple[str, bytes]]:
    """Each line of a batch input file with its custom_id; InputError for a line without one."""
    lines: list[tuple[str, bytes]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            custom_id = json.loads(line)["custom_id"]
        except (ValueError, TypeError, KeyError):
            raise InputError(
                _l(
                    "Line {number} of the batch's input file is not a request with a "
                    "custom_id; only batches made from a JSONL file of requests can be used "
                    "here.",
                    number=number,
                )
            ) from None
        lines.append((str(custom_id), line))
    return lines


def select_lines(data: bytes, wanted: Collection[str]) -> bytes:
    """The lines of a batch input file whose custom_id is in `wanted`, in file order."""
    keep = set(wanted)
    return b"".join(line + b"\n" for custom_id, line in request_lines(data) if custom_id in keep)
