"""Output and error file lines read into columns: only the values the merged table needs.

Two readers give the same columns. Arrow's multithreaded JSON reader handles a well-formed file
in one pass; the line-by-line `json` reader is the reference, and runs whenever Arrow refuses
(a garbage line, an unusual type, an empty `choices` list), so it alone words the errors.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from batchdash.errors import ResultsError
from batchdash.i18n import _l
from batchdash.recipe import MODERATION_CATEGORIES, Endpoint

#: How a value is taken: text (str or None), count (int or None), present (is it an object
#: or a list), raw (the JSON value as it is).
Kind = Literal["text", "count", "present", "raw"]
Path = tuple[str | int, ...]

_BOM = b"\xef\xbb\xbf"
_LINE_FEED = ord("\n")
FIX = _l("give Batchdash the output and error files exactly as the Batch API returned them")


@dataclass(frozen=True)
class Leaf:
    """One value read from every line."""

    #: Keys and list positions from the line's root to the value.
    path: Path
    #: How the value is taken.
    kind: Kind


_BODY = ("response", "body")

#: Values of every line, whatever the endpoint.
ENVELOPE: dict[str, Leaf] = {
    "custom_id": Leaf(("custom_id",), "text"),
    "has_response": Leaf(("response",), "present"),
    "status_code": Leaf(("response", "status_code"), "count"),
    "has_body": Leaf(_BODY, "present"),
    "model": Leaf((*_BODY, "model"), "text"),
    "body_error_message": Leaf((*_BODY, "error", "message"), "text"),
    "body_error_code": Leaf((*_BODY, "error", "code"), "text"),
    "body_error_type": Leaf((*_BODY, "error", "type"), "text"),
    "error_code": Leaf(("error", "code"), "text"),
    "error_message": Leaf(("error", "message"), "text"),
}

#: Values of a successful body; `shape` is present only in an answer of that endpoint.
ANSWER: dict[Endpoint, dict[str, Leaf]] = {
    "/v1/chat/completions": {
        "shape": Leaf((*_BODY, "choices", 0, "message"), "present"),
        "text": Leaf((*_BODY, "choices", 0, "message", "content"), "text"),
        "refusal": Leaf((*_BODY, "choices", 0, "message", "refusal"), "text"),
        "finish_reason": Leaf((*_BODY, "choices", 0, "finish_reason"), "text"),
        "input_tokens": Leaf((*_BODY, "usage", "prompt_tokens"), "count"),
        "output_tokens": Leaf((*_BODY, "usage", "completion_tokens"), "count"),
    },
    "/v1/responses": {
        "shape": Leaf((*_BODY, "output"), "present"),
        "output": Leaf((*_BODY, "output"), "raw"),
        "status": Leaf((*_BODY, "status"), "text"),
        "incomplete_reason": Leaf((*_BODY, "incomplete_details", "reason"), "text"),
        "input_tokens": Leaf((*_BODY, "usage", "input_tokens"), "count"),
        "output_tokens": Leaf((*_BODY, "usage", "output_tokens"), "count"),
    },
    "/v1/embeddings": {
        "shape": Leaf((*_BODY, "data", 0), "present"),
        "embedding": Leaf((*_BODY, "data", 0, "embedding"), "raw"),
        "input_tokens": Leaf((*_BODY, "usage", "prompt_tokens"), "count"),
    },
    "/v1/completions": {
        "shape": Leaf((*_BODY, "choices", 0), "present"),
        "text": Leaf((*_BODY, "choices", 0, "text"), "text"),
        "finish_reason": Leaf((*_BODY, "choices", 0, "finish_reason"), "text"),
        "input_tokens": Leaf((*_BODY, "usage", "prompt_tokens"), "count"),
        "output_tokens": Leaf((*_BODY, "usage", "completion_tokens"), "count"),
    },
    # One input per request: its result is the first (and only) of `results`.
    "/v1/moderations": {
        "shape": Leaf((*_BODY, "results", 0), "present"),
        "flagged": Leaf((*_BODY, "results", 0, "flagged"), "raw"),
        "categories": Leaf((*_BODY, "results", 0, "categories"), "raw"),
        "scores": Leaf((*_BODY, "results", 0, "category_scores"), "raw"),
    },
}


@dataclass(frozen=True)
class Columns:
    """The leaves of every non-empty line, one list per leaf name, in line order."""

    #: 1-based line number in the file of each row.
    line_numbers: list[int]
    #: Leaf name -> one value per row.
    values: dict[str, list[Any]]


def read_columns(
    data: bytes | Iterable[bytes], endpoint: Endpoint, source: str, first_line: int = 1
) -> Columns:
    """The envelope and answer leaves of every non-empty line of one file (or of a run of its
    lines, the first of them numbered `first_line`)."""
    numbers, lines = _non_empty_lines(data, first_line)
    leaves = {**ENVELOPE, **ANSWER[endpoint]}
    values = _arrow_values(lines, endpoint, leaves) if lines else None
    if values is None:
        values = _json_values(zip(numbers, lines, strict=True), leaves, source)
    return Columns(numbers, values)


def json_objects(
    data: bytes | Iterable[bytes], source: str, first_line: int = 1
) -> Iterator[dict[str, Any]]:
    """Each non-empty line as a JSON object; a line that is not one raises ResultsError."""
    numbers, lines = _non_empty_lines(data, first_line)
    for number, line in zip(numbers, lines, strict=True):
        yield _json_object(number, line, source)


def _non_empty_lines(
    data: bytes | Iterable[bytes], first_line: int = 1
) -> tuple[list[int], list[bytes]]:
    """The numbers (the first line's is `first_line`) and the bytes of the lines that hold
    more than whitespace."""
    if isinstance(data, bytes | bytearray):
        every = bytes(data).splitlines()
    else:
        every = [line for chunk in data for line in chunk.splitlines()]
    if every and every[0].startswith(_BOM):
        every[0] = every[0][len(_BOM) :]
    numbers = [number for number, line in enumerate(every) if line.strip()]
    return [number + first_line for number in numbers], [every[number] for number in numbers]


def line_count(data: bytes) -> int:
    """How many lines `data` holds, counted as `read_columns` numbers them."""
    if b"\r" in data:  # a lone CR ends a line too
        return len(data.splitlines())
    # numpy counts the line feeds twice as fast as bytes.count.
    feeds = int(np.count_nonzero(np.frombuffer(data, np.uint8) == _LINE_FEED))
    return feeds + (not data.endswith(b"\n") if data else 0)


def arrow_leaves(
    data: bytes, endpoint: Endpoint, lines: int | None = None, *, threads: bool = True
) -> dict[str, pa.Array] | None:
    """The leaves of every non-empty line as Arrow arrays, read without a Python object per
    line; None when Arrow refuses the lines (the `read_columns` path then words the error).
    `lines` is `line_count(data)` when the caller knows it; `threads=False` reads on the
    calling thread alone (for a caller that runs several reads at once)."""
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    # Arrow reads the lines as they are when none is blank (it would skip a blank one, and
    # count two objects on one line as two: the line by line path tells those apart), and
    # none is longer than a block (it refuses the run: the path below sizes the blocks).
    lines = line_count(body) if lines is None else lines
    table = _arrow_read(body, endpoint, 1 << 20, lines, threads) if body else None
    if table is None:
        _numbers, numbered = _non_empty_lines(data)
        table = _arrow_table(numbered, endpoint) if numbered else None
    if table is None:
        return None
    try:
        return _arrow_arrays(table, {**ENVELOPE, **ANSWER[endpoint]})
    except pa.ArrowException:
        return None


def _json_object(number: int, line: bytes, source: str) -> dict[str, Any]:
    try:
        obj = json.loads(line.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else _l("not UTF-8 text")
        raise ResultsError(
            _l(
                "Line {number} of {source} is not a JSON line ({reason}): {fix}.",
                number=number,
                source=source,
                reason=reason,
                fix=FIX,
            )
        ) from None
    if not isinstance(obj, dict):
        raise ResultsError(
            _l(
                "Line {number} of {source} is not a JSON object: {fix}.",
                number=number,
                source=source,
                fix=FIX,
            )
        )
    return obj


def _json_values(
    numbered: Iterable[tuple[int, bytes]], leaves: dict[str, Leaf], source: str
) -> dict[str, list[Any]]:
    """The reference reader: `json.loads` per line, then each leaf walked in Python."""
    values: dict[str, list[Any]] = {name: [] for name in leaves}
    for number, line in numbered:
        obj = _json_object(number, line, source)
        for name, leaf in leaves.items():
            values[name].append(_taken(_walk(obj, leaf.path), leaf.kind))
    return values


def _walk(value: Any, path: Path) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                return None
            value = value[step]
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def without_lone_surrogates(text: str) -> str:
    """`text` with each lone surrogate as U+FFFD.

    JSON may escape half of a surrogate pair ("\\ud800"); `json.loads` gives it back as a str
    that UTF-8, Arrow and pandas refuse, so one such answer would stop the merge and every
    download. (Arrow's reader never yields one: such a file takes the `json.loads` path.)"""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _taken(value: Any, kind: Kind) -> Any:
    if kind == "text":
        return without_lone_surrogates(value) if isinstance(value, str) else None
    if kind == "count":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "present":
        return isinstance(value, dict | list)
    return value


# Arrow reads only the fields named here; anything else in a line is skipped unparsed.
_TEXT = pa.string()
_COUNT = pa.int64()
_ERROR = pa.struct([("message", _TEXT), ("code", _TEXT), ("type", _TEXT)])


def _usage(*names: str) -> pa.DataType:
    return pa.struct([(name, _COUNT) for name in names])


_ANSWER_FIELDS: dict[Endpoint, list[tuple[str, pa.DataType]]] = {
    "/v1/chat/completions": [
        (
            "choices",
            pa.list_(
                pa.struct(
                    [
                        ("message", pa.struct([("content", _TEXT), ("refusal", _TEXT)])),
                        ("finish_reason", _TEXT),
                    ]
                )
            ),
        ),
        ("usage", _usage("prompt_tokens", "completion_tokens")),
    ],
    "/v1/responses": [
        (
            "output",
            pa.list_(
                pa.struct(
                    [
                        ("type", _TEXT),
                        (
                            "content",
                            pa.list_(
                                pa.struct([("type", _TEXT), ("text", _TEXT), ("refusal", _TEXT)])
                            ),
                        ),
                    ]
                )
            ),
        ),
        ("status", _TEXT),
        ("incomplete_details", pa.struct([("reason", _TEXT)])),
        ("usage", _usage("input_tokens", "output_tokens")),
    ],
    "/v1/embeddings": [
        ("data", pa.list_(pa.struct([("embedding", pa.list_(pa.float64()))]))),
        ("usage", _usage("prompt_tokens")),
    ],
    "/v1/completions": [
        ("choices", pa.list_(pa.struct([("text", _TEXT), ("finish_reason", _TEXT)]))),
        ("usage", _usage("prompt_tokens", "completion_tokens")),
    ],
    "/v1/moderations": [
        (
            "results",
            pa.list_(
                pa.struct(
                    [
                        ("flagged", pa.bool_()),
                        (
                            "categories",
                            pa.struct([(name, pa.bool_()) for name in MODERATION_CATEGORIES]),
                        ),
                        (
                            "category_scores",
                            pa.struct([(name, pa.float64()) for name in MODERATION_CATEGORIES]),
                        ),
                    ]
                )
            ),
        ),
    ],
}


def _arrow_schema(endpoint: Endpoint) -> pa.Schema:
    body = pa.struct([("model", _TEXT), ("error", _ERROR), *_ANSWER_FIELDS[endpoint]])
    response = pa.struct([("status_code", _COUNT), ("body", body)])
    error = pa.struct([("code", _TEXT), ("message", _TEXT)])
    return pa.schema([("custom_id", _TEXT), ("response", response), ("error", error)])


def _arrow_values(
    lines: list[bytes], endpoint: Endpoint, leaves: dict[str, Leaf]
) -> dict[str, list[Any]] | None:
    """The fast reader; None when Arrow refuses the file or reads it differently than json."""
    table = _arrow_table(lines, endpoint)
    if table is None:
        return None
    try:
        arrays = _arrow_arrays(table, leaves)
    except pa.ArrowException:
        return None
    return {name: array.to_pylist() for name, array in arrays.items()}


def _arrow_table(lines: list[bytes], endpoint: Endpoint) -> pa.Table | None:
    """The lines read by Arrow; None when it refuses them or counts other lines than json."""
    # A block must hold the longest line whole.
    block = max(1 << 20, 2 * max(map(len, lines)))
    return _arrow_read(b"\n".join(lines), endpoint, block, len(lines))


def _arrow_read(
    data: bytes, endpoint: Endpoint, block: int, lines: int, threads: bool = True
) -> pa.Table | None:
    """`lines` lines read by Arrow; None when it refuses them or reads another number of
    objects (two objects on one line: the json reader says where)."""
    options = pa_json.ParseOptions(
        explicit_schema=_arrow_schema(endpoint), unexpected_field_behavior="ignore"
    )
    # Blocks are read on Arrow's threads (both cores of a small server), unless the caller
    # already reads several runs at once.
    read = pa_json.ReadOptions(block_size=max(1 << 20, block), use_threads=threads)
    try:
        table = pa_json.read_json(io.BytesIO(data), read_options=read, parse_options=options)
    except pa.ArrowException:
        return None
    # One chunk per column, combined once here rather than once per value taken from it.
    return table.combine_chunks() if table.num_rows == lines else None


def _arrow_arrays(table: pa.Table, leaves: dict[str, Leaf]) -> dict[str, pa.Array]:
    """Each leaf of every line (for `present`, whether the value is there). The steps leaves
    share are taken once: `choices[0]` copies every answer, and four leaves start with it."""
    walked: dict[Path, pa.Array] = {}

    def walk(path: Path) -> pa.Array:
        column = walked.get(path)
        if column is not None:
            return column
        if len(path) == 1:
            chunked = table.column(str(path[0]))
            column = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
        elif isinstance(step := path[-1], int):
            column = pc.list_element(walk(path[:-1]), step)  # an empty list raises: json reader
        else:
            column = pc.struct_field(walk(path[:-1]), step)
        walked[path] = column
        return column

    return {
        name: pc.is_valid(walk(leaf.path)) if leaf.kind == "present" else walk(leaf.path)
        for name, leaf in leaves.items()
    }
