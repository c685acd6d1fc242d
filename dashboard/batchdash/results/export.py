"""The merged table as a download: CSV that Excel opens safely, or XLSX that keeps text as text."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from batchdash.errors import ResultsError
from batchdash.i18n import _l
from batchdash.results.arrow_columns import arrow_column, is_text
from batchdash.results.parallel import map_in_order
from batchdash.results.xlsx_writer import (
    MAX_CELL_CHARACTERS,
    MAX_COLUMNS,
    MAX_ROWS,
    Column,
    ColumnLook,
    write_xlsx,
)

# Excel opens a CSV as UTF-8 only when it starts with a byte-order mark.
_BOM = "\ufeff"

# A spreadsheet treats a cell starting with =, +, -, @, tab or CR as a formula (OWASP "CSV
# injection"). Some programs trim a cell before they look at it, and some read the full-width signs of East
# Asian keyboards as the ASCII ones; so a formula sign after leading blanks (any Unicode space,
# line break or zero-width character) or a full-width sign counts as a start too.
_BLANKS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u3000\ufeff"
_SIGNS = "=+\\-@\uff1d\uff0b\uff0d\uff20"
#: Matches a text cell a spreadsheet could run: the same pattern for Python's re and Arrow's RE2.
FORMULA_START = f"^[\t\r]|^[{_BLANKS}]*[{_SIGNS}]"
_FORMULA = re.compile(FORMULA_START)

_LARGE_TEXT = pa.large_string()
_QUOTE = pa.scalar("'", _LARGE_TEXT)
_EMPTY = pa.scalar("", _LARGE_TEXT)
_NO_TEXT = pa.scalar(None, _LARGE_TEXT)

# RFC 4180 line ends, as Excel itself writes CSV.
_EOL = "\r\n"

SHEET_NAME = "Results"

#: Rows written to a CSV at a time.
ROWS_PER_BATCH = 50_000

# A text Excel would show as the same number: an optional minus, no leading zero, digits and an
# optional decimal part (RE2 syntax, for Arrow).
_PLAIN_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
_MINUS_ZERO = r"^-0(\.0+)?$"
# Excel keeps 15 significant digits of a number.
_EXACT_DIGITS = 15
# General shows a number of up to 11 characters as written, longer ones in scientific notation.
_GENERAL_CHARACTERS = 11
# Column widths in Excel's unit (a digit's width): a header needs room for its filter button,
# a cell a little padding; a column narrower than 8 is fiddly, one wider than 60 hides the rest.
_MIN_WIDTH = 8
_MAX_WIDTH = 60
_FILTER_BUTTON = 3
_PADDING = 1


class MergedColumns(Protocol):
    """A merged table to export, read a column or a run of rows at a time."""

    #: Column names, in order.
    names: list[str]
    #: Number of rows.
    rows: int

    def column(self, position: int) -> pa.Array:
        """One whole column."""
        ...

    def batches(self) -> Iterator[list[pa.Array]]:
        """Every column of a run of rows, run after run."""
        ...


class TableColumns:
    """An Arrow table in memory as MergedColumns."""

    def __init__(self, table: pa.Table, names: Sequence[str] | None = None) -> None:
        self._table = table
        self.names = [str(name) for name in (table.column_names if names is None else names)]
        self.rows = table.num_rows

    def column(self, position: int) -> pa.Array:
        column = self._table.column(position)
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column

    def batches(self) -> Iterator[list[pa.Array]]:
        for batch in self._table.to_batches(max_chunksize=ROWS_PER_BATCH):
            yield list(batch.columns)


def frame_columns(frame: pd.DataFrame) -> TableColumns:
    """A DataFrame as MergedColumns (numbers stay numbers, everything else is text)."""
    arrays = [arrow_column(frame.iloc[:, position]) for position in range(frame.shape[1])]
    table = pa.Table.from_arrays(arrays, names=[str(n) for n in range(len(arrays))])
    return TableColumns(table, [str(name) for name in frame.columns])


def to_csv_bytes(merged: pd.DataFrame, *, for_spreadsheets: bool = True) -> bytes:
    """`write_csv` of a DataFrame, as bytes."""
    out = io.BytesIO()
    write_csv(frame_columns(merged), out, for_spreadsheets=for_spreadsheets)
    return out.getvalue()


def write_csv(merged: MergedColumns, out: BinaryIO, *, for_spreadsheets: bool = True) -> None:
    """CSV with CRLF line ends and every text cell quoted; for spreadsheets by default. Written
    a run of rows at a time.

    For spreadsheets: UTF-8 with BOM (without it Excel reads UTF-8 as the local code page), and
    every text cell (headers too) starting with =, +, -, @, tab or CR gets a leading `'`, so a
    spreadsheet shows it instead of running it; so does one where such a sign (or its
    full-width form) follows leading blanks. For other programs (`for_spreadsheets=False`):
    every text exactly as it is, and no BOM, which Python's csv module, R's read.csv and
    database loaders would otherwise read as part of the first column's name.

    Numeric columns (tokens, cost, number and integer fields) stay unquoted numbers: a negative
    number is not text and is written as it is. Floats take their shortest exact form
    (0.0000093; 7.5e-7 below a millionth), empty when missing.
    """
    names = merged.names
    header = io.StringIO()
    csv.writer(header, quoting=csv.QUOTE_ALL, lineterminator=_EOL).writerow(
        [_neutralised(name) for name in names] if for_spreadsheets else names
    )
    out.write(((_BOM if for_spreadsheets else "") + header.getvalue()).encode("utf-8"))
    if not names or not merged.rows:
        return
    # Arrow's writer quotes every string and escapes quotes, CR and LF inside them.
    options = pa_csv.WriteOptions(include_header=False, eol=_EOL, quoting_style="needed")
    positional = [str(n) for n in range(len(names))]

    def csv_rows(columns: list[pa.Array]) -> pa.Buffer:
        arrays = [_csv_array(column, for_spreadsheets) for column in columns]
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(pa.Table.from_arrays(arrays, names=positional), sink, options)
        return sink.getvalue()

    # Runs of rows are made on every core, written in order.
    for text in map_in_order(csv_rows, merged.batches()):
        out.write(memoryview(text))


def formula_cells(merged: pd.DataFrame) -> dict[str, int]:
    """`count_formula_cells` of a DataFrame."""
    return count_formula_cells(frame_columns(merged))


def count_formula_cells(merged: MergedColumns) -> dict[str, int]:
    """How many cells (the header among them) of each text column the CSV for spreadsheets
    gives a leading `'`; only columns with at least one such cell, in table order."""
    counts: dict[str, int] = {}
    for position, name in enumerate(merged.names):
        count = int(bool(_FORMULA.match(name)))
        column = merged.column(position) if merged.rows else None
        if column is not None and is_text(column):
            text = pc.fill_null(column.cast(_LARGE_TEXT), _EMPTY)
            count += pc.sum(_formula_like(text)).as_py() or 0
        if count:
            counts[name] = counts.get(name, 0) + count
    return counts


def to_xlsx_bytes(merged: pd.DataFrame) -> bytes:
    """`write_xlsx_table` of a DataFrame, as bytes."""
    out = io.BytesIO()
    write_xlsx_table(frame_columns(merged), out)
    return out.getvalue()


def write_xlsx_table(merged: MergedColumns, out: BinaryIO) -> None:
    """One "Results" sheet with a bold, frozen header: text stays text, numbers stay numbers.

    Every text cell is a string cell (batchdash/results/xlsx_writer.py), so an ID like 007, a
    20-digit number or a text starting with `=` arrives exactly as it is, never as a number or
    a formula; an empty text leaves its cell blank. Numeric columns (tokens, cost, number and
    integer fields) are number cells, blank when missing; so is an input column (one left of
    `response`; every column of a table without one) whose every cell is a plain number Excel
    shows exactly as written (see `_plain_numbers`), so SUM and sorting work on it. Columns are
    as wide as their content (within 8 to 60), and a text longer than that or with line breaks
    wraps. A cell longer than Excel allows (e.g. a long embedding vector), or a table larger
    than a sheet, raises ResultsError: download CSV instead. The columns are read one at a time.
    """
    check_sheet_size(merged.rows, len(merged.names))
    write_xlsx(out, SHEET_NAME, merged.names, _xlsx_columns(merged), rows=merged.rows)


def _xlsx_columns(merged: MergedColumns) -> Iterator[tuple[Column, ColumnLook]]:
    inputs = _input_column_count(merged.names)
    for position, name in enumerate(merged.names):
        column = merged.column(position)
        if not is_text(column):
            numbers = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            yield numbers, ColumnLook(width=_bounded(_text_width(name) + _FILTER_BUTTON, 12))
            continue
        text = column.cast(_LARGE_TEXT)
        _check_cell_lengths(name, text)
        plain = _plain_numbers(text) if position < inputs else None
        cells = (
            plain[0]
            if plain is not None
            else pc.if_else(pc.equal(pc.binary_length(text), 0), _NO_TEXT, text)
        )
        yield cells, _text_look(name, text, None if plain is None else plain[1])


def _csv_array(column: pa.Array, for_spreadsheets: bool) -> pa.Array:
    if not is_text(column):
        return column
    text = pc.fill_null(column.cast(_LARGE_TEXT), _EMPTY)
    if not for_spreadsheets:
        return text
    risky = _formula_like(text)
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise(_QUOTE, text, _EMPTY), text)


def _formula_like(text: pa.LargeStringArray) -> pa.BooleanArray:
    return pc.match_substring_regex(text, FORMULA_START)


def _neutralised(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def _input_column_count(names: list[str]) -> int:
    """How many columns come from the input: those left of `response` (contract 6; an input
    column of that name is renamed), or every column of a table without one."""
    return names.index("response") if "response" in names else len(names)


def _plain_numbers(text: pa.LargeStringArray) -> tuple[np.ndarray, int | None] | None:
    """A text column as numbers and their fixed decimals, if it is numeric throughout.

    Every non-empty cell must be a plain number (-12, 3.50: no leading zero as in 007, no +,
    no thousands separator, no exponent, no blank) of at most 15 significant digits, the most
    Excel keeps (a longer ID or phone number would change), and not a negative zero; and one
    format must show every cell as written: whole numbers, or one fixed count of decimals
    (2.50 and 3.00), or Excel's General for short decimals with no trailing zero (0.5, 1.25).
    Anything else stays text. The decimals are None for General.
    """
    filled = pc.fill_null(text, _EMPTY)
    empty = pc.equal(filled, _EMPTY)
    if pc.all(empty).as_py() is not False:
        return None  # no cell at all, or no number in it
    plain = pc.or_(empty, pc.match_substring_regex(filled, _PLAIN_NUMBER))
    if not pc.all(plain).as_py() or pc.any(pc.match_substring_regex(filled, _MINUS_ZERO)).as_py():
        return None
    digits = pc.utf8_length(pc.utf8_ltrim(pc.replace_substring_regex(filled, "[-.]", ""), "0"))
    if pc.max(digits).as_py() > _EXACT_DIGITS:
        return None
    present = pc.invert(empty)
    places = pc.filter(
        pc.utf8_length(pc.replace_substring_regex(filled, r"^[^.]*\.?", "")), present
    )
    fewest, most = pc.min_max(places).values()
    if fewest.as_py() == most.as_py():
        decimals: int | None = most.as_py()
    elif pc.any(pc.match_substring_regex(filled, r"\.[0-9]*0$")).as_py() or (
        pc.max(pc.utf8_length(filled)).as_py() > _GENERAL_CHARACTERS
    ):
        return None
    else:
        decimals = None
    numbers = pc.cast(pc.if_else(empty, pa.scalar(None, _LARGE_TEXT), filled), pa.float64())
    return numbers.to_numpy(zero_copy_only=False), decimals


def _text_look(name: str, text: pa.LargeStringArray, decimals: int | None) -> ColumnLook:
    """As wide as the header (and its filter button) or the widest cell, within bounds; text
    wider than that, or with a line break, wraps."""
    content = _widest(text)
    width = _bounded(_text_width(name) + _FILTER_BUTTON, content + _PADDING)
    wrap = decimals is None and (content + _PADDING > _MAX_WIDTH or _has_line_breaks(text))
    return ColumnLook(width=width, wrap=wrap, decimals=decimals)


def _has_line_breaks(text: pa.LargeStringArray) -> bool:
    # A plain substring search is several times quicker than a regular expression.
    return any(pc.any(pc.match_substring(text, sign)).as_py() is True for sign in "\n\r")


def _widest(text: pa.LargeStringArray) -> float:
    """The widest cell's width: a character of East Asian scripts or an emoji is about two
    digits wide, and takes 3 or 4 bytes in UTF-8, so the mean of characters and bytes is close."""
    if not len(text):
        return 0.0
    widths = pc.add(pc.utf8_length(text), pc.binary_length(text))
    return float(pc.max(widths).as_py() or 0) / 2


def _text_width(text: str) -> float:
    return (len(text) + len(text.encode("utf-8"))) / 2


def _bounded(*widths: float) -> float:
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, math.ceil(max(widths)))))


def check_sheet_size(rows: int, columns: int | None = None) -> None:
    """Refuse a table larger than an Excel sheet, with the fix; without `columns` (not known
    yet, before a merge) the rows alone."""
    if columns is None and rows >= MAX_ROWS:
        raise ResultsError(
            _l(
                "The table has {rows:,} rows; an Excel sheet holds at most {max_rows:,} rows below "
                "its header: write the merged table as CSV instead (e.g. --out answers.csv), which "
                "Excel opens too.",
                rows=rows,
                max_rows=MAX_ROWS - 1,
            )
        )
    if rows >= MAX_ROWS or (columns or 0) > MAX_COLUMNS:
        raise ResultsError(
            _l(
                "The table has {rows:,} rows and {columns:,} columns; an Excel sheet holds at most "
                "{max_rows:,} rows below its header and {max_columns:,} columns: download the CSV "
                "instead.",
                rows=rows,
                columns=columns,
                max_rows=MAX_ROWS - 1,
                max_columns=MAX_COLUMNS,
            )
        )


def _check_cell_lengths(name: str, texts: pa.LargeStringArray) -> None:
    # Excel counts a cell's characters in UTF-16 units (an emoji counts twice), and no text has
    # more of them than UTF-8 bytes: only cells with more bytes than the limit need counting.
    too_many_bytes = pc.fill_null(pc.greater(pc.binary_length(texts), MAX_CELL_CHARACTERS), False)
    for row in np.flatnonzero(too_many_bytes.to_numpy(zero_copy_only=False)):
        text = texts[int(row)].as_py()
        length = len(text.encode("utf-16-le")) // 2
        if length > MAX_CELL_CHARACTERS:
            raise ResultsError(
                _l(
                    "Row {row} of the column '{name}' holds {length:,} characters, more than the "
                    "{limit:,} an Excel cell can hold: download the CSV instead.",
                    row=row + 1,
                    name=name,
                    length=length,
                    limit=MAX_CELL_CHARACTERS,
                )
            )
