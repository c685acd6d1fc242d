"""Results as Arrow columns: one table row per line of the output and error files.

A 1,000,000-line job would make a million `RowResult`s, several Python strings each; here the
lines are read a run at a time (the registry keeps a file as chunks of whole lines) and every
run becomes Arrow columns at once. Chat and completions answers are judged column by column;
the other endpoints, structured answers and any line Arrow refuses go through
`parse_result_lines`, one run at a time, so its rules and its error wording stay the only ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from batchdash.recipe import Endpoint, OutputField, Recipe
from batchdash.results.columns import arrow_leaves, line_count
from batchdash.results.parallel import map_in_order
from batchdash.results.parse import RowResult, http_error_text, parse_result_lines

#: Text columns of the results table, in order (then the two counts, then the fields).
TEXT_COLUMNS = ("custom_id", "status", "response", "error", "finish_reason", "batch_id", "model")
COUNT_COLUMNS = ("input_tokens", "output_tokens")
#: The file each row came from, for messages.
SOURCE = "source"

_TEXT = pa.large_string()
_COUNT = pa.int64()
_EMPTY = pa.scalar("", _TEXT)

# Endpoints whose answers are judged column by column (their text and stop reason are plain
# leaves); the others need Python per answer anyway.
_COLUMNAR: frozenset[Endpoint] = frozenset({"/v1/chat/completions", "/v1/completions"})


class ResultFile(NamedTuple):
    """One output or error file of a batch, as runs of whole lines."""

    #: The runs, in file order (a whole file is one run).
    runs: Iterable[bytes]
    #: The batch that produced it ("" when unknown).
    batch_id: str
    #: What messages call it, e.g. "output.jsonl".
    source_name: str


def field_key(name: str) -> str:
    """The results table's column of a structured field (a prefix keeps it apart from the
    fixed columns)."""
    return f"field:{name}"


def results_schema(fields: Sequence[OutputField]) -> pa.Schema:
    """The columns of a results table with these structured fields."""
    return pa.schema(
        [
            *((name, _TEXT) for name in TEXT_COLUMNS),
            *((name, _COUNT) for name in COUNT_COLUMNS),
            (SOURCE, _TEXT),
            *((field_key(spec.name), _field_type(spec)) for spec in fields),
        ]
    )


def _field_type(spec: OutputField) -> pa.DataType:
    return {"number": pa.float64(), "integer": pa.int64()}.get(spec.type, _TEXT)


def read_result_files(files: Iterable[ResultFile], recipe: Recipe) -> pa.Table:
    """Every line of every file, in the order given, as one results table.

    The runs are read on every core, each run whole on one thread (`parallel`); a run's
    error is raised as if the runs were read one after the other."""

    def table(numbered: tuple[str, str, bytes, int, int]) -> pa.Table:
        batch_id, name, run, first, lines = numbered
        return result_run_table(
            run,
            recipe=recipe,
            batch_id=batch_id,
            source_name=name,
            first_line=first,
            lines=lines,
            threads=False,
        )

    tables = list(map_in_order(table, _numbered_runs(files)))
    schema = results_schema(recipe.result_fields)
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _numbered_runs(files: Iterable[ResultFile]) -> Iterable[tuple[str, str, bytes, int, int]]:
    """Each run with its file, the number of its first line and its count of lines."""
    for runs, batch_id, name in files:
        first = 1
        for run in runs:
            lines = line_count(run)
            yield batch_id, name, run, first, lines
            first += lines


def rows_table(results: Iterable[RowResult], fields: Sequence[OutputField]) -> pa.Table:
    """A results table of RowResults (as `parse_result_lines` gives them)."""
    rows = list(results)
    columns: dict[str, pa.Array] = {
        name: pa.array([getattr(r, name) for r in rows], _TEXT) for name in TEXT_COLUMNS
    }
    for name in COUNT_COLUMNS:
        columns[name] = pa.array([getattr(r, name) for r in rows], _COUNT)
    columns[SOURCE] = pa.array([r.source for r in rows], _TEXT)
    for spec in fields:
        values = [r.fields.get(spec.name) for r in rows]
        columns[field_key(spec.name)] = pa.array(values, _field_type(spec))
    return pa.table(columns, schema=results_schema(fields))


def result_run_table(
    data: bytes,
    *,
    recipe: Recipe,
    batch_id: str = "",
    source_name: str = "the results file",
    first_line: int = 1,
    lines: int | None = None,
    threads: bool = True,
) -> pa.Table:
    """The results table of a run of whole lines of one file (see `parse_result_lines`);
    `lines` is its `line_count` when the caller knows it; `threads=False` reads it on the
    calling thread alone."""
    fields = recipe.result_fields
    if recipe.endpoint in _COLUMNAR and not fields:
        table = _columnar(data, recipe, batch_id, source_name, lines, threads)
        if table is not None:
            return table
    rows = parse_result_lines(
        data, recipe=recipe, batch_id=batch_id, source_name=source_name, first_line=first_line
    )
    return rows_table(rows, fields)


def _columnar(
    data: bytes, recipe: Recipe, batch_id: str, source: str, lines: int | None, threads: bool
) -> pa.Table | None:
    """The table judged column by column; None for anything unusual (a line without a
    custom_id, an answer of another endpoint, a line that is neither answer nor error), which
    `parse_result_lines` words as an error."""
    leaves = arrow_leaves(data, recipe.endpoint, lines, threads=threads)
    if leaves is None:
        return None
    rows = len(leaves["custom_id"])
    custom_id = leaves["custom_id"].cast(_TEXT)
    if pc.any(pc.fill_null(pc.equal(custom_id, _EMPTY), True)).as_py():
        return None
    answered = pc.fill_null(
        pc.and_(leaves["has_response"], pc.equal(leaves["status_code"], 200)), False
    )
    if not pc.all(
        pc.or_(pc.invert(answered), pc.and_(leaves["has_body"], leaves["shape"]))
    ).as_py():
        return None
    code = pc.fill_null(leaves["error_code"].cast(_TEXT), _EMPTY)
    message = pc.fill_null(leaves["error_message"].cast(_TEXT), _EMPTY)
    not_run = pc.and_(
        pc.invert(answered), pc.or_(pc.not_equal(code, _EMPTY), pc.not_equal(message, _EMPTY))
    )
    http_error = pc.and_(pc.invert(pc.or_(answered, not_run)), leaves["has_response"])
    if not pc.all(pc.or_(pc.or_(answered, not_run), http_error)).as_py():
        return None  # a line with neither a response nor an error

    refusal = leaves.get("refusal")
    if refusal is None:  # completions: no refusals
        failure = _repeated("", rows)
    else:
        said = pc.fill_null(refusal.cast(_TEXT), _EMPTY)
        refused = pc.binary_join_element_wise(_text("The model refused: "), said, _EMPTY)
        failure = pc.if_else(pc.equal(said, _EMPTY), _EMPTY, refused)
    failed = pc.and_(answered, pc.not_equal(failure, _EMPTY))
    not_run_status = pc.if_else(
        pc.equal(code, _text("batch_expired")),
        _text("expired"),
        pc.if_else(pc.equal(code, _text("batch_cancelled")), _text("cancelled"), _text("error")),
    )
    status = pc.if_else(
        answered,
        pc.if_else(failed, _text("error"), _text("ok")),
        pc.if_else(not_run, not_run_status, _text("error")),
    )
    did_not_run = pc.binary_join_element_wise(
        _text("The request did not run ("), code, _text(")."), _EMPTY
    )
    not_run_error = pc.if_else(pc.equal(message, _EMPTY), did_not_run, message)
    error = pc.if_else(
        answered,
        failure,
        pc.if_else(not_run, not_run_error, _http_errors(leaves, http_error, rows)),
    )

    def answer_text(name: str) -> pa.Array:
        return pc.if_else(answered, pc.fill_null(leaves[name].cast(_TEXT), _EMPTY), _EMPTY)

    def answer_count(name: str) -> pa.Array:
        return pc.if_else(answered, pc.fill_null(leaves[name].cast(_COUNT), 0), 0)

    reported = pc.fill_null(leaves["model"].cast(_TEXT), _EMPTY)
    model = pc.if_else(
        pc.and_(answered, pc.not_equal(reported, _EMPTY)), reported, _text(recipe.model)
    )
    columns = {
        "custom_id": custom_id,
        "status": status,
        "response": answer_text("text"),
        "error": error,
        "finish_reason": answer_text("finish_reason"),
        "batch_id": _repeated(batch_id, rows),
        "model": model,
        "input_tokens": answer_count("input_tokens"),
        "output_tokens": answer_count("output_tokens"),
        SOURCE: _repeated(source, rows),
    }
    return pa.table(columns, schema=results_schema(()))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, _TEXT)


def _repeated(value: str, rows: int) -> pa.Array:
    """`value` in each of `rows` rows, without a Python object per row."""
    return pa.repeat(_text(value), rows)


def _http_errors(leaves: dict[str, pa.Array], rows_with: pa.BooleanArray, rows: int) -> pa.Array:
    """The error sentence of each HTTP error line (few in any file: worded one by one)."""
    wanted = pc.indices_nonzero(rows_with).to_pylist()
    if not wanted:
        return pa.nulls(rows, _TEXT)
    no_text = pa.scalar(None, _TEXT)
    named = leaves["body_error_code"].cast(_TEXT)
    code = pc.coalesce(
        pc.if_else(pc.equal(named, _EMPTY), no_text, named), leaves["body_error_type"].cast(_TEXT)
    )
    texts = [
        http_error_text(
            leaves["status_code"][row].as_py(),
            leaves["body_error_message"][row].as_py(),
            code[row].as_py(),
        )
        for row in wanted
    ]
    return pc.replace_with_mask(pa.nulls(rows, _TEXT), rows_with, pa.array(texts, _TEXT))
