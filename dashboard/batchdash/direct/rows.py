"""Which rows a direct part covers, and their requests as the synchronous route takes them."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from batchdash.preflight.ids import custom_ids
from batchdash.preflight.part_requests import plan_jsonl, plan_rows, request_lines
from batchdash.preflight.pricing import ModelPrice
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import Recipe
from batchdash.registry.records import Part

#: One row to send: its custom_id and the request body.
RowRequest = tuple[str, dict[str, Any]]


def part_positions(ids: pd.Series, part: Part) -> np.ndarray:
    """0-based positions of the job's rows the part covers (`ids`: the job's custom_ids)."""
    if part.custom_ids:
        return np.flatnonzero(ids.isin(set(part.custom_ids)).to_numpy(dtype=bool))
    stop = len(ids) if part.stop_row is None else part.stop_row
    return np.arange(part.first_row or 0, stop)


def part_custom_ids(rows: pd.DataFrame, recipe: Recipe, part: Part) -> list[str]:
    """The custom_ids of the rows the part covers, in input order."""
    ids = custom_ids(rows, recipe.id_column)
    return [str(i) for i in ids.to_numpy(dtype=object)[part_positions(ids, part)]]


def unanswered_requests(
    rows: pd.DataFrame,
    recipe: Recipe,
    part: Part,
    recorded: Collection[str],
    *,
    price_overrides: Mapping[str, ModelPrice] | None = None,
    provider: ProviderProfile | None = None,
) -> list[RowRequest]:
    """The requests of the part's rows that have no line yet, in input order: built by the
    same preflight as a batch's file, so a row's direct call is its batch line's body."""
    ids = custom_ids(rows, recipe.id_column)
    positions = part_positions(ids, part)
    if recorded:
        keep = ~ids.iloc[positions].isin(set(recorded)).to_numpy(dtype=bool)
        positions = positions[keep]
    if not len(positions):
        return []
    plan = plan_rows(rows, recipe, positions, price_overrides=price_overrides, provider=provider)
    return [
        (custom_id, json.loads(line)["body"]) for custom_id, line in request_lines(plan_jsonl(plan))
    ]
