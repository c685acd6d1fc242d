"""Request bodies and batch input lines, exactly as the OpenAI spec defines them.

Bodies follow the newest spec in shared/reference/openai-openapi (CreateChatCompletionRequest,
CreateResponse, CreateEmbeddingRequest, CreateCompletionRequest, CreateModerationRequest); a line is the 2025 spec's
`BatchRequestInput`. Parameters left as None are omitted, so the model's defaults apply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batchdash.preflight.limits import is_reasoning_model
from batchdash.preflight.schema import SCHEMA_NAME, output_schema
from batchdash.recipe import Recipe

#: Per-row texts: a list of str, or an Arrow array of them.
Texts: TypeAlias = Sequence[str] | pa.Array | pa.ChunkedArray


def request_body(recipe: Recipe, prompt: str, system: str = "") -> dict[str, Any]:
    """The body of one request: the rendered `prompt` and `system` text with the recipe's settings.

    The system text is sent as a system message (chat) or `instructions` (responses) when it is
    not empty; embeddings and completions have no place for it. A reasoning effort is sent only
    to reasoning models, which take no other.
    """
    body: dict[str, Any] = {"model": recipe.model}
    effort = recipe.reasoning_effort if is_reasoning_model(recipe.model) else None
    if recipe.endpoint == "/v1/chat/completions":
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        body["messages"] = messages
        _put(body, "max_completion_tokens", recipe.max_output_tokens)
        _put(body, "temperature", recipe.temperature)
        _put(body, "reasoning_effort", effort)
        if recipe.structured:
            body["response_format"] = structured_format(recipe)
    elif recipe.endpoint == "/v1/responses":
        body["input"] = prompt
        _put(body, "instructions", system or None)
        _put(body, "max_output_tokens", recipe.max_output_tokens)
        _put(body, "temperature", recipe.temperature)
        if effort is not None:
            body["reasoning"] = {"effort": effort}
        if recipe.structured:
            body["text"] = {"format": structured_format(recipe)}
    elif recipe.endpoint == "/v1/embeddings":
        body["input"] = prompt
        _put(body, "dimensions", recipe.dimensions)
    elif recipe.endpoint == "/v1/completions":
        body["prompt"] = prompt
        _put(body, "max_tokens", recipe.max_output_tokens)
        _put(body, "temperature", recipe.temperature)
    elif recipe.endpoint == "/v1/moderations":
        # CreateModerationRequest: the text to classify and the model, nothing else.
        body["input"] = prompt
    else:
        raise ValueError(f"unknown endpoint {recipe.endpoint!r}")
    return body


def structured_format(recipe: Recipe) -> dict[str, Any]:
    """The JSON-schema format a structured recipe sends: `response_format` for chat, `text.format`
    for responses (the same schema, shaped for each endpoint)."""
    schema = output_schema(recipe.output_fields)
    if recipe.endpoint == "/v1/chat/completions":
        return {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": schema},
        }
    return {"type": "json_schema", "name": SCHEMA_NAME, "strict": True, "schema": schema}


def _put(body: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        body[key] = value


def request_line(recipe: Recipe, custom_id: str, prompt: str, system: str = "") -> dict[str, Any]:
    """One batch input line as a dict (`BatchRequestInput`)."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": recipe.endpoint,
        "body": request_body(recipe, prompt, system),
    }


def encode_line(line: dict[str, Any]) -> str:
    """Compact JSON of one line, non-ASCII kept as is, newline-terminated."""
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


# Stand-ins for the per-row strings while the constant parts of a line are encoded once. JSON
# writes NUL as \u0000, so an encoded stand-in cannot be confused with encoded user text
# unless that text holds the same NUL-wrapped word.
_SLOTS = {name: f"\x00batchdash:{name}\x00" for name in ("custom_id", "prompt", "system")}


def jsonl_lines(
    recipe: Recipe,
    custom_ids: Texts,
    prompts: Texts,
    systems: Texts | str = "",
) -> pa.LargeStringArray:
    """The newline-terminated JSONL line of every row; `systems` is one text or one per row.

    Line by line equal to `encode_line(request_line(...))`, but the constant parts of the line
    are encoded once, only the per-row strings are escaped (see `_escaped`), and Arrow joins
    the pieces: its buffer is already the UTF-8 file (see `lines_bytes`).
    """
    escaped = {"custom_id": _escaped(custom_ids), "prompt": _escaped(prompts)}
    if isinstance(systems, str):
        return _LineShape.of(recipe, systems).join(escaped)
    escaped["system"] = _escaped(systems)
    with_system = _LineShape.of(recipe, _SLOTS["system"]).join(escaped)
    # An empty system text means no system message at all, which is another line shape.
    has_system = pc.not_equal(pc.binary_length(escaped["system"]), len('""'))
    if pc.all(has_system).as_py():
        return with_system
    return pc.if_else(has_system, with_system, _LineShape.of(recipe, "").join(escaped))


def jsonl_line_sizes(
    recipe: Recipe,
    custom_ids: pa.Array,
    prompts: pa.Array,
    systems: pa.Array | str = "",
) -> np.ndarray:
    """The bytes of each line `jsonl_lines` would make from the same texts, without making them.

    Counts in the texts' UTF-8 buffers what JSON escaping adds, so sizing a batch for its
    split costs a few array passes instead of encoding every line.
    """
    sizes = {"custom_id": _escaped_sizes(custom_ids), "prompt": _escaped_sizes(prompts)}
    if isinstance(systems, str):
        return _LineShape.of(recipe, systems).sizes(sizes)
    sizes["system"] = _escaped_sizes(systems)
    with_system = _LineShape.of(recipe, _SLOTS["system"]).sizes(sizes)
    without_system = _LineShape.of(recipe, "").sizes(sizes)
    return np.where(sizes["system"] > len('""'), with_system, without_system)


@dataclass(frozen=True)
class _LineShape:
    """An encoded line cut at its per-row slots: constant text, slot, constant text, ..."""

    #: Encoded text around the slots (one more than the slots).
    constants: tuple[str, ...]
    #: Which per-row string goes in each slot, in line order.
    slots: tuple[str, ...]

    @classmethod
    def of(cls, recipe: Recipe, system: str) -> _LineShape:
        shape = encode_line(request_line(recipe, _SLOTS["custom_id"], _SLOTS["prompt"], system))
        found = sorted(
            (shape.index(encode_basestring(slot)), name)
            for name, slot in _SLOTS.items()
            if encode_basestring(slot) in shape
        )
        constants, position = [], 0
        for start, name in found:
            constants.append(shape[position:start])
            position = start + len(encode_basestring(_SLOTS[name]))
        constants.append(shape[position:])
        return cls(tuple(constants), tuple(name for _, name in found))

    def join(self, escaped: dict[str, pa.LargeStringArray]) -> pa.LargeStringArray:
        """Lines with the escaped per-row strings in their slots."""
        pieces: list[pa.Array | pa.Scalar] = [_text_scalar(self.constants[0])]
        for name, constant in zip(self.slots, self.constants[1:], strict=True):
            pieces += [escaped[name], _text_scalar(constant)]
        return pc.binary_join_element_wise(*pieces, _text_scalar(""))

    def sizes(self, escaped_sizes: dict[str, np.ndarray]) -> np.ndarray:
        """Bytes of each line, given the bytes of each escaped per-row string."""
        constant = sum(len(text.encode("utf-8")) for text in self.constants)
        slot_sizes = np.sum([escaped_sizes[name] for name in self.slots], axis=0)
        return np.asarray(constant + slot_sizes, dtype=np.int64)


def _escaped(texts: Texts) -> pa.LargeStringArray:
    """Each text as a JSON string literal, quotes included: what json.dumps writes for it.

    Arrow escapes the quotes and backslashes (all json escapes outside control characters)
    and adds the surrounding quotes; texts holding control characters, which are rare, go
    through the json module's own C escaper.
    """
    array = _large_text(texts)
    if array.null_count:  # not texts: json's escaper says so as before
        return pa.array(list(map(encode_basestring, array.to_pylist())), pa.large_string())
    _lengths, extra, controls = _escape_extra(array)
    if extra.any():
        array = pc.replace_substring(array, "\\", "\\\\")  # before any other escape adds one
        array = pc.replace_substring(array, '"', '\\"')
    quoted = pc.binary_join_element_wise(
        _text_scalar('"'), array, _text_scalar('"'), _text_scalar("")
    )
    if not controls.any():
        return quoted
    mask = pa.array(controls)
    others = map(encode_basestring, pc.filter(_large_text(texts), mask).to_pylist())
    return pc.replace_with_mask(quoted, mask, pa.array(list(others), pa.large_string()))


def _large_text(texts: Texts) -> pa.LargeStringArray:
    """`texts` as one large_string array (no copy when it is one already)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    elif not isinstance(texts, pa.Array):
        texts = pa.array(texts, pa.large_string())
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    return texts


# Bytes JSON escaping adds per UTF-8 byte of a text (multi-byte characters never contain bytes
# below 0x80): one for the two-character escapes, five for the other control characters
# (written as \u00XX), none otherwise.
_JSON_EXTRA = np.zeros(256, dtype=np.uint8)
_JSON_EXTRA[:0x20] = 5
_JSON_EXTRA[list(b'"\\\b\f\n\r\t')] = 1


def _escape_extra(texts: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTF-8 bytes of each text, the bytes JSON escaping adds to each, and which texts hold
    control characters."""
    offsets = _offsets(texts)
    lengths = np.diff(offsets)
    extra = np.zeros(len(texts), dtype=np.int64)
    controls = np.zeros(len(texts), dtype=bool)
    data = texts.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return lengths, extra, controls
    text = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    # Few bytes need escaping: find them with cheap comparisons, then weigh only those.
    hits = np.flatnonzero((text < 0x20) | (text == ord('"')) | (text == ord("\\")))
    if hits.size:
        rows = np.searchsorted(offsets - offsets[0], hits, side="right") - 1
        weights = np.bincount(rows, weights=_JSON_EXTRA[text[hits]], minlength=len(texts))
        extra += weights.astype(np.int64)
        controls[rows[text[hits] < 0x20]] = True
    return lengths, extra, controls


def _escaped_sizes(texts: pa.Array) -> np.ndarray:
    """UTF-8 bytes of each text written as a JSON string literal, quotes included."""
    lengths, extra, _controls = _escape_extra(_large_text(texts))
    return lengths + extra + len('""')


def _text_scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _offsets(lines: pa.LargeStringArray) -> np.ndarray:
    """The byte offsets of the lines in the array's data buffer (one more than the lines)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    return offsets[lines.offset : lines.offset + len(lines) + 1]


def line_sizes(lines: pa.LargeStringArray) -> np.ndarray:
    """The UTF-8 bytes of each line, newline included."""
    return np.diff(_offsets(lines))


def lines_bytes(lines: pa.LargeStringArray) -> bytes:
    """The lines as one JSONL file: UTF-8 without BOM."""
    offsets = _offsets(lines)
    if len(lines) == 0:
        return b""
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()
