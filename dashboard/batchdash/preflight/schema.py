"""Structured output: the analyst's named fields compiled into a strict JSON schema.

OpenAI's strict mode (Structured Outputs) needs every property listed in `required` and
`additionalProperties: false` on the object; it then guarantees answers that fit the schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from batchdash.i18n import Message, _l
from batchdash.recipe import FIELD_TYPES, LINEAGE_COLUMNS, FieldType, OutputField

#: The `name` sent with the schema (the API wants 1-64 letters, digits, '_' or '-').
SCHEMA_NAME = "row_answer"

#: Columns the merged table adds after the input columns (DESIGN.md contract 6).
RESERVED_COLUMNS: tuple[str, ...] = ("response", *LINEAGE_COLUMNS)

_JSON_TYPES: dict[FieldType, str] = {
    "text": "string",
    "number": "number",
    "integer": "integer",
    "yes/no": "boolean",
    "one of": "string",
}


def field_schema(field: OutputField) -> dict[str, Any]:
    """The JSON schema of one field's value."""
    schema: dict[str, Any] = {"type": _JSON_TYPES[field.type]}
    if field.type == "one of":
        schema["enum"] = list(field.choices)
    if field.description.strip():
        schema["description"] = field.description.strip()
    return schema


def output_schema(fields: Sequence[OutputField]) -> dict[str, Any]:
    """A strict JSON schema of an object with one required property per field, in order."""
    return {
        "type": "object",
        "properties": {field.name: field_schema(field) for field in fields},
        "required": [field.name for field in fields],
        "additionalProperties": False,
    }


def field_problems(fields: Sequence[OutputField], input_columns: Iterable[str]) -> list[Message]:
    """One sentence per problem with the fields (each names the problem and the fix)."""
    problems: list[Message] = []
    names = [field.name for field in fields]
    if any(not name.strip() for name in names):
        problems.append(
            _l(
                "A structured output field has no name. Name every field, or remove the unnamed one."
            )
        )
    repeated = sorted(name for name, count in Counter(names).items() if name.strip() and count > 1)
    if repeated:
        problems.append(
            _l(
                "Structured output field names repeat ({names}). Give every field its own name.",
                names=_quoted(repeated),
            )
        )
    reserved = [name for name in dict.fromkeys(names) if name in RESERVED_COLUMNS]
    if reserved:
        problems.append(
            _l(
                "The structured output field names {names} are taken by the result columns Batchdash "
                "adds. Rename those fields.",
                names=_quoted(reserved),
            )
        )
    columns = {str(column) for column in input_columns}
    clashing = [name for name in dict.fromkeys(names) if name in columns]
    if clashing:
        problems.append(
            _l(
                "The structured output field names {names} are already columns of the table. Rename "
                "those fields so the answers do not overwrite your data.",
                names=_quoted(clashing),
            )
        )
    for field in fields:
        problems.extend(_choice_problems(field))
    return problems


def _choice_problems(field: OutputField) -> list[Message]:
    if field.type not in FIELD_TYPES:
        return [
            _l(
                "The field '{name}' has the unknown type '{type}'. Choose one of: {types}.",
                name=field.name,
                type=field.type,
                types=", ".join(FIELD_TYPES),
            )
        ]
    if field.type != "one of":
        return []
    choices = [choice.strip() for choice in field.choices]
    if not choices or not all(choices):
        return [
            _l(
                "The 'one of' field '{name}' needs a list of non-empty choices. Enter the allowed "
                "answers, or change its type.",
                name=field.name,
            )
        ]
    if len(set(choices)) < len(choices):
        return [
            _l(
                "The 'one of' field '{name}' lists a choice twice. Remove the repeat.",
                name=field.name,
            )
        ]
    return []


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
