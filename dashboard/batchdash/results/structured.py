"""Structured answers: a JSON object split into the recipe's output fields, type by type."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from batchdash.recipe import OutputField
from batchdash.results.columns import without_lone_surrogates

#: A parsed field: text, "yes"/"no" and "one of" answers are str, numbers float, integers int.
FieldValue = str | int | float


def parse_structured(
    text: str, fields: Iterable[OutputField], finish_reason: str = ""
) -> tuple[dict[str, FieldValue], str]:
    """A structured answer's field values, or ({}, the reason it does not fit the fields).

    Types: text is any string; number any JSON number (float); integer a whole JSON number;
    yes/no a JSON boolean or the strings yes/no in any case, both written "yes"/"no"; one of
    a string exactly equal to one of the choices. Extra keys are ignored.
    """
    try:
        answer = json.loads(text)
    except ValueError:
        if finish_reason == "length":
            return {}, (
                "The answer was cut off at the output token limit before its JSON was complete: "
                "raise the maximum output tokens and repair this row."
            )
        return {}, "The answer is not valid JSON, so it cannot be split into the output fields."
    if not isinstance(answer, dict):
        return {}, "The answer is JSON but not an object with the output fields."
    if "\\u" in text:  # only an escape can make a lone surrogate
        answer = _without_lone_surrogates(answer)
    values: dict[str, FieldValue] = {}
    for spec in fields:
        if answer.get(spec.name) is None:
            return {}, f"The answer has no value for the field '{spec.name}'."
        value = _field_value(answer[spec.name], spec)
        if value is None:
            shown = json.dumps(answer[spec.name], ensure_ascii=False)[:80]
            return {}, f"The answer's field '{spec.name}' is {shown}, {_expected(spec)}."
        values[spec.name] = value
    return values, ""


def _without_lone_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate in its strings as U+FFFD."""
    if isinstance(value, str):
        return without_lone_surrogates(value)
    if isinstance(value, dict):
        return {key: _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


def _field_value(value: Any, spec: OutputField) -> FieldValue | None:
    """The value in its column's type, or None when it does not fit `spec`."""
    if spec.type == "text":
        return value if isinstance(value, str) else None
    if spec.type == "number":
        return _finite_float(value)
    if spec.type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            whole: int | None = value
        else:
            number = _finite_float(value)
            whole = int(number) if number is not None and number.is_integer() else None
        # Within the int64 column the merged table keeps integers in.
        return whole if whole is not None and abs(whole) < 2**63 else None
    if spec.type == "yes/no":
        if isinstance(value, bool):
            return "yes" if value else "no"
        word = value.strip().lower() if isinstance(value, str) else None
        return word if word in ("yes", "no") else None
    return value if isinstance(value, str) and value in spec.choices else None


def _finite_float(value: Any) -> float | None:
    """A JSON number as a finite float; None for anything else (booleans, Infinity, 1e400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer literal beyond any float
        return None
    return number if math.isfinite(number) else None


def _expected(spec: OutputField) -> str:
    if spec.type == "one of":
        return "not one of: " + ", ".join(spec.choices)
    wanted = {"text": "text", "number": "a number", "integer": "a whole number"}
    return f"not {wanted.get(spec.type, 'yes or no')}"
