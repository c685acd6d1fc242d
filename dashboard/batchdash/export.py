"""The merged table as a download: CSV that Excel opens safely, or XLSX that keeps text as text."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
import xlsxwriter

from batchdash.errors import ResultsError

# Excel opens a CSV as UTF-8 only when it starts with a byte-order mark.
_BOM = "\ufeff"

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The most characters one Excel cell holds.
_EXCEL_CELL_LIMIT = 32_767

SHEET_NAME = "Results"


def to_csv_bytes(merged: pd.DataFrame) -> bytes:
    """UTF-8 CSV with BOM, CRLF line ends (RFC 4180, as Excel writes), and formulas neutralised.

    Every text cell (headers too) starting with =, +, -, @, tab or CR gets a leading `'`, so a
    spreadsheet shows it instead of running it. Numeric columns (tokens, cost, number and integer
    fields) stay numbers: a negative number is not text and is written as it is. Floats are
    written in plain decimal notation (0.0000075, never 7.5e-06), empty for a missing value.
    """
    cells = pd.DataFrame(
        {position: _csv_cells(column) for position, column in _columns(merged)},
        index=merged.index,
    )
    cells.columns = pd.Index([_neutralised(str(name)) for name in merged.columns], dtype=object)
    # With CRLF as the line end, the csv module quotes every cell holding a CR or an LF; with
    # LF alone it would leave a bare CR unquoted, which Excel reads as a new row.
    text = cells.to_csv(index=False, lineterminator="\r\n")
    return (_BOM + text).encode("utf-8")


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


def _csv_cells(column: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(column):
        return column
    if _is_numeric(column):
        numbers = column.to_numpy(dtype=float, na_value=np.nan)
        plain = ["" if math.isnan(v) else np.format_float_positional(v, trim="-") for v in numbers]
        return pd.Series(plain, index=column.index, dtype=object)
    text = pd.Series(_texts(column), index=column.index, dtype=str)
    risky = text.str.startswith(_FORMULA_STARTS)
    return text.where(~risky, "'" + text)


def _neutralised(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


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
