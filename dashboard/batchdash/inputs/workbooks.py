"""An XLSX worksheet into a grid of text cells.

calamine (Rust, through python-calamine) reads the cells, after one fast pass over the sheet's
XML (`sheet_scan`) has bounded the grid and found what calamine does not report: formulas,
merged ranges, error cells and number formats. Sheets that pass is not sure of, and workbooks
calamine will not open, are read with openpyxl as before (`workbook_openpyxl`), so every
workbook openpyxl reads is still read, in the same words.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from batchdash.errors import InputError
from batchdash.i18n import Message, _l, n_l
from batchdash.inputs import scan_ahead
from batchdash.inputs.sheet_scan import (
    SheetScan,
    column_letters,
    column_number,
    scan_sheet,
    valued_columns,
)
from batchdash.inputs.sheet_scan import has_saved_result as _has_saved_result  # noqa: F401
from batchdash.inputs.table_shape import MAX_CELLS, check_cells
from batchdash.inputs.workbook_calamine import CalamineUnfit, calamine_columns, empty_column
from batchdash.inputs.workbook_parts import PERCENT, ZEROS, sheet_part, text_formats
from batchdash.wording import listing

#: Excel shows at most 15 significant digits.
_DIGITS = ".15g"
_SHOWN = 3
_RANGE = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)(?::\$?([A-Z]{1,3})\$?([0-9]+))?")
_AS_STR = {pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}


@dataclass(frozen=True)
class WorkbookGrid:
    """One worksheet as text cells; the header is still the first non-blank row."""

    raw: pd.DataFrame
    """Cells as text ("" when empty), columns numbered 0..n-1 as Excel's A, B, C..."""
    sheet: str
    """Name of the worksheet read."""
    sheets: tuple[str, ...]
    """Every worksheet of the workbook, in order."""
    notes: tuple[str | Message, ...]
    """Sentences about formulas, merged cells and the sheet chosen."""
    header_hints: dict[int, Message]
    """Words added to a blank-header error for a column, e.g. that its header cell is merged."""


@dataclass(frozen=True)
class _Read:
    """A sheet read by either reader, before merges, notes and the frame."""

    columns: list[pa.Array]
    height: int
    marks: SheetScan
    chosen: str
    names: tuple[str, ...]
    all_hidden: bool


def read_workbook(
    data: bytes,
    source_name: str,
    *,
    sheet: str | None = None,
    while_parsing: Callable[[], object] | None = None,
) -> WorkbookGrid:
    """The chosen worksheet (default: the first visible one) as text cells; `while_parsing`
    runs in a thread while calamine parses the sheet (see `read_table`)."""
    try:
        read = _read_with_calamine(data, source_name, sheet, while_parsing)
    except CalamineUnfit:
        read = _read_with_openpyxl(data, source_name, sheet)
    columns, height, marks = read.columns, read.height, read.marks
    while columns and not pc.max(pc.binary_length(columns[-1])).as_py():
        columns.pop()  # a column of empty cells at the right is no part of the table
    header_row = _header_row(columns, height) if marks.merged else None
    hints, filled = _apply_merges(columns, height, marks.merged, header_row)
    notes = _notes(marks, filled)
    if read.all_hidden:
        notes.insert(
            0,
            _l(
                "Every sheet of '{source_name}' is hidden; Batchdash read '{sheet}'. Check that "
                "these are the rows you mean to send.",
                source_name=source_name,
                sheet=read.chosen,
            ),
        )
    elif sheet is None and len(read.names) > 1:
        notes.insert(
            0,
            _l(
                "The workbook has {sheets} sheets; Batchdash read '{sheet}'. Pick another sheet if "
                "the rows are elsewhere.",
                sheets=len(read.names),
                sheet=read.chosen,
            ),
        )
    if columns:
        table = pa.table(columns, names=[str(n) for n in range(len(columns))])
        raw = table.to_pandas(types_mapper=_AS_STR.get)
        raw.columns = pd.RangeIndex(len(columns))
    else:
        raw = pd.DataFrame(index=pd.RangeIndex(height), columns=pd.RangeIndex(0), dtype=str)
    return WorkbookGrid(raw, read.chosen, read.names, tuple(notes), hints)


def _read_with_calamine(
    data: bytes,
    source_name: str,
    sheet: str | None,
    while_parsing: Callable[[], object] | None = None,
) -> _Read:
    """The sheet through calamine, its size checked first; CalamineUnfit hands it to openpyxl."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:  # openpyxl decides, and words, what is wrong with the file
        raise CalamineUnfit(str(error)) from None
    with book:
        listed = [
            (entry.name, entry.visible == SheetVisibleEnum.Visible)
            for entry in book.sheets_metadata
            if entry.typ == SheetTypeEnum.WorkSheet
        ]
        chosen, all_hidden = _choose_sheet(listed, sheet, source_name)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                part = sheet_part(archive, chosen)
                formats = text_formats(archive)
                if part is None:
                    raise CalamineUnfit(f"no part for sheet {chosen!r}")
                # The command line may have scanned it already, while it imported (scan_ahead).
                scan = scan_ahead.take(data, part, formats)
                if scan is None:
                    with archive.open(part) as stream:
                        scan = scan_sheet(stream, formats)
                if scan.regular and scan.rows * scan.columns > MAX_CELLS:
                    # Formatted blanks far out are no part of the table: measure the values.
                    with archive.open(part) as stream:
                        scan.columns = valued_columns(stream)
        except (KeyError, ValueError, zipfile.BadZipFile, SyntaxError) as error:
            raise CalamineUnfit(str(error)) from None  # ElementTree's ParseError included
        if not scan.regular:
            raise CalamineUnfit("the sheet's XML is written in an unusual form")
        # Before calamine fills out its grid: a far-corner value would take gigabytes there.
        _check_size(scan.rows, max(scan.columns, _merged_width(scan.merged)), source_name)
        # calamine lets go of the GIL while it parses: the caller's work can run meanwhile.
        beside = None if while_parsing is None else threading.Thread(target=while_parsing)
        if beside is not None:
            beside.start()
        try:
            parsed = book.get_sheet_by_name(chosen)
            columns = calamine_columns(parsed, scan, formats, cell_text)
        except CalamineUnfit:
            raise
        except Exception as error:  # e.g. a date cell out of Python's range: openpyxl copes
            raise CalamineUnfit(str(error)) from None
        finally:
            if beside is not None:
                beside.join()
    height = max((len(column) for column in columns), default=scan.rows)
    names = tuple(name for name, _visible in listed)
    return _Read(columns, max(height, scan.rows), scan, chosen, names, all_hidden)


def _read_with_openpyxl(data: bytes, source_name: str, sheet: str | None) -> _Read:
    # Imported here: openpyxl takes 8 MB and most workbooks never need it.
    from batchdash.inputs.workbook_openpyxl import OpenpyxlSheet, sheet_marks

    try:
        reader = OpenpyxlSheet(data)
    except Exception as error:  # openpyxl raises many kinds on malformed parts (XML, ZIP, ...)
        raise _damaged(source_name, error) from None
    try:
        listed = reader.sheets()
        chosen, all_hidden = _choose_sheet(listed, sheet, source_name)
        try:
            rows = reader.rows(chosen, cell_text)
        except Exception as error:  # the sheet's XML is parsed only now, row by row
            raise _damaged(source_name, error) from None
    finally:
        reader.close()
    marks = sheet_marks(data, chosen)
    width = max((len(row) for row in rows), default=0)
    _check_size(len(rows), max(width, _merged_width(marks.merged)), source_name)
    columns = [
        pa.array([row[column] if column < len(row) else "" for row in rows], type=pa.large_string())
        for column in range(width)
    ]
    names = tuple(name for name, _visible in listed)
    return _Read(columns, len(rows), marks, chosen, names, all_hidden)


def _choose_sheet(
    listed: Sequence[tuple[str, bool]], sheet: str | None, source_name: str
) -> tuple[str, bool]:
    """The sheet to read (default: the first visible) and whether every sheet is hidden."""
    names = [name for name, _visible in listed]
    if not names:
        raise InputError(
            _l(
                "'{source_name}' has no worksheets with cells. Put the table on a worksheet, save, "
                "and upload it again.",
                source_name=source_name,
            )
        )
    if sheet is None:
        visible = [name for name, shown in listed if shown]
        return (visible or names)[0], not visible
    if sheet in names:
        return sheet, False
    quoted = ", ".join(f"'{name}'" for name in names)
    raise InputError(
        _l(
            "'{source_name}' has no sheet named '{sheet}'; its sheets are {sheets}. Pick one of "
            "those.",
            source_name=source_name,
            sheet=sheet,
            sheets=quoted,
        )
    )


def _bounds(ref: str) -> tuple[int, int, int, int] | None:
    """(first column, first row, last column, last row), 1-based, of a range such as A2:B4."""
    found = _RANGE.fullmatch(ref.strip())
    if found is None:
        return None
    first_col, first_row, last_col, last_row = found.groups()
    if last_col is None:
        last_col, last_row = first_col, first_row
    return (
        column_number(first_col),
        int(first_row),
        column_number(last_col),
        int(last_row),
    )


def _merged_width(merged: Sequence[str]) -> int:
    return max((bounds[2] for bounds in map(_bounds, merged) if bounds), default=0)


def _check_size(height: int, width: int, source_name: str) -> None:
    """Refuse a sheet whose cells, filled out to its widest row or merge, are too many."""
    check_cells(
        height,
        width,
        _l(
            "'{source_name}' has cells as far as {cell}",
            source_name=source_name,
            cell=f"{column_letters(max(width, 1))}{height}",
        ),
        _l(
            "If the table is smaller, something lies outside it: select the rows and columns "
            "past the table, delete them, save, and upload the file again."
        ),
    )


def _damaged(source_name: str, error: Exception) -> InputError:
    return InputError(
        _l(
            "'{source_name}' is a damaged or unusual workbook that Batchdash cannot open "
            "({error}). Open it in Excel, save it again as .xlsx, and upload it.",
            source_name=source_name,
            error=type(error).__name__,
        )
    )


def cell_text(value: object, number_format: str = "General") -> str:
    """A cell value as the text Excel shows for it (TRUE, 2024-03-01, 007, 15%, 0.3)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value, number_format)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _number_text(value: float, number_format: str) -> str:
    percent = PERCENT.fullmatch(number_format)
    if percent:
        decimals = len(percent.group(1) or "")
        return f"{value * 100:.{decimals}f}%"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        if value >= 0 and ZEROS.fullmatch(number_format):  # IDs such as 007 shown with 000
            return str(value).zfill(len(number_format))
        return str(value)
    return format(value, _DIGITS)


def _header_row(columns: list[pa.Array], height: int) -> int | None:
    """0-based position of the first row with a non-blank cell, read a slice at a time."""
    step = 1024
    for first in range(0, height, step):
        cells = [column.slice(first, step).to_pylist() for column in columns]
        for offset in range(min(step, height - first)):
            if any(cell[offset].strip() for cell in cells if offset < len(cell)):
                return first + offset
    return None


def _apply_merges(
    columns: list[pa.Array], height: int, merged: Sequence[str], header_row: int | None
) -> tuple[dict[int, Message], list[str]]:
    """Copy each merged value below the header into every cell of its range.

    Returns hints for blank header cells that are part of a merge, and the ranges filled.
    """
    hints: dict[int, Message] = {}
    filled: list[str] = []
    edited: dict[int, list[str]] = {}

    def cells(position: int) -> list[str]:
        if position not in edited:
            edited[position] = columns[position].to_pylist()
        return edited[position]

    for ref in merged:
        bounds = _bounds(ref)
        if bounds is None:
            continue
        left, top, right, bottom = (value - 1 for value in bounds)
        if header_row is not None and top <= header_row <= bottom:
            for column in range(left, right + 1):
                hints[column] = _l("its header cell is part of the merged cells {ref}", ref=ref)
            continue
        if header_row is None or top < header_row or top >= height:
            continue
        value = cells(left)[top] if left < len(columns) else ""
        while len(columns) <= right:
            columns.append(empty_column(height))
        for column in range(left, right + 1):
            target = cells(column)
            for row in range(top, min(bottom, height - 1) + 1):
                target[row] = value
        filled.append(ref)
    for position, values in edited.items():
        columns[position] = pa.array(values, type=pa.large_string())
    return hints, filled


def _listed(items: Sequence[str]) -> str | Message:
    if len(items) > _SHOWN:
        return _l("{head} and {more} more", head=listing(items[:_SHOWN]), more=len(items) - _SHOWN)
    return listing(items)


def _notes(marks: SheetScan, filled: Sequence[str]) -> list[str | Message]:
    notes: list[str | Message] = []
    if marks.formulas:
        notes.append(
            n_l(
                "{n} cell holds a formula (first: {first}); Batchdash reads the results Excel "
                "saved with the file.",
                "{n} cells hold formulas (first: {first}); Batchdash reads the results Excel "
                "saved with the file.",
                len(marks.formulas),
                first=marks.formulas[0],
            )
        )
    if marks.unsaved:
        notes.append(
            _l(
                "Formula cells {cells} have no saved result and read as empty; open the file in "
                "Excel, save it, and upload it again.",
                cells=_listed(marks.unsaved),
            )
        )
    if filled:
        notes.append(
            _l(
                "Cells {cells} are merged; Batchdash copied each merged value into every cell it "
                "covers.",
                cells=_listed(filled),
            )
        )
    return notes
