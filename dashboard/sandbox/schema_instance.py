"""A JSON value that fits a JSON schema, the same value every time for the same seed.

The sandbox answers a structured-output request with such a value, so the rest of Batchdash can
split it into columns exactly as it would split a model's answer. It covers what OpenAI's strict
structured outputs accept: string (with enum, const, lengths and the common formats), number and
integer (with bounds and multipleOf), boolean, null, objects (properties, required,
additionalProperties), arrays (items, prefixItems, minItems/maxItems), anyOf/oneOf/allOf and
local `$ref`s. A `pattern` is not honoured: no generator could fit every regular expression.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

# Beyond this nesting depth, recursive schemas take their shortest way out (null, no items).
_MAX_DEPTH = 6

_FORMAT_EXAMPLES = {
    "date-time": "2024-05-17T09:30:00Z",
    "date": "2024-05-17",
    "time": "09:30:00",
    "duration": "P3D",
    "email": "sandbox@example.com",
    "hostname": "sandbox.example.com",
    "ipv4": "192.0.2.7",
    "ipv6": "2001:db8::7",
    "uuid": "00000000-0000-4000-8000-000000000007",
    "uri": "https://example.com/sandbox",
}


def instance_for(schema: Mapping[str, Any], seed: str) -> Any:
    """A value that fits `schema`; equal seeds give equal values."""
    return _Builder(schema, seed).build(schema, "$", 0)


class _Builder:
    def __init__(self, root: Mapping[str, Any], seed: str) -> None:
        self.root = root
        self.seed = seed

    def pick(self, path: str, choices: int) -> int:
        """A deterministic index in range(choices), different for each place in the value."""
        digest = hashlib.sha256(f"{self.seed}|{path}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % choices

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            schema = self.lookup(str(schema["$ref"]))
            seen += 1
        return schema

    def lookup(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"Only local $ref values are supported, not {ref!r}.")
        node: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        if not isinstance(node, Mapping):
            raise ValueError(f"The $ref {ref!r} does not point at a schema.")
        return node

    def build(self, schema: Mapping[str, Any], path: str, depth: int) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            return options[self.pick(path, len(options))]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.build(self.choose(schema[key], path, depth), path, depth)
        if "allOf" in schema:
            return self.build(self.merge(schema["allOf"]), path, depth)
        kind = self.kind(schema, depth)
        builder = getattr(self, f"build_{kind}", None)
        if builder is None:
            raise ValueError(f"The JSON schema type {kind!r} is not supported.")
        return builder(schema, path, depth)

    def choose(self, options: list[Mapping[str, Any]], path: str, depth: int) -> Mapping[str, Any]:
        resolved = [self.resolve(option) for option in options]
        nulls = [o for o in resolved if o.get("type") == "null"]
        others = [o for o in resolved if o.get("type") != "null"]
        if nulls and (depth >= _MAX_DEPTH or not others):
            return nulls[0]
        return others[self.pick(path + "|anyOf", len(others))]

    def merge(self, parts: list[Mapping[str, Any]]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in map(self.resolve, parts):
            for key, value in part.items():
                if key == "properties":
                    merged.setdefault("properties", {}).update(value)
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged[key] = value
        return merged

    def kind(self, schema: Mapping[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            concrete = [t for t in declared if t != "null"]
            if not concrete or ("null" in declared and depth >= _MAX_DEPTH):
                return "null"
            return str(concrete[0])
        if declared is not None:
            return str(declared)
        if "properties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"

    def build_null(self, schema: Mapping[str, Any], path: str, depth: int) -> None:
        return None

    def build_boolean(self, schema: Mapping[str, Any], path: str, depth: int) -> bool:
        return self.pick(path, 2) == 0

    def build_object(self, schema: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        # Optional properties appear too, except where recursion has to stop.
        names = [n for n in properties if n in required or depth < _MAX_DEPTH]
        return {name: self.build(properties[name], f"{path}.{name}", depth + 1) for name in names}

    def build_array(self, schema: Mapping[str, Any], path: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, 3)))
        count = low if depth >= _MAX_DEPTH else min(max(low, 1 + self.pick(path, 3)), high)
        prefix: list[Mapping[str, Any]] = list(schema.get("prefixItems", ()))
        items: Mapping[str, Any] = schema.get("items") or {}
        values = []
        for index in range(count):
            item_schema = prefix[index] if index < len(prefix) else items
            values.append(self.build(item_schema, f"{path}[{index}]", depth + 1))
        return values

    def build_string(self, schema: Mapping[str, Any], path: str, depth: int) -> str:
        text = _FORMAT_EXAMPLES.get(str(schema.get("format", "")))
        if text is None:
            label = re.sub(r"\[\d+\]", "", path.rsplit(".", 1)[-1]).strip("$") or "value"
            text = f"[sandbox] {label} {self.pick(path, 10_000):04d}"
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None:
            text = text[: int(high)]
        return text

    def build_integer(self, schema: Mapping[str, Any], path: str, depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        return int(self.multiple(low, high, schema.get("multipleOf", 1), path))

    def build_number(self, schema: Mapping[str, Any], path: str, depth: int) -> float:
        low, high = _bounds(schema, integer=False)
        if "multipleOf" in schema:
            return self.multiple(low, high, schema["multipleOf"], path)
        # A point strictly inside the range, so exclusive bounds hold as well.
        fraction = (1 + self.pick(path, 999)) / 1000
        return round(low + (high - low) * fraction, 6)

    def multiple(self, low: float, high: float, step: float, path: str) -> float:
        """A multiple of `step` within [low, high]."""
        first, last = math.ceil(low / step), math.floor(high / step)
        if last < first:
            raise ValueError(f"No multiple of {step} fits the schema at {path}.")
        return step * (first + self.pick(path, min(last - first + 1, 1_000_000)))


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    """The closed range a number must fall in (default 0..100, or around the one given bound)."""
    low = schema.get("minimum")
    high = schema.get("maximum")
    exclusive_low = schema.get("exclusiveMinimum")
    exclusive_high = schema.get("exclusiveMaximum")
    nudge = 1 if integer else 0
    if exclusive_low is not None:
        low = exclusive_low + nudge if low is None else max(low, exclusive_low + nudge)
    if exclusive_high is not None:
        high = exclusive_high - nudge if high is None else min(high, exclusive_high - nudge)
    if low is None:
        return (0, 100) if high is None else (float(high) - 100, float(high))
    return (float(low), float(low) + 100) if high is None else (float(low), float(high))
