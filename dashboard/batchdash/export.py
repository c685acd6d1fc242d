"""The merged table as a download: CSV that Excel opens safely, or XLSX that keeps text as text."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import xlsxwriter

from batchdash.errors import ResultsError

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

# RFC 4180 line ends, as Excel itself writes CSV.
_EOL = "\r\n"

# The most characters one Excel cell holds.
_EXCEL_CELL_LIMIT = 32_767

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
    """One "Results" sheet with a frozen header: text stays text, numbers stay numbers.

    Strings are written with `write_string`, so an ID like 007, a 20-digit number or a text
    starting with `=` arrive exactly as they are, never as numbers or formulas. A cell longer
    than Excel allows (e.g. a long embedding vector) raises ResultsError: download CSV instead.
    """
    _check_cell_lengths(merged)
    buffer = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    with xlsxwriter.Workbook(buffer, options) as workbook:
        sheet = workbook.add_worksheet(SHEET_NAME)
        bold = workbook.add_format({"bold": True})
        for col, name in enumerate(merged.columns):
            sheet.write_string(0, col, str(name), bold)
        for col, (_, column) in enumerate(_columns(merged)):
            if _is_numeric(column):
                for row, number in enumerate(column.to_numpy(dtype=float, na_value=np.nan)):
                    if not math.isnan(number):
                        sheet.write_number(row + 1, col, number)
            else:
                for row, value in enumerate(_texts(column)):
                    if value:
                        sheet.write_string(row + 1, col, value)
        sheet.freeze_panes(1, 0)
        if len(merged.columns):
            sheet.autofilter(0, 0, len(merged), len(merged.columns) - 1)
    return buffer.getvalue()


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
    if isinstance(column.dtype, pd.StringDtype):
        text = pa.array(column.array).cast(_LARGE_TEXT)
    else:
        text = pa.array(_texts(column), type=_LARGE_TEXT)
    text = pc.fill_null(text, pa.scalar("", _LARGE_TEXT))
    risky = pc.match_substring_regex(text, FORMULA_START)
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise(_QUOTE, text, _EMPTY), text)


def _neutralised(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def _check_cell_lengths(merged: pd.DataFrame) -> None:
    for _, column in _columns(merged):
        if _is_numeric(column):
            continue
        lengths = np.fromiter(map(len, _texts(column)), dtype=np.int64, count=len(column))
        too_long = np.flatnonzero(lengths > _EXCEL_CELL_LIMIT)
        if too_long.size:
            row = int(too_long[0])
            raise ResultsError(
                f"Row {row + 1} of the column '{column.name}' holds {int(lengths[row]):,} "
                f"characters, more than the {_EXCEL_CELL_LIMIT:,} an Excel cell can hold: "
                "download the CSV instead."
            )
