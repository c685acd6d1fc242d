import csv
import io
import zipfile
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl.utils.escape import unescape

from batchdash.errors import ResultsError
from batchdash.results.export import formula_cells, to_csv_bytes, to_xlsx_bytes
from batchdash.results.xlsx_writer import MAX_ROWS, column_name, xlsx_bytes
from tests.xlsx_per_cell import per_cell_xlsx_bytes, sheet_cells

XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series(["007", "12345678901234567890", "x"], dtype=str),
            "text": pd.Series(["=1+1", "+44 20 7946", "@SUM(A1)"], dtype=str),
            "more": pd.Series(["-3 stars", "\tindented", "\rreturn"], dtype=str),
            "safe": pd.Series(["a = b", "", "naïve 中文"], dtype=str),
            "tokens": pd.Series([-3, 0, 12], dtype="int64"),
            "score": pd.Series(pd.array([-1.5, None, 4.0], dtype="Float64")),
            "cost_usd": pd.Series(pd.array([0.0000075, 0.0, None], dtype="Float64")),
        }
    )


def test_csv_starts_with_bom_quotes_text_and_neutralises_text_cells_only() -> None:
    data = to_csv_bytes(table())
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == (
        '"id","text","more","safe","tokens","score","cost_usd"\r\n'
        '"007","\'=1+1","\'-3 stars","a = b",-3,-1.5,0.0000075\r\n'
        '"12345678901234567890","\'+44 20 7946","\'\tindented","",0,,0\r\n'
        '"x","\'@SUM(A1)","\'\rreturn","naïve 中文",12,4,\r\n'
    )


def test_csv_escapes_quotes_and_line_breaks_and_neutralises_headers() -> None:
    frame = pd.DataFrame(
        {"=cmd": ['say "hi"', None, "a,b\r\nc"], "n": pd.Series([1, None, 3], dtype="Int64")}
    )
    assert to_csv_bytes(frame).decode("utf-8-sig") == (
        '"\'=cmd","n"\r\n"say ""hi""",1\r\n"",\r\n"a,b\r\nc",3\r\n'
    )


def test_csv_reads_back_with_the_csv_module() -> None:
    text = to_csv_bytes(table()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 4
    assert rows[3][2] == "'\rreturn"


def test_csv_floats_keep_their_shortest_exact_form() -> None:
    values = [0.0000093, 7.5e-07, 0.30000000000000004, 1234.5, 2.0]
    frame = pd.DataFrame({"x": pd.Series(values, dtype="float64")})
    lines = to_csv_bytes(frame).decode("utf-8-sig").split("\r\n")
    assert [float(v) for v in lines[1:-1]] == values
    assert lines[1:-1] == ["0.0000093", "7.5e-7", "0.30000000000000004", "1234.5", "2"]


def test_xlsx_keeps_text_as_text_and_numbers_as_numbers() -> None:
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(table())))
    assert book.sheetnames == ["Results"]
    sheet = book["Results"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("id", "text", "more", "safe", "tokens", "score", "cost_usd")
    assert rows[1] == ("007", "=1+1", "-3 stars", "a = b", -3, -1.5, 0.0000075)
    assert rows[2] == ("12345678901234567890", "+44 20 7946", "\tindented", None, 0, None, 0)
    # OOXML stores a CR as the escape _x000D_, which Excel shows as the CR itself.
    assert (rows[3][0], rows[3][1], unescape(rows[3][2]), rows[3][3]) == (
        "x",
        "@SUM(A1)",
        "\rreturn",
        "naïve 中文",
    )
    assert (rows[3][4], rows[3][6]) == (12, None)
    assert {sheet.cell(2, c).data_type for c in range(1, 5)} == {"s"}  # never a formula


def test_xlsx_refuses_a_cell_excel_cannot_hold() -> None:
    frame = pd.DataFrame({"prompt": ["short", "x" * 40_000]}, dtype=str)
    with pytest.raises(
        ResultsError, match="Row 2 of the column 'response' holds 40,000 characters"
    ):
        to_xlsx_bytes(frame.rename(columns={"prompt": "response"}))


def test_empty_table_exports() -> None:
    frame = pd.DataFrame({"a": pd.Series([], dtype=str)})
    assert to_csv_bytes(frame) == b'\xef\xbb\xbf"a"\r\n'
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame)))["Results"]
    assert list(sheet.iter_rows(values_only=True)) == [("a",)]


def awkward_table() -> pd.DataFrame:
    """Cells that need escaping, blanks and odd types: the direct writer must match xlsxwriter."""
    texts = [
        "a < b && c > d ]]>",
        "  leading and trailing  ",
        "bell\x07 nul\x00 vt\x0b cr\r lf\n tab\t",
        "_x0041_ looks escaped, _X00e9_ too",
        "non-characters \ufffe\uffff",
        "emoji 😀 and 中文",
        "\"quoted\" & 'single'",
        "",
    ]
    return pd.DataFrame(
        {
            "a<b&c": pd.Series(texts, dtype=str),
            "": pd.Series(["x", None, "y", "", "z", "0012", "=1+1", "1e5"], dtype=str),
            "mixed": pd.Series([1, "two", 3.5, None, True, float("nan"), "", 7], dtype=object),
            "flag": pd.Series([True, False] * 4, dtype=bool),
            "n": pd.Series([1, None, -3, 0, 2**53, 12, None, 5], dtype="Int64"),
            "x": pd.Series([0.1 + 0.2, 1e-7, 1e20, -0.0, 7.5e-7, 123456789.123, 2.5, None]),
        }
    ).set_axis(["a<b&c", "", "mixed", "flag", "n", "n"], axis=1)  # a repeated name too


@pytest.mark.parametrize(
    "frame", [table(), awkward_table(), pd.DataFrame()], ids=["table", "awkward", "no columns"]
)
def test_xlsx_matches_the_per_cell_writer_cell_for_cell(frame: pd.DataFrame) -> None:
    assert sheet_cells(to_xlsx_bytes(frame)) == sheet_cells(per_cell_xlsx_bytes(frame))


def test_xlsx_rows_are_the_same_whatever_the_slice() -> None:
    frame = awkward_table()
    header = [str(name) for name in frame.columns]
    columns = [pa.array(frame.iloc[:, 0].tolist(), pa.large_string()), np.arange(8.0)]
    whole = sheet_cells(xlsx_bytes("Results", header[:2], columns))
    assert sheet_cells(xlsx_bytes("Results", header[:2], columns, rows_per_slice=3)) == whole
    assert [row[1] for row in whole["cells"][1:]] == [(n, "n") for n in range(8)]


def test_xlsx_package_parts_are_well_formed_and_typed() -> None:
    with zipfile.ZipFile(io.BytesIO(to_xlsx_bytes(awkward_table()))) as package:
        parts = {name: ElementTree.fromstring(package.read(name)) for name in package.namelist()}
    overrides = {
        element.get("PartName")
        for element in parts["[Content_Types].xml"]
        if element.tag.endswith("Override")
    }
    assert overrides == {
        "/xl/workbook.xml",
        "/xl/worksheets/sheet1.xml",
        "/xl/styles.xml",
        "/xl/sharedStrings.xml",
    }
    assert set(parts) == {"[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"} | {
        name.lstrip("/") for name in overrides
    }
    # Excel drops a text's leading and trailing blanks unless told to keep them.
    texts = [t for t in parts["xl/sharedStrings.xml"].iter() if t.tag.endswith("}t")]
    padded = [t for t in texts if t.text and t.text != t.text.strip()]
    assert padded and {t.get(f"{{{XML_NAMESPACE}}}space") for t in padded} == {"preserve"}


def test_xlsx_writes_an_infinity_as_the_csv_does() -> None:
    frame = pd.DataFrame({"x": [float("inf"), -float("inf"), float("nan"), 1.5]})
    cells = sheet_cells(to_xlsx_bytes(frame))["cells"]
    assert [row[0] for row in cells] == [
        ("x", "s"),
        ("inf", "s"),
        ("-inf", "s"),
        (None, "n"),
        (1.5, "n"),
    ]
    assert to_csv_bytes(frame).decode("utf-8-sig").split("\r\n")[1:3] == ["inf", "-inf"]


def test_xlsx_writes_an_infinity_as_a_shared_string() -> None:
    # Apple Numbers shows no inline string (t="inlineStr"): every text cell is a shared one.
    frame = pd.DataFrame(
        {"x": [float("inf"), -float("inf"), 1.5], "y": pd.Series(["inf", None, "b"], dtype=str)}
    )
    with zipfile.ZipFile(io.BytesIO(to_xlsx_bytes(frame))) as package:
        sheet = ElementTree.fromstring(package.read("xl/worksheets/sheet1.xml"))
        table = ElementTree.fromstring(package.read("xl/sharedStrings.xml"))
    strings = ["".join(item.itertext()) for item in table]
    cells = {cell.get("r"): cell for cell in sheet.iter(f"{{{MAIN}}}c")}
    assert {cell.get("t") for cell in cells.values()} == {"s", None}
    indices = [int(cells[ref].findtext(f"{{{MAIN}}}v") or "") for ref in ("A2", "A3", "B2")]
    assert [strings[index] for index in indices] == ["inf", "-inf", "inf"]
    assert sorted(strings) == sorted(set(strings)) == ["-inf", "b", "inf", "x", "y"]
    assert table.get("count") == str(sum(cell.get("t") == "s" for cell in cells.values())) == "6"
    assert table.get("uniqueCount") == str(len(strings))


def test_xlsx_keeps_the_largest_numbers_finite() -> None:
    # At 16 digits the largest doubles round up past the largest double: a reader gets infinity.
    largest = np.finfo(np.float64).max
    values = [largest, -largest, np.nextafter(largest, 0), 1.797693134862315e308, 2.5]
    cells = sheet_cells(to_xlsx_bytes(pd.DataFrame({"x": values})))["cells"]
    assert [row[0] for row in cells[1:]] == [(value, "n") for value in values]


def test_xlsx_writes_each_number_as_xlsxwriter_does() -> None:
    # Whole numbers, repeated decimals (a cost column) and one-off ones take different paths
    # to their text; each must be the 16 significant digits xlsxwriter writes (17 for the
    # largest), -0.0 as "-0", and no cell for NaN.
    rng = np.random.default_rng(7)
    values = [0.0, -0.0, 1.0, -7.0, 2.0**53, 1e15, 9999999999999998.0, 1e16, -1e16, 1e20]
    values += [0.1 + 0.2, 1e-5, 7.5e-7, 5e-324, np.finfo(np.float64).max, float("nan")]
    values += list(rng.choice([1.25e-6, 3.3e-5, 0.000123], 40)) + list(rng.normal(0, 1e6, 40))
    values += [float(n) for n in rng.integers(-(10**17), 10**17, 40)]
    data = xlsx_bytes("Sheet", ["x"], [np.array(values)], rows_per_slice=16)
    sheet = ElementTree.fromstring(
        zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    )
    written = {cell.get("r"): cell.findtext(f"{{{MAIN}}}v") for cell in sheet.iter(f"{{{MAIN}}}c")}
    expected = {
        f"A{row}": f"{value:.17G}" if abs(value) > 1.797693134862315e308 else f"{value:.16G}"
        for row, value in enumerate(values, start=2)
        if not np.isnan(value)
    }
    assert {ref: text for ref, text in written.items() if ref != "A1"} == expected


def test_xlsx_counts_a_cell_as_excel_does() -> None:
    # An emoji is two UTF-16 units: 16,000 fit in a cell, 20,000 (40,000 units) do not.
    fits = pd.DataFrame({"response": ["😀" * 16_000]}, dtype=str)
    assert sheet_cells(to_xlsx_bytes(fits))["cells"][1] == [("😀" * 16_000, "s")]
    too_long = pd.DataFrame({"response": ["short", "😀" * 20_000]}, dtype=str)
    with pytest.raises(ResultsError, match="Row 2 of the column 'response' holds 40,000 char"):
        to_xlsx_bytes(too_long)


def test_xlsx_refuses_more_rows_than_a_sheet_holds() -> None:
    frame = pd.DataFrame({"prompt": pd.Series([""] * MAX_ROWS, dtype=str)})
    with pytest.raises(ResultsError, match=r"1,048,576 rows and 1 columns.*download the CSV"):
        to_xlsx_bytes(frame)


@pytest.mark.parametrize(
    ("index", "name"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA"), (16_383, "XFD")]
)
def test_column_names(index: int, name: str) -> None:
    assert column_name(index) == name


def test_csv_for_programs_keeps_every_text_and_has_no_bom() -> None:
    data = to_csv_bytes(table(), for_spreadsheets=False)
    assert not data.startswith(b"\xef\xbb\xbf")
    read = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(read.columns) == list(table().columns)
    for name in ("id", "text", "more", "safe"):
        assert read[name].tolist() == table()[name].fillna("").tolist()
    assert (
        data.decode("utf-8").split("\r\n")[1] == '"007","=1+1","-3 stars","a = b",-3,-1.5,0.0000075'
    )


def test_formula_cells_counts_each_cell_the_csv_for_spreadsheets_changes() -> None:
    frame = table().rename(columns={"safe": "=sum"})
    assert formula_cells(frame) == {"text": 3, "more": 3, "=sum": 1}
    spreadsheet = to_csv_bytes(frame).decode("utf-8-sig")
    programs = to_csv_bytes(frame, for_spreadsheets=False).decode("utf-8")
    pairs = zip(
        csv.reader(io.StringIO(spreadsheet)), csv.reader(io.StringIO(programs)), strict=True
    )
    changed = sum(a != b for rows in pairs for a, b in zip(*rows, strict=True))
    assert changed == sum(formula_cells(frame).values())
    assert formula_cells(pd.DataFrame({"a": pd.Series(["safe", None], dtype=str)})) == {}


def numbered_table() -> pd.DataFrame:
    columns = {
        "编号": ["1", "2", "30"],
        "price": ["2.50", "", "13.00"],
        "share": ["0.5", "1.25", "-2"],
        "code": ["007", "12", "3"],
        "plus": ["+1", "2", "3"],
        "thousands": ["1,234", "5", "6"],
        "long id": ["1234567890123456", "1", "2"],
        "fifteen": ["123456789012345", "1", "2"],
        "exponent": ["1e5", "1", "2"],
        "blank": [" 5", "1", "2"],
        "minus zero": ["-0", "1", "2"],
        "mixed": ["1.50", "2", "3"],
        "empty": ["", "", ""],
        "response": ["1", "2", "3"],
        "custom_id": ["1", "2", "3"],
    }
    return pd.DataFrame({name: pd.Series(cells, dtype=str) for name, cells in columns.items()})


def test_xlsx_writes_input_columns_of_plain_numbers_as_numbers() -> None:
    frame = numbered_table()
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame)))["Results"]
    columns = {str(cells[0].value): cells[1:] for cells in sheet.iter_cols(max_row=len(frame) + 1)}
    assert [cell.value for cell in columns["编号"]] == [1, 2, 30]
    assert [cell.number_format for cell in columns["编号"]] == ["0"] * 3  # every digit shown
    assert [cell.value for cell in columns["price"]] == [2.5, None, 13.0]
    assert columns["price"][0].number_format == "0.00"  # shows 2.50, as written
    assert [cell.value for cell in columns["share"]] == [0.5, 1.25, -2]
    assert columns["share"][0].number_format == "General"
    assert columns["fifteen"][0].value == 123456789012345
    for name in ("code", "plus", "thousands", "long id", "exponent", "blank", "minus zero"):
        assert [cell.value for cell in columns[name]] == frame[name].tolist(), name
        assert {cell.data_type for cell in columns[name]} == {"s"}, name
    assert [cell.value for cell in columns["mixed"]] == ["1.50", "2", "3"]
    assert [cell.value for cell in columns["empty"]] == [None] * 3
    # The answer and the lineage are never input columns: their text stays text.
    assert [cell.value for cell in columns["response"]] == ["1", "2", "3"]
    assert [cell.value for cell in columns["custom_id"]] == ["1", "2", "3"]


def test_xlsx_columns_are_as_wide_as_their_content_and_long_text_wraps() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.Series(["1", "2"], dtype=str),
            "中文评论": pd.Series(["好评" * 5, "ok"], dtype=str),
            "response": pd.Series(["word " * 40, "Two\nlines"], dtype=str),
            "status": pd.Series(["ok", "error"], dtype=str),
            "error": pd.Series(["", "short"], dtype=str),
            "input_tokens": pd.Series([12, 7], dtype="int64"),
        }
    )
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame)))["Results"]
    widths = {
        str(sheet.cell(1, n).value): sheet.column_dimensions[column_name(n - 1)].width
        for n in range(1, frame.shape[1] + 1)
    }
    assert (widths["n"], widths["status"]) == (8, 9)  # the least, or the header and its button
    assert widths["中文评论"] == 21  # ten wide characters, twice a digit each, and padding
    assert widths["response"] == 60
    assert 12 <= widths["input_tokens"] < 20
    wraps = {str(sheet.cell(1, n).value): sheet.cell(2, n).alignment.wrap_text for n in range(1, 7)}
    assert wraps == {
        "n": None,
        "中文评论": None,
        "response": True,
        "status": None,
        "error": None,
        "input_tokens": None,
    }
    assert sheet.cell(3, 3).alignment.vertical == "top"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"
