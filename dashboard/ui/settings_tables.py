"""The two small tables of Settings: enqueued-token limits and price overrides per model.

They are edited as data editors and kept in the session as plain mappings, which the New job
page hands to the preflight and the job service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from batchdash.pricing import ModelPrice

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
