"""JSON values built to fit a schema: every keyword the sandbox claims to honour, checked by jsonschema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from sandbox.answers import answer
from sandbox.schema_instance import instance_for

SCHEMAS: dict[str, dict[str, Any]] = {
    "bounded numbers": {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "exclusiveMinimum": 3, "exclusiveMaximum": 6},
            "b": {"type": "integer", "minimum": -20, "maximum": -10, "multipleOf": 5},
            "c": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.01},
            "d": {"type": "number", "maximum": -1000.5},
            "e": {"type": "number", "multipleOf": 0.25, "minimum": 1, "maximum": 2},
        },
        "required": ["a", "b", "c", "d", "e"],
        "additionalProperties": False,
    },
    "strings": {
        "type": "object",
        "properties": {
            "short": {"type": "string", "maxLength": 3},
            "long": {"type": "string", "minLength": 60},
            "constant": {"const": "fixed"},
            "email": {"type": "string", "format": "email"},
            "stamp": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
        },
        "required": ["short", "long", "constant", "email", "stamp", "id"],
        "additionalProperties": False,
    },
    "recursive tree": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["label", "children"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    },
    "nullable recursion": {
        "type": "object",
        "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
        "required": ["next"],
        "additionalProperties": False,
    },
    "tuples and allOf": {
        "type": "object",
        "properties": {
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "boolean"}],
                "minItems": 2,
                "maxItems": 2,
            },
            "merged": {
                "allOf": [
                    {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                    {
                        "properties": {"y": {"type": "string", "enum": ["p", "q"]}},
                        "required": ["y"],
                    },
                ]
            },
            "either": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            "free": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["pair", "merged", "either", "free"],
        "additionalProperties": False,
    },
}


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("seed", ["a", "b", "c", "d", "e", "f"])
def test_the_value_fits_the_schema_and_repeats_for_the_same_seed(name: str, seed: str) -> None:
    schema = SCHEMAS[name]
    value = instance_for(schema, seed)
    jsonschema.Draft202012Validator(schema).validate(value)
    assert instance_for(schema, seed) == value


def test_a_schema_the_sandbox_cannot_fill_gets_a_400() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "bad",
                "schema": {"type": "integer", "minimum": 5, "maximum": 4},
            },
        },
    }
    status, reply = answer("/v1/chat/completions", body, attempt=1)
    assert status == 400
    assert reply["error"]["param"] == "response_format"
    with pytest.raises(ValueError, match="No multiple"):
        instance_for({"type": "integer", "minimum": 5, "maximum": 4}, "s")
    with pytest.raises(ValueError, match="not supported"):
        instance_for({"type": "tensor"}, "s")
