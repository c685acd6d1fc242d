"""A batch created elsewhere, seen as a job: its requests (or the analyst's CSV) as the rows.

The batch's input file tells the custom_ids, the prompts and the model. Without a table from the
analyst, the rows are the requests themselves: `id`, `prompt` and, when any request has one,
`system`. With a table, one of its columns must hold the custom_ids, or the custom_ids must be
`row-<N>` counting the table's rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from batchdash.api.batch_info import BatchInfo
from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.preflight.part_requests import request_lines
from batchdash.recipe import ENDPOINTS, Endpoint, Recipe

#: Column names of the rows made from the requests themselves.
ID_COLUMN = "id"
PROMPT_COLUMN = "prompt"
SYSTEM_COLUMN = "system"

_ROW_ID = re.compile(r"row-([1-9][0-9]*)")
_SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True)
class AttachedRows:
    """The rows and recipe of a job made from a batch created elsewhere."""

    #: The rows: the requests themselves, or the analyst's table.
    frame: pd.DataFrame
    #: Endpoint and model of the batch; the ID column that maps rows to custom_ids.
    recipe: Recipe
    #: custom_ids of the batch's requests, in input file order.
    custom_ids: tuple[str, ...]


def attached_rows(info: BatchInfo, input_file: bytes, table: pd.DataFrame | None) -> AttachedRows:
    """The job rows of batch `info` read from its input file, or from `table` when given."""
    if info.endpoint not in ENDPOINTS:
        raise InputError(
            _l(
                "Batch {batch_id} runs {endpoint}, which Batchdash cannot read answers of; it "
                "reads {endpoints}.",
                batch_id=info.id,
                endpoint=info.endpoint or _l("an unknown endpoint"),
                endpoints=", ".join(ENDPOINTS),
            )
        )
    endpoint = cast(Endpoint, info.endpoint)
    requests = [(custom_id, json.loads(line)) for custom_id, line in request_lines(input_file)]
    if not requests:
        raise InputError(
            _l("The input file of batch {batch_id} holds no requests.", batch_id=info.id)
        )
    ids = tuple(custom_id for custom_id, _ in requests)
    bodies = [
        line.get("body") if isinstance(line.get("body"), dict) else {} for _, line in requests
    ]
    model = info.model or next((str(b["model"]) for b in bodies if b.get("model")), "")
    if table is None:
        frame = _request_table(endpoint, ids, bodies)
        recipe = Recipe(endpoint=endpoint, model=model, template="{prompt}", id_column=ID_COLUMN)
        return AttachedRows(frame, recipe, ids)
    recipe = Recipe(endpoint=endpoint, model=model, template="", id_column=_id_column(table, ids))
    return AttachedRows(table, recipe, ids)


def _request_table(
    endpoint: Endpoint, ids: tuple[str, ...], bodies: list[dict[str, Any]]
) -> pd.DataFrame:
    prompts, systems = zip(*(prompt_of(endpoint, body) for body in bodies), strict=True)
    columns = {ID_COLUMN: list(ids), PROMPT_COLUMN: list(prompts)}
    if any(systems):
        columns[SYSTEM_COLUMN] = list(systems)
    return pd.DataFrame(columns, dtype=str)


def _id_column(table: pd.DataFrame, ids: tuple[str, ...]) -> str | None:
    """The table's column holding every custom_id of the batch; None for `row-<N>` ids."""
    wanted = set(ids)
    for column in table.columns:
        values = table[column].fillna("").astype(str).str.strip()
        if wanted <= set(values) and not values.duplicated().any():
            return str(column)
    numbers = [_ROW_ID.fullmatch(custom_id) for custom_id in ids]
    if all(numbers) and max(int(m.group(1)) for m in numbers if m) <= len(table):
        return None
    raise InputError(
        _l(
            "No column of the table holds the batch's custom_ids (e.g. '{example}'), and they "
            "are not row numbers of it: add a column with the custom_ids, or attach without a "
            "table.",
            example=ids[0],
        )
    )


def prompt_of(endpoint: Endpoint, body: dict[str, Any]) -> tuple[str, str]:
    """The user's text and the system text of one request body ("" where there is none)."""
    if endpoint == "/v1/chat/completions":
        return _messages_text(body.get("messages"))
    if endpoint == "/v1/responses":
        given = body.get("input")
        prompt, system = (given, "") if isinstance(given, str) else _messages_text(given)
        instructions = body.get("instructions")
        return prompt, instructions if isinstance(instructions, str) else system
    key = "input" if endpoint in ("/v1/embeddings", "/v1/moderations") else "prompt"
    return _text(body.get(key)), ""


def _messages_text(messages: Any) -> tuple[str, str]:
    users: list[str] = []
    systems: list[str] = []
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        target = systems if role in _SYSTEM_ROLES else users if role == "user" else None
        if target is not None:
            target.append(_text(message.get("content")))
    return "\n\n".join(users), "\n\n".join(systems)


def _text(content: Any) -> str:
    """Text of a content value: a string, a list of parts with `text`, or a list of strings."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = [
            item if isinstance(item, str) else str(item.get("text") or "")
            for item in content
            if isinstance(item, str | dict)
        ]
        return "\n".join(piece for piece in pieces if piece)
    return "" if content is None else json.dumps(content)
