"""An XLSX worksheet into a grid of text cells.

openpyxl reads the sheet in read-only mode (streaming, so large sheets stay light) and gives the
values Excel saved for formulas. Formulas and merged cells are not visible that way, so one more
streaming pass over the sheet's XML finds them for the notes.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree

import openpyxl
import pandas as pd
from openpyxl.utils.cell import get_column_letter, range_boundaries

from batchdash.errors import InputError
from batchdash.inputs.table_shape import check_cells

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PERCENT = re.compile(r"0(?:\.(0+))?%")
_ZEROS = re.compile(r"0+")
#: Excel shows at most 15 significant digits.
_DIGITS = ".15g"
_SHOWN = 3


@dataclass(frozen=True)
class WorkbookGrid:
    """One worksheet as text cells; the header is still the first non-blank row."""

    raw: pd.DataFrame
    """Cells as text ("" when empty), columns numbered 0..n-1 as Excel's A, B, C..."""
    sheet: str
    """Name of the worksheet read."""
    sheets: tuple[str, ...]
    """Every worksheet of the workbook, in order."""
    notes: tuple[str, ...]
    """Sentences about formulas, merged cells and the sheet chosen."""
    header_hints: dict[int, str]
    """Words added to a blank-header error for a column, e.g. that its header cell is merged."""


@dataclass
class _SheetMarks:
    """What the sheet's XML says that read-only openpyxl does not."""

    formulas: list[str] = field(default_factory=list)
    """Coordinates of formula cells."""
    unsaved: list[str] = field(default_factory=list)
    """Coordinates of formula cells without a saved result."""
    merged: list[str] = field(default_factory=list)
    """Merged ranges such as 'A2:A4'."""


def read_workbook(data: bytes, source_name: str, *, sheet: str | None = None) -> WorkbookGrid:
    """The chosen worksheet (default: the first visible one) as text cells."""
    try:
        book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as error:  # openpyxl raises many kinds on malformed parts (XML, ZIP, ...)
        raise _damaged(source_name, error) from None
    try:
        worksheets = book.worksheets
        names = tuple(ws.title for ws in worksheets)
        if not names:
            raise InputError(
                f"'{source_name}' has no worksheets with cells. Put the table on a worksheet, "
                "save, and upload it again."
            )
        all_hidden = False
        if sheet is None:
            visible = [ws.title for ws in worksheets if ws.sheet_state == "visible"]
            chosen = (visible or list(names))[0]
            all_hidden = not visible
        elif sheet in names:
            chosen = sheet
        else:
            listed = ", ".join(f"'{name}'" for name in names)
            raise InputError(
                f"'{source_name}' has no sheet named '{sheet}'; its sheets are {listed}. Pick "
                "one of those."
            )
        worksheet = book[chosen]
        worksheet.reset_dimensions()  # a stale size would pad every row to it
        try:
            rows = [_trimmed([_cell_text(cell) for cell in row]) for row in worksheet.iter_rows()]
        except Exception as error:  # the sheet's XML is parsed only now, row by row
            raise _damaged(source_name, error) from None
    finally:
        book.close()
    marks = _sheet_marks(data, chosen)
    header_row = next((n for n, row in enumerate(rows) if any(c.strip() for c in row)), None)
    _check_size(rows, marks.merged, source_name)
    hints, filled = _apply_merges(rows, marks.merged, header_row)
    notes = _notes(marks, filled)
    if all_hidden:
        notes.insert(
            0,
            f"Every sheet of '{source_name}' is hidden; Batchdash read '{chosen}'. Check that "
            "these are the rows you mean to send.",
        )
    elif sheet is None and len(names) > 1:
        notes.insert(
            0,
            f"The workbook has {len(names)} sheets; Batchdash read '{chosen}'. Pick another "
            "sheet if the rows are elsewhere.",
        )
    width = max((len(row) for row in rows), default=0)
    grid = [row + [""] * (width - len(row)) for row in rows]
    raw = pd.DataFrame(grid, columns=pd.RangeIndex(width), dtype=str)
    return WorkbookGrid(raw, chosen, names, tuple(notes), hints)


def _trimmed(row: list[str]) -> list[str]:
    """`row` without its trailing empty cells: a formatted but empty cell far to the right (or
    a stale sheet size) is no part of the table."""
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row if end == len(row) else row[:end]


def _check_size(rows: list[list[str]], merged: Sequence[str], source_name: str) -> None:
    """Refuse a sheet whose cells, filled out to its widest row or merge, are too many."""
    width = max((len(row) for row in rows), default=0)
    for ref in merged:
        try:
            max_col = range_boundaries(ref)[2]
        except (ValueError, TypeError):
            continue
        width = max(width, max_col or 0)
    height = len(rows)
    check_cells(
        height,
        width,
        f"'{source_name}' has cells as far as {get_column_letter(max(width, 1))}{height}",
        "If the table is smaller, something lies outside it: select the rows and columns "
        "past the table, delete them, save, and upload the file again.",
    )


def _damaged(source_name: str, error: Exception) -> InputError:
    return InputError(
        f"'{source_name}' is a damaged or unusual workbook that Batchdash cannot open "
        f"({type(error).__name__}). Open it in Excel, save it again as .xlsx, and upload it."
    )


def _cell_text(cell: object) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    number_format = getattr(cell, "number_format", None) or "General"
    return cell_text(value, number_format)


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
    percent = _PERCENT.fullmatch(number_format)
    if percent:
        decimals = len(percent.group(1) or "")
        return f"{value * 100:.{decimals}f}%"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        if value >= 0 and _ZEROS.fullmatch(number_format):  # IDs such as 007 shown with 000
            return str(value).zfill(len(number_format))
        return str(value)
    return format(value, _DIGITS)


def _sheet_marks(data: bytes, sheet: str) -> _SheetMarks:
    """Formula cells and merged ranges of a worksheet; empty when its XML cannot be found."""
    marks = _SheetMarks()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return marks
            with archive.open(part) as stream:
                for _event, element in ElementTree.iterparse(stream):
                    if element.tag == _MAIN + "c":
                        if element.find(_MAIN + "f") is not None:
                            marks.formulas.append(element.get("r", ""))
                            if not _has_saved_result(element):
                                marks.unsaved.append(element.get("r", ""))
                        element.clear()
                    elif element.tag == _MAIN + "row":
                        element.clear()
                    elif element.tag == _MAIN + "mergeCell":
                        marks.merged.append(element.get("ref", ""))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return _SheetMarks()
    return marks


def _has_saved_result(cell: ElementTree.Element) -> bool:
    """Whether a formula cell carries the result its program last computed.

    Excel saves an empty text result as `t="str"` with an empty value; writers that cannot
    compute formulas save no value, or an empty one on a number cell.
    """
    value = cell.find(_MAIN + "v")
    if value is None:
        return False
    return bool(value.text) or cell.get("t") == "str"


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """Path inside the archive of the worksheet named `sheet`."""
    package = ElementTree.fromstring(archive.read("_rels/.rels"))
    book_path = next(
        (
            rel.get("Target", "").lstrip("/")
            for rel in package
            if rel.get("Type", "").endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    )
    folder, book_file = posixpath.split(book_path)
    book = ElementTree.fromstring(archive.read(book_path))
    rels = ElementTree.fromstring(
        archive.read(posixpath.join(folder, "_rels", book_file + ".rels"))
    )
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    for entry in book.iter(_MAIN + "sheet"):
        if entry.get("name") == sheet:
            target = targets.get(entry.get(_DOC_REL + "id"), "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join(folder, target))
    return None


def _apply_merges(
    rows: list[list[str]], merged: Sequence[str], header_row: int | None
) -> tuple[dict[int, str], list[str]]:
    """Copy each merged value below the header into every cell of its range.

    Returns hints for blank header cells that are part of a merge, and the ranges filled.
    """
    hints: dict[int, str] = {}
    filled: list[str] = []
    for ref in merged:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if min_col is None or min_row is None or max_col is None or max_row is None:
            continue
        top, left, bottom, right = min_row - 1, min_col - 1, max_row - 1, max_col - 1
        if header_row is not None and top <= header_row <= bottom:
            for column in range(left, right + 1):
                hints[column] = f" (its header cell is part of the merged cells {ref})"
            continue
        if header_row is None or top < header_row or top >= len(rows):
            continue
        value = rows[top][left] if left < len(rows[top]) else ""
        for row_index in range(top, min(bottom, len(rows) - 1) + 1):
            row = rows[row_index]
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            for column in range(left, right + 1):
                row[column] = value
        filled.append(ref)
    return hints, filled


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _notes(marks: _SheetMarks, filled: Sequence[str]) -> list[str]:
    notes: list[str] = []
    if marks.formulas:
        count = len(marks.formulas)
        what = f"{count} cells hold formulas" if count > 1 else "1 cell holds a formula"
        notes.append(
            f"{what} (first: {marks.formulas[0]}); Batchdash reads the results Excel saved with "
            "the file."
        )
    if marks.unsaved:
        notes.append(
            f"Formula cells {_listed(marks.unsaved)} have no saved result and read as empty; "
            "open the file in Excel, save it, and upload it again."
        )
    if filled:
        notes.append(
            f"Cells {_listed(filled)} are merged; Batchdash copied each merged value into every "
            "cell it covers."
        )
    return notes
