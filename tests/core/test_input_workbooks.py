"""Reading XLSX uploads: sheets, formulas, merged cells and Excel's number formats."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from io import BytesIO
from xml.etree import ElementTree

import openpyxl
import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from batchdash.errors import InputError
from batchdash.inputs.reading import Table, read_table
from batchdash.inputs.workbooks import _has_saved_result, cell_text

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(*sheets: tuple[str, Callable[[xlsxwriter.Workbook, Worksheet], None]]) -> bytes:
    """An XLSX built in memory; each sheet is filled by its function."""
    buffer = BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, fill in sheets:
        fill(book, book.add_worksheet(name))
    book.close()
    return buffer.getvalue()


def rows(table: Table) -> list[list[str]]:
    return [list(row) for row in table.frame.itertuples(index=False)]


def prompts_sheet(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
    zeros = book.add_format({"num_format": "000"})
    percent = book.add_format({"num_format": "0.0%"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["id", "region", "prompt", "price", "when", "flag", "share"])
    for row, ident in enumerate([7, 8, 9], start=1):
        sheet.write_number(row, 0, ident, zeros)
    sheet.merge_range(1, 1, 3, 1, "North")
    sheet.write_column(1, 2, ["hello", "world", "third"])
    sheet.write_formula(1, 3, "=1/3", None, 0.333333333333333)
    sheet.write_formula(2, 3, "=2*3", None, 6)
    sheet.write_formula(3, 3, '="a"&"b"', None, "ab")
    sheet.write_datetime(1, 4, dt.datetime(2024, 3, 1), day)
    sheet.write_boolean(1, 5, True)
    sheet.write_number(1, 6, 0.155, percent)
    sheet.write_string(5, 2, "after a blank row")
    sheet.write_string(5, 0, "010")
    sheet.activate()


def other_sheet(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
    sheet.write_row(0, 0, ["a", "b"])
    sheet.write_row(1, 0, ["1", "2"])


def hidden_sheet(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
    sheet.write_string(0, 0, "not this one")
    sheet.hide()


BOOK = workbook(("Hidden", hidden_sheet), ("Prompts", prompts_sheet), ("Other", other_sheet))


def test_first_visible_sheet_is_read_as_excel_shows_it() -> None:
    table = read_table(BOOK, "book.xlsx")
    assert (table.sheet, table.sheets) == ("Prompts", ("Hidden", "Prompts", "Other"))
    assert (table.encoding, table.delimiter) == (None, None)
    assert list(table.frame.columns) == ["id", "region", "prompt", "price", "when", "flag", "share"]
    assert rows(table) == [
        ["007", "North", "hello", "0.333333333333333", "2024-03-01", "TRUE", "15.5%"],
        ["008", "North", "world", "6", "", "", ""],
        ["009", "North", "third", "ab", "", "", ""],
        ["010", "", "after a blank row", "", "", "", ""],
    ]
    assert table.blank_rows_dropped == 1
    assert all(str(dtype) == "str" for dtype in table.frame.dtypes)


def test_notes_name_sheets_formulas_and_merged_cells() -> None:
    assert read_table(BOOK, "book.xlsx").notes == (
        "The workbook has 3 sheets; Batchdash read 'Prompts'. Pick another sheet if the rows "
        "are elsewhere.",
        "3 cells hold formulas (first: D2); Batchdash reads the results Excel saved with the file.",
        "Cells B2:B4 are merged; Batchdash copied each merged value into every cell it covers.",
    )


def test_sheet_choice() -> None:
    table = read_table(BOOK, "book.xlsx", sheet="Other")
    assert rows(table) == [["1", "2"]]
    assert table.notes == ()


def test_unknown_sheet_lists_the_sheets() -> None:
    with pytest.raises(InputError) as error:
        read_table(BOOK, "book.xlsx", sheet="Prompts ")
    assert str(error.value) == (
        "'book.xlsx' has no sheet named 'Prompts '; its sheets are 'Hidden', 'Prompts', "
        "'Other'. Pick one of those."
    )


def test_workbook_named_csv_is_read_as_a_workbook() -> None:
    table = read_table(BOOK, "book.csv", sheet="Other")
    assert rows(table) == [["1", "2"]]
    assert table.notes == (
        "'book.csv' is an Excel workbook despite its name; Batchdash read it as one.",
    )


def test_formula_without_a_saved_result_is_reported() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "total"])
    sheet.append(["1", "=1+1"])  # openpyxl saves formulas without a result
    sheet.append(["2", "=A3*2"])
    buffer = BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), "calc.xlsx")
    assert rows(table) == [["1", ""], ["2", ""]]
    assert table.notes[1] == (
        "Formula cells B2, B3 have no saved result and read as empty; open the file in Excel, "
        "save it, and upload it again."
    )


@pytest.mark.parametrize(
    ("cell", "saved"),
    [
        ('<c r="B2" t="str"><f>""</f><v></v></c>', True),  # Excel's empty text result
        ('<c r="B2"><f>1+1</f><v>2</v></c>', True),
        ('<c r="B2"><f>1+1</f><v /></c>', False),
        ('<c r="B2"><f>1+1</f></c>', False),
    ],
)
def test_which_formula_cells_have_a_saved_result(cell: str, saved: bool) -> None:
    namespaced = cell.replace("<c ", f'<c xmlns="{MAIN_NS}" ', 1)
    assert _has_saved_result(ElementTree.fromstring(namespaced)) is saved


def test_merged_header_cell_explains_the_blank_name() -> None:
    def merged_header(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.merge_range(0, 0, 0, 1, "name")
        sheet.write_row(1, 0, ["Ada", "Lovelace"])

    with pytest.raises(InputError) as error:
        read_table(workbook(("S", merged_header)), "m.xlsx")
    assert str(error.value) == (
        "Column 2 has data but no name in the header row (its header cell is part of the "
        "merged cells A1:B1). Type a name into its header cell in the spreadsheet and upload "
        "it again."
    )


def test_duplicate_headers_in_a_workbook() -> None:
    def duplicated(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["city", "prompt", "city"])
        sheet.write_row(1, 0, ["a", "b", "c"])

    with pytest.raises(
        InputError, match=re.escape("Columns 1 and 3 are both named 'city'. Rename one")
    ):
        read_table(workbook(("S", duplicated)), "d.xlsx")


def test_empty_sheet_and_header_only_sheet() -> None:
    def header_only(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["id", "prompt"])

    data = workbook(("Empty", lambda book, sheet: None), ("Head", header_only))
    with pytest.raises(
        InputError, match=re.escape("'e.xlsx' is empty. Upload a file with a header row")
    ):
        read_table(data, "e.xlsx", sheet="Empty")
    with pytest.raises(
        InputError, match=re.escape("'e.xlsx' has a header row but no rows of data")
    ):
        read_table(data, "e.xlsx", sheet="Head")


def test_damaged_workbook() -> None:
    with pytest.raises(
        InputError, match=re.escape("'cut.xlsx' is a damaged or incomplete workbook. Open")
    ):
        read_table(BOOK[: len(BOOK) // 2], "cut.xlsx")


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (0.1 + 0.2, "General", "0.3"),
        (3.0, "General", "3"),
        (1e20, "General", "1e+20"),
        (-7, "000", "-7"),
        (42, "00000", "00042"),
        (0.5, "0%", "50%"),
        (False, "General", "FALSE"),
        (dt.datetime(2024, 3, 1, 13, 45), "General", "2024-03-01 13:45:00"),
        (dt.time(9, 30), "General", "09:30:00"),
        ("#N/A", "General", "#N/A"),
    ],
)
def test_cell_text(value: object, number_format: str, text: str) -> None:
    assert cell_text(value, number_format) == text
