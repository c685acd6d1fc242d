"""Tool calls: a request that forces a function gets a call whose arguments fit its schema.

`tool_choice: "required"` or a named function forces a call (the first function for
"required"); `auto` and `none` get a plain text answer, as a model that chose not to call would
give. The arguments are a JSON value built from the function's `parameters` schema, so a client
that reads them as structured output can test its parsing against the sandbox.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.prompts import invalid, refused
from sandbox.schema_instance import instance_for


@dataclass(frozen=True)
class ForcedCall:
    """The function a request forces, and the arguments the sandbox sends it."""

    #: The function's name.
    name: str
    #: The arguments as the JSON text OpenAI sends.
    arguments: str
    #: Whether the caller named the function (OpenAI then finishes with `stop`).
    named: bool

    def call_id(self, seed: str) -> str:
        digest = hashlib.sha256(f"{self.name}\0{seed}".encode()).hexdigest()
        return f"call_sandbox{digest[:20]}"


def _functions(tools: Any, nested: bool) -> dict[str, Mapping[str, Any]]:
    """Name -> parameters schema of the function tools (chat nests them under `function`)."""
    if tools is None:
        return {}
    if not isinstance(tools, list):
        raise invalid("tools", "an array of tools")
    found: dict[str, Mapping[str, Any]] = {}
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            continue
        spec = tool.get("function") if nested else tool
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise invalid(f"tools[{index}]", "a function with a name")
        parameters = spec.get("parameters")
        found[spec["name"]] = parameters if isinstance(parameters, Mapping) else {"type": "object"}
    return found


def forced_call(body: Mapping[str, Any], seed: str, *, nested: bool) -> ForcedCall | None:
    """The call a request's `tool_choice` forces, or None (`nested`: the chat shape of tools)."""
    choice = body.get("tool_choice")
    functions = _functions(body.get("tools"), nested)
    if choice is None or choice in ("auto", "none"):
        return None
    if choice == "required":
        if not functions:
            raise refused(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                param="tool_choice",
            )
        name, named = next(iter(functions)), False
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        spec = choice.get("function") if nested else choice
        picked = spec.get("name") if isinstance(spec, Mapping) else None
        if not isinstance(picked, str):
            raise invalid("tool_choice", "a function with a name")
        name = picked
        if name not in functions:
            raise refused(
                f"Invalid value for 'tool_choice': no function named '{name}' in 'tools'.",
                param="tool_choice",
            )
        named = True
    else:
        return None  # built-in tools and allowed_tools: answered in text
    try:
        value = instance_for(functions[name], seed)
    except (ValueError, KeyError, TypeError) as problem:
        raise refused(f"Invalid schema for function '{name}': {problem}", param="tools") from None
    return ForcedCall(name, json.dumps(value, ensure_ascii=False), named)
