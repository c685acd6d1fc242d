"""The two small tables of Settings: enqueued-token limits and price overrides per model.

They are edited as data editors and kept in the session as plain mappings, which the New job
page hands to the preflight and the job service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from batchdash.i18n import _
from batchdash.preflight.pricing import ModelPrice

MODEL = "model"
LIMIT = "enqueued tokens"
INPUT_PRICE = "input USD per 1M"
OUTPUT_PRICE = "output USD per 1M"


def limits_frame(limits: Mapping[str, int]) -> pd.DataFrame:
    """The limits as an editable table."""
    return pd.DataFrame(
        {
            MODEL: pd.Series(list(limits), dtype=str),
            LIMIT: pd.Series(list(limits.values()), dtype="Int64"),
        }
    )


def limits_from_frame(frame: pd.DataFrame) -> dict[str, int]:
    """Model to limit, from the rows that name a model and a positive number of tokens."""
    limits: dict[str, int] = {}
    for model, limit in zip(frame[MODEL], frame[LIMIT], strict=True):
        name = _name(model)
        number = _number(limit)
        if name and number is not None and number >= 1:
            limits[name] = int(number)
    return limits


def limit_problems(frame: pd.DataFrame) -> list[str]:
    """Why rows of the limits table are left out by `limits_from_frame` (blank rows say nothing)."""
    problems = []
    for row, (model, limit) in enumerate(zip(frame[MODEL], frame[LIMIT], strict=True), start=1):
        name, number = _name(model), _number(limit)
        if not name and number is None:
            continue
        if not name:
            problems.append(
                _("Row {row} of the limits names no model, so it is left out.", row=row)
            )
        elif number is None or number < 1 or not number.is_integer():
            problems.append(
                _(
                    "The limit for {name} (row {row}) must be a whole number of tokens, at least "
                    "1; the row is left out until it is.",
                    name=name,
                    row=row,
                )
            )
    return problems


def prices_frame(overrides: Mapping[str, ModelPrice]) -> pd.DataFrame:
    """The price overrides as an editable table."""
    return pd.DataFrame(
        {
            MODEL: pd.Series(list(overrides), dtype=str),
            INPUT_PRICE: pd.Series(
                [price.input_per_million for price in overrides.values()], dtype=float
            ),
            OUTPUT_PRICE: pd.Series(
                [price.output_per_million for price in overrides.values()], dtype=float
            ),
        }
    )


def prices_from_frame(frame: pd.DataFrame) -> dict[str, ModelPrice]:
    """Model to price, from the rows that name a model and give both prices (0 or more)."""
    prices: dict[str, ModelPrice] = {}
    for model, given_in, given_out in zip(
        frame[MODEL], frame[INPUT_PRICE], frame[OUTPUT_PRICE], strict=True
    ):
        name = _name(model)
        price_in, price_out = _number(given_in), _number(given_out)
        if (
            name
            and price_in is not None
            and price_out is not None
            and min(price_in, price_out) >= 0
        ):
            prices[name] = ModelPrice(price_in, price_out)
    return prices


def price_problems(frame: pd.DataFrame) -> list[str]:
    """Why rows of the price table are left out by `prices_from_frame` (blank rows say nothing)."""
    problems = []
    rows = zip(frame[MODEL], frame[INPUT_PRICE], frame[OUTPUT_PRICE], strict=True)
    for row, (model, given_in, given_out) in enumerate(rows, start=1):
        name, prices = _name(model), (_number(given_in), _number(given_out))
        if not name and prices == (None, None):
            continue
        if not name:
            problems.append(
                _("Row {row} of the price overrides names no model, so it is left out.", row=row)
            )
        elif any(price is None or price < 0 for price in prices):
            problems.append(
                _(
                    "The prices for {name} (row {row}) must both be given, as 0 or more dollars "
                    "per million tokens; the row is left out until they are.",
                    name=name,
                    row=row,
                )
            )
    return problems


def _name(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
