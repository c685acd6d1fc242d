"""The two workbook readers agree: calamine (fast) and openpyxl (for sheets calamine is not
trusted with) give the same text for every kind of cell, and the sheet scan that guards the
fast one sees through unusual XML."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

import batchdash.inputs.workbooks as workbooks
from batchdash.errors import InputError
from batchdash.inputs import sheet_scan
from batchdash.inputs.reading import Table, read_table
from batchdash.inputs.sheet_scan import scan_sheet
from batchdash.inputs.workbook_calamine import CalamineUnfit

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ["General", "0", "000", "0.0%", "0%", "yyyy-mm-dd", "d/m/yyyy h:mm", "h:mm:ss"]
FORMATS += ["[h]:mm:ss", "0.00", "#,##0.00", "0.00E+00", "@", "mmm yyyy", "000000"]
VALUES = [0, 7, 0.155, 45352, 45352.5, 0.5, 1.25, 1 / 3, 36.5, 60, 59.75, 1e20]


def book(fill: Callable[[xlsxwriter.Workbook, Worksheet], None]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    fill(workbook, workbook.add_worksheet("S"))
    workbook.close()
    return buffer.getvalue()


def every_kind(workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
    sheet.write_row(0, 0, ["format"] + [f"v{n}" for n in range(len(VALUES))])
    for row, number_format in enumerate(FORMATS, start=1):
        shown = workbook.add_format({"num_format": number_format})
        sheet.write_string(row, 0, number_format)
        for column, value in enumerate(VALUES, start=1):
            if number_format[0] in "ydhm[" and value > 2e6:
                continue  # not a date Excel can show
            sheet.write_number(row, column, value, shown)
    row = len(FORMATS) + 1
    sheet.write_row(row, 0, ["booleans", True, False])
    sheet.write_formula(row + 1, 0, "=NA()", None, "#N/A")
    sheet.write_formula(row + 1, 1, "=1/0", None, "#DIV/0!")
    sheet.write_formula(row + 1, 2, "=1+1", None, 2)
    sheet.write_formula(row + 1, 3, '=""', None, "")
    sheet.write_row(row + 2, 0, ["007", " padded ", "line\nbreak", "<&>"])
    sheet.write_rich_string(row + 3, 0, "a ", workbook.add_format({"bold": True}), "bold")
    sheet.write_datetime(
        row + 3, 1, dt.datetime(2024, 3, 1, 13, 45, 30, 500000),
        workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"}),
    )  # fmt: skip
    sheet.merge_range(row + 4, 0, row + 6, 1, "merged")
    sheet.write_string(row + 9, 3, "after blank rows")


def as_read(table: Table) -> tuple[object, ...]:
    return (
        table.frame.columns.tolist(),
        table.frame.to_numpy().tolist(),
        table.blank_rows_dropped,
        table.notes,
        table.sheet,
        table.sheets,
    )


def read_by_openpyxl(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    def unfit(*_args: object) -> None:
        raise CalamineUnfit("the test asks for openpyxl")

    with monkeypatch.context() as patch:
        patch.setattr(workbooks, "_read_with_calamine", unfit)
        return as_read(read_table(data, "b.xlsx"))


def test_both_readers_give_the_same_text_for_every_kind_of_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = book(every_kind)
    workbooks._read_with_calamine(data, "b.xlsx", None)  # the fast reader takes this sheet
    fast = as_read(read_table(data, "b.xlsx"))

    assert fast == read_by_openpyxl(data, monkeypatch)
    cells = fast[1]
    assert isinstance(cells, list)
    by_format = {row[0]: row[1:] for row in cells}
    assert by_format["000"][:2] == ["000", "007"]
    assert by_format["0.0%"][2] == "15.5%"
    assert by_format["yyyy-mm-dd"][3:5] == ["2024-03-01", "2024-03-01 12:00:00"]
    assert ["#N/A", "#DIV/0!", "2", ""] in [row[:4] for row in cells]
    assert ["booleans", "TRUE", "FALSE"] in [row[:3] for row in cells]
    assert ["merged", "merged"] in [row[:2] for row in cells]


def test_a_negative_number_shown_as_a_date_reads_as_openpyxl_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def negative_date(workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["when", "n"])
        sheet.write_number(1, 0, -3, workbook.add_format({"num_format": "yyyy-mm-dd"}))
        sheet.write_number(1, 1, -3)

    data = book(negative_date)
    with pytest.raises(CalamineUnfit):  # calamine would read a time of day
        workbooks._read_with_calamine(data, "b.xlsx", None)
    table = read_table(data, "b.xlsx")

    assert table.frame.to_numpy().tolist() == [["1899-12-27", "-3"]]
    assert as_read(table) == read_by_openpyxl(data, monkeypatch)


def rewritten(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with its first sheet's XML changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            content = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(member, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def simple(workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
    sheet.write_row(0, 0, ["id", "prompt"])
    sheet.write_row(1, 0, ["007", "Name a fruit"])
    sheet.write_row(2, 0, ["008", "Name a tree"])


def prefixed(xml: bytes) -> bytes:
    """The same sheet with the main namespace bound to x: as some .NET writers save it."""
    xml = xml.replace(
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
        b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
    )
    return re.sub(rb"<(/?)(?!\?)([A-Za-z]+)([ />])", rb"<\1x:\2\3", xml)


def without_references(xml: bytes) -> bytes:
    """Cells that carry no r="..." (allowed: each then takes the next position)."""
    return re.sub(rb'<c r="[A-Z]+[0-9]+"', b"<c", xml)


@pytest.mark.parametrize("change", [prefixed, without_references])
def test_sheets_in_unusual_xml_are_read_the_slow_way_with_the_same_result(
    change: Callable[[bytes], bytes],
) -> None:
    data = book(simple)
    unusual = rewritten(data, change)
    with (
        zipfile.ZipFile(io.BytesIO(unusual)) as archive,
        archive.open("xl/worksheets/sheet1.xml") as stream,
    ):
        assert not scan_sheet(stream).regular

    assert as_read(read_table(unusual, "b.xlsx")) == as_read(read_table(data, "b.xlsx"))


def test_the_scan_finds_a_far_cell_listed_under_an_early_row() -> None:
    """The Rust reader places a cell by its own reference, so the scan does too."""
    xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>prompt</t></is></c></row>'
        b'<row r="2"><c r="XFD900000"><v>1</v></c><c r="B2" s="1"/></row>'
        b'<row r="3"><c r="A3" s="4"/></row></sheetData></worksheet>'
    )
    scan = scan_sheet(io.BytesIO(xml))

    assert scan.regular
    assert (scan.rows, scan.columns) == (900_000, 16_384)


def test_the_scan_in_many_chunks_finds_what_one_chunk_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The XML is inflated a chunk ahead in a thread: pieces cut anywhere give the same scan,
    and a scan that stops early (an unusual row) still says so."""
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>p%d</t></is></c><c r="C%d"><v>%d</v></c>'
        b"</row>" % (n, n, n, n, n)
        for n in range(1, 400)
    )
    xml = b"<worksheet><sheetData>" + rows + b'<row r="400"><c r="E400"><f>A1</f></c></row>'
    whole = scan_sheet(io.BytesIO(xml + b"</sheetData></worksheet>"))
    monkeypatch.setattr(sheet_scan, "_CHUNK_BYTES", 97)
    stream = io.BytesIO(xml + b"</sheetData></worksheet>")
    assert scan_sheet(stream) == whole
    assert (whole.rows, whole.columns, whole.unsaved) == (400, 5, ["E400"])
    unusual = io.BytesIO(rows + b"<row><c>1</c></row>" + rows)
    assert not scan_sheet(unusual).regular


@pytest.mark.parametrize("seed", range(40))
def test_the_scan_finds_the_extent_of_every_reference_in_any_order(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan searches only for cells past the extent found so far: a cell far out in a
    late piece, a row element out of order or a reference with leading zeros is still seen."""
    import random

    rng = random.Random(seed)
    width = rng.choice([1, 2, 3, 26, 27, 52, 703])
    cells = [(row, rng.randint(1, width)) for row in range(1, rng.randint(2, 300))]
    for _ in range(rng.randint(0, 3)):  # far cells listed under early or late rows
        cells.insert(rng.randrange(len(cells)), (rng.randint(1, 2_000_000), rng.randint(1, 16_384)))
    pieces, padded = [], False
    for row, column in cells:
        digits = str(row).zfill(rng.choice([0, 0, 0, 7]))  # now and then leading zeros
        padded = padded or digits != str(row)
        pieces.append(
            b'<row r="%d"><c r="%s%s"><v>1</v></c></row>'
            % (cells[0][0], sheet_scan.column_letters(column).encode(), digits.encode())
        )
    xml = b"<worksheet><sheetData>" + b"".join(pieces) + b"</sheetData></worksheet>"
    monkeypatch.setattr(sheet_scan, "_CHUNK_BYTES", rng.choice([64, 500, 1 << 20]))

    scan = scan_sheet(io.BytesIO(xml))

    if padded:
        assert not scan.regular  # leading zeros: read the slow way
        return
    assert scan.regular
    assert scan.columns == max(column for _row, column in cells)
    assert scan.rows == max(max(row for row, _column in cells), cells[0][0])


def test_the_search_past_an_extent_finds_exactly_the_references_beyond_it() -> None:
    letters = sheet_scan.column_letters
    columns = [*range(1, 760), 16_383, 16_384, 18_278]
    for last in [*range(1, 60), 675, 676, 677, 702, 703, 728, 16_384]:
        beyond = sheet_scan._beyond(last, 5)
        found = [c for c in columns if beyond.search(b'<c r="%s1"' % letters(c).encode())]
        assert found == [c for c in columns if c > last], last
    rows = [
        *range(1, 1_200),
        9_999,
        10_000,
        99_999,
        100_000,
        100_001,
        109_999,
        1_048_576,
        9_999_999,
    ]
    for last in [1, 9, 10, 99, 100, 101, 109, 110, 999, 1_000, 1_099, 100_000, 1_048_575]:
        beyond = sheet_scan._beyond(16_384, last)
        found = [r for r in rows if beyond.search(b'<c r="XFD%d"' % r)]
        assert found == [r for r in rows if r > last], last


def test_a_far_corner_value_is_refused_before_the_rust_reader_fills_its_grid(
    tmp_path: Path,
) -> None:
    """calamine would ask for 52 GB for this sheet and abort the process; the whole process
    (Rust allocations included, which tracemalloc does not see) stays small."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"], sheet["A2"], sheet["XFD100000"] = "prompt", "Name a fruit", "stray"
    path = tmp_path / "far.xlsx"
    workbook.save(path)
    child = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from batchdash.errors import InputError\n"
        "from batchdash.inputs.reading import read_table\n"
        "try:\n"
        f"    read_table(Path({str(path)!r}).read_bytes(), 'far.xlsx')\n"
        "    refusal = None\n"
        "except InputError as error:\n"
        "    refusal = str(error)\n"
        "peak = next(int(line.split()[1]) for line in Path('/proc/self/status').read_text()"
        ".splitlines() if line.startswith('VmHWM:'))\n"
        "print(json.dumps({'refusal': refusal, 'peak_kib': peak}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "dashboard")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert "'far.xlsx' has cells as far as XFD100000" in found["refusal"]
    assert found["peak_kib"] < 300 * 1024


def test_a_hidden_first_sheet_and_a_chart_free_list_of_sheets() -> None:
    def two(workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["a"])
        sheet.write_row(1, 0, ["1"])
        sheet.hide()
        shown = workbook.add_worksheet("Shown")
        shown.write_row(0, 0, ["b"])
        shown.write_row(1, 0, ["2"])
        shown.activate()

    table = read_table(book(two), "b.xlsx")

    assert (table.sheet, table.sheets) == ("Shown", ("S", "Shown"))
    assert table.frame.to_numpy().tolist() == [["2"]]
    with pytest.raises(InputError, match="has no sheet named 'Chart1'"):
        read_table(book(two), "b.xlsx", sheet="Chart1")


def test_reading_leaves_the_garbage_collector_as_it_was() -> None:
    import gc

    data = book(every_kind)
    assert gc.isenabled()
    read_table(data, "b.xlsx")
    assert gc.isenabled()
    gc.disable()
    try:
        read_table(data, "b.xlsx")
        assert not gc.isenabled()
    finally:
        gc.enable()
