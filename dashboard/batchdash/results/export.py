"""The merged table as a download: CSV that Excel opens safely, or XLSX that keeps text as text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from batchdash.errors import ResultsError
from batchdash.results.xlsx_writer import (
    MAX_CELL_CHARACTERS,
    MAX_COLUMNS,
    MAX_ROWS,
    Column,
    xlsx_bytes,
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


def to_csv_bytes(merged: pd.DataFrame) -> bytes:
    """UTF-8 CSV with BOM and CRLF line ends; every text cell quoted, formulas neutralised.

    Every text cell (headers too) starting with =, +, -, @, tab or CR gets a leading `'`, so a
    spreadsheet shows it instead of running it; so does one where such a sign (or its full-width
    form) follows leading blanks. Numeric columns (tokens, cost, number and integer
    fields) stay unquoted numbers: a negative number is not text and is written as it is. Floats
    take their shortest exact form (0.0000093; 7.5e-7 below a millionth), empty when missing.
    """
    header = io.StringIO()
    csv.writer(header, quoting=csv.QUOTE_ALL, lineterminator=_EOL).writerow(
        [_neutralised(str(name)) for name in merged.columns]
    )
    out = io.BytesIO()
    out.write((_BOM + header.getvalue()).encode("utf-8"))
    if merged.shape[1] and len(merged):
        arrays = [_csv_array(column) for _, column in _columns(merged)]
        table = pa.Table.from_arrays(arrays, names=[str(n) for n in range(len(arrays))])
        # Arrow's writer quotes every string and escapes quotes, CR and LF inside them.
        options = pa_csv.WriteOptions(include_header=False, eol=_EOL, quoting_style="needed")
        pa_csv.write_csv(table, out, options)
    return out.getvalue()


def to_xlsx_bytes(merged: pd.DataFrame) -> bytes:
    """One "Results" sheet with a bold, frozen header: text stays text, numbers stay numbers.

    Every text cell is a string cell (batchdash/results/xlsx_writer.py), so an ID like 007, a 20-digit
    number or a text starting with `=` arrives exactly as it is, never as a number or a formula;
    an empty text leaves its cell blank. Numeric columns (tokens, cost, number and integer fields)
    are number cells, blank when missing. A cell longer than Excel allows (e.g. a long embedding
    vector), or a table larger than a sheet, raises ResultsError: download CSV instead.
    """
    _check_sheet_size(merged)
    columns = [_xlsx_column(column) for _, column in _columns(merged)]
    for name, column in zip(merged.columns, columns, strict=True):
        if isinstance(column, pa.Array):
            _check_cell_lengths(str(name), column)
    return xlsx_bytes(SHEET_NAME, [str(name) for name in merged.columns], columns)


def _columns(merged: pd.DataFrame) -> Iterator[tuple[int, pd.Series]]:
    # By position: the merged table's names are unique, but an arbitrary frame's may not be.
    for position in range(merged.shape[1]):
        yield position, merged.iloc[:, position]


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _texts(column: pd.Series) -> list[str]:
    return column.astype(object).where(column.notna(), "").astype(str).tolist()


def _csv_array(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    if pd.api.types.is_integer_dtype(column):
        return pa.array(column, from_pandas=True)  # missing values (Int64 NA) become empty
    if _is_numeric(column):
        return pa.array(column.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True)
    text = pc.fill_null(_text_array(column), _EMPTY)
    risky = pc.match_substring_regex(text, FORMULA_START)
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise(_QUOTE, text, _EMPTY), text)


def _neutralised(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def _text_array(column: pd.Series) -> pa.LargeStringArray:
    """The column's cells as text, null where missing."""
    if isinstance(column.dtype, pd.StringDtype):
        text = pa.array(column.array)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        return text.cast(_LARGE_TEXT)
    return pa.array(_texts(column), type=_LARGE_TEXT)


def _xlsx_column(column: pd.Series) -> Column:
    if _is_numeric(column):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    text = _text_array(column)
    return pc.if_else(pc.equal(pc.binary_length(text), 0), _NO_TEXT, text)  # blank, not ""


def _check_sheet_size(merged: pd.DataFrame) -> None:
    rows, columns = merged.shape
    if rows >= MAX_ROWS or columns > MAX_COLUMNS:
        raise ResultsError(
            f"The table has {rows:,} rows and {columns:,} columns; an Excel sheet holds at most "
            f"{MAX_ROWS - 1:,} rows below its header and {MAX_COLUMNS:,} columns: download the "
            "CSV instead."
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
                f"Row {row + 1} of the column '{name}' holds {length:,} characters, more than "
                f"the {MAX_CELL_CHARACTERS:,} an Excel cell can hold: download the CSV instead."
            )
