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


def test_csv_starts_with_bom_and_neutralises_text_cells_only() -> None:
    data = to_csv_bytes(table())
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == (
        "id,text,more,safe,tokens,score,cost_usd\r\n"
        "007,'=1+1,'-3 stars,a = b,-3,-1.5,0.0000075\r\n"
        "12345678901234567890,'+44 20 7946,'\tindented,,0,,0\r\n"
        "x,'@SUM(A1),\"'\rreturn\",naïve 中文,12,4,\r\n"
    )


def test_csv_neutralises_headers_and_missing_text() -> None:
    frame = pd.DataFrame({"=cmd": ["a", None], "n": pd.Series([1, 2], dtype="Int64")})
    assert to_csv_bytes(frame).decode("utf-8-sig") == "'=cmd,n\r\na,1\r\n,2\r\n"


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
    assert to_csv_bytes(frame) == b"\xef\xbb\xbfa\r\n"
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame)))["Results"]
    assert list(sheet.iter_rows(values_only=True)) == [("a",)]
