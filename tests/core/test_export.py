import csv
import io

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.escape import unescape

from batchdash.errors import ResultsError
from batchdash.export import to_csv_bytes, to_xlsx_bytes


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
