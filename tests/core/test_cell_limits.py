"""Small files that would become huge grids are refused before anything is filled out.

A workbook with a value in a far corner (XFD100000) is a few kilobytes, but a grid of 1.6
billion cells once every row is filled out to its width; a CSV whose header has 5,000 columns
over many one-cell rows is the same for the parser that pads short rows. Both are refused with
the size found, the limit and what to do; a formatted but empty far corner is no part of the
table and is read as the small sheet it is.
"""

from __future__ import annotations

import io
import tracemalloc

import openpyxl
import pytest
from openpyxl.styles import Font

from batchdash.errors import InputError
from batchdash.inputs.reading import read_table
from batchdash.inputs.table_shape import MAX_CELLS

#: Memory a refusal may take (the old readers took gigabytes for these files).
REFUSAL_BYTES = 100 * 1024 * 1024


def workbook(far_corner: str, value: str | None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"], sheet["A2"] = "prompt", "Name a fruit"
    if value is None:
        sheet[far_corner].font = Font(bold=True)  # formatted, no value
    else:
        sheet[far_corner] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def peak_bytes_of(call: object) -> int:
    tracemalloc.start()
    try:
        call()  # type: ignore[operator]
    except InputError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_a_value_in_the_far_corner_of_a_small_workbook_is_refused_plainly() -> None:
    data = workbook("XFD100000", "stray")
    assert len(data) < 10_000

    with pytest.raises(InputError) as refused:
        read_table(data, "prompts.xlsx")

    message = str(refused.value)
    assert "'prompts.xlsx' has cells as far as XFD100000" in message
    assert "100,000 rows × 16,384 columns" in message
    assert f"{MAX_CELLS:,}" in message
    assert "delete them" in message
    assert peak_bytes_of(lambda: read_table(data, "prompts.xlsx")) < REFUSAL_BYTES


def test_a_formatted_but_empty_far_corner_is_read_as_the_small_sheet_it_is() -> None:
    table = read_table(workbook("XFD100000", None), "prompts.xlsx")

    assert table.frame.columns.tolist() == ["prompt"]
    assert table.frame["prompt"].tolist() == ["Name a fruit"]


def test_a_long_header_over_many_one_cell_rows_is_refused_before_parsing() -> None:
    header = ",".join(f"c{n}" for n in range(5_000))
    data = (header + "\n" + "x\n" * 10_000).encode()

    with pytest.raises(InputError) as refused:
        read_table(data, "ragged.csv")

    message = str(refused.value)
    assert "'ragged.csv' has 5,000 cells in its first row" in message
    assert "remove the empty columns at the end of the first row" in message
    assert peak_bytes_of(lambda: read_table(data, "ragged.csv")) < REFUSAL_BYTES


def test_a_ragged_file_within_the_limit_is_still_read() -> None:
    data = b"prompt,country,extra\nName a fruit\nName a tree,NL\n"

    table = read_table(data, "short-rows.csv")

    assert table.frame["prompt"].tolist() == ["Name a fruit", "Name a tree"]
    assert table.frame["country"].tolist() == ["", "NL"]
