"""Reading and checking request parameters, with OpenAI's error codes and wording."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.api_errors import ApiErrorResponse, bad_param


def missing(param: str) -> ApiErrorResponse:
    """The 400 for a required parameter that is absent."""
    return bad_param(param, f"Missing required parameter: '{param}'.", "missing_required_parameter")


def integer_in_range(param: str, value: Any, low: int, high: int) -> int:
    """`value` as an int within [low, high], else OpenAI's 400 for it."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_param(
            param, f"Invalid type for '{param}': expected an integer.", code="invalid_type"
        )
    if value < low:
        raise bad_param(
            param,
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            code="integer_below_min_value",
        )
    if value > high:
        raise bad_param(
            param,
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            code="integer_above_max_value",
        )
    return value


def one_of(param: str, value: Any, allowed: Sequence[str]) -> str:
    """`value` when it is one of `allowed`, else OpenAI's 400 for it."""
    if value not in allowed:
        choices = ", ".join(f"'{a}'" for a in allowed)
        raise bad_param(
            param, f"Invalid value: '{value}'. Supported values are: {choices}.", "invalid_value"
        )
    return str(value)


def query_int(query: Mapping[str, str], param: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], `default` when absent."""
    if param not in query:
        return default
    return integer_in_range(param, query[param], low, high)


def expiration_after(param: str, value: Any) -> int | None:
    """Seconds of an `{anchor: "created_at", seconds}` expiration policy (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_param(
            param, f"Invalid type for '{param}': expected an object.", code="invalid_type"
        )
    if "anchor" not in value:
        raise missing(f"{param}.anchor")
    if "seconds" not in value:
        raise missing(f"{param}.seconds")
    one_of(f"{param}.anchor", value["anchor"], ("created_at",))
    return integer_in_range(f"{param}.seconds", value["seconds"], 3600, 2_592_000)
