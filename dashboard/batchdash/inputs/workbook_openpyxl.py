"""A worksheet read with openpyxl: the slow reader, for sheets the calamine reader is not
trusted with (XML written in an unusual form, dates out of range, a workbook calamine
refuses).

openpyxl reads the sheet in read-only mode (streaming, so large sheets stay light) and gives the
values Excel saved for formulas; its XML parser takes any valid form of the sheet. Formulas and
merged cells are not visible that way, so one more streaming pass over the sheet's XML finds
them for the notes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from xml.etree import ElementTree

import openpyxl

from batchdash.inputs.sheet_scan import SheetScan, has_saved_result
from batchdash.inputs.workbook_parts import sheet_part

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


class OpenpyxlSheet:
    """The worksheets of a workbook opened with openpyxl, and one of them read as rows."""

    def __init__(self, data: bytes) -> None:
        """Raises whatever openpyxl raises for a malformed package (the caller words it)."""
        self.data = data
        self.book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )

    def sheets(self) -> list[tuple[str, bool]]:
        """(name, visible) of every worksheet, in order."""
        return [(ws.title, ws.sheet_state == "visible") for ws in self.book.worksheets]

    def rows(self, sheet: str, cell_text: Callable[[object, str], str]) -> list[list[str]]:
        """The sheet's rows as text, each without its trailing empty cells."""
        worksheet = self.book[sheet]
        worksheet.reset_dimensions()  # a stale size would pad every row to it
        return [
            _trimmed([_cell_text(cell, cell_text) for cell in row]) for row in worksheet.iter_rows()
        ]

    def close(self) -> None:
        self.book.close()


def _cell_text(cell: object, cell_text: Callable[[object, str], str]) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    return cell_text(value, getattr(cell, "number_format", None) or "General")


def _trimmed(row: list[str]) -> list[str]:
    """`row` without its trailing empty cells: a formatted but empty cell far to the right (or
    a stale sheet size) is no part of the table."""
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row if end == len(row) else row[:end]


def sheet_marks(data: bytes, sheet: str) -> SheetScan:
    """Formula cells and merged ranges of a worksheet, found by a full XML parse (any form of
    the XML); empty when its XML cannot be found."""
    marks = SheetScan()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part = sheet_part(archive, sheet)
            if part is None:
                return marks
            with archive.open(part) as stream:
                for _event, element in ElementTree.iterparse(stream):
                    if element.tag == _MAIN + "c":
                        if element.find(_MAIN + "f") is not None:
                            marks.formulas.append(element.get("r", ""))
                            if not has_saved_result(element):
                                marks.unsaved.append(element.get("r", ""))
                        element.clear()
                    elif element.tag == _MAIN + "row":
                        element.clear()
                    elif element.tag == _MAIN + "mergeCell":
                        marks.merged.append(element.get("ref", ""))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return SheetScan()
    return marks
