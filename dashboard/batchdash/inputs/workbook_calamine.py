"""A worksheet's cells as Arrow text columns, read by calamine (Rust).

calamine parses the sheet's XML about twenty times faster than openpyxl and hands over
typed values; this module turns them into the text Excel shows (the same words as openpyxl's
reading, see `workbooks.cell_text`), a block of rows at a time, so that only one block of
Python objects is alive beside the Arrow columns. What calamine does not report (error cells,
number formats such as 0.0% and 000) comes from the sheet scan. Anything this module does not
expect raises CalamineUnfit, and the caller reads the sheet with openpyxl instead.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import numpy as np
import pyarrow as pa

from batchdash.inputs.sheet_scan import SheetScan

#: Rows turned into Python objects at a time (about 20 MB for short rows).
_BLOCK_ROWS = 65_536
_TEXT = pa.large_string()


class CalamineUnfit(Exception):
    """The sheet is outside what this reader was checked against; use openpyxl."""


def empty_column(length: int) -> pa.Array:
    """A text column of `length` empty cells."""
    return pa.array([""] * length, type=_TEXT)


def calamine_columns(
    sheet: Any,
    scan: SheetScan,
    formats: dict[int, str],
    cell_text: Callable[[object, str], str],
) -> list[pa.Array]:
    """Every column from A to the last holding a value, each `scan.rows` cells (or more) long.

    `sheet` is a python_calamine CalamineSheet; `formats` maps style indexes to the number
    formats in `scan.styled`; `cell_text` turns a value and its number format into text.
    """
    start, end = sheet.start, sheet.end
    if start is None or end is None:
        return []
    with _collector_paused():
        return _columns(sheet, start, end, scan, formats, cell_text)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Without the cyclic garbage collector: it would walk the block of row lists calamine
    hands over (no cycles among them) over and over, a tenth of the read. The pause is the
    process's: in the server other sessions' threads go without it for the read's second or
    so (memory collected a little later, nothing else); a read that ends while another still
    runs turns it back on, which only costs that read some speed."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _columns(
    sheet: Any,
    start: tuple[int, int],
    end: tuple[int, int],
    scan: SheetScan,
    formats: dict[int, str],
    cell_text: Callable[[object, str], str],
) -> list[pa.Array]:
    rows: Iterator[list[Any]] = iter(sheet.iter_rows())
    fixes = _fixes(scan, formats, cell_text)
    parts: list[list[pa.Array]] = []
    offset: int | None = None
    done = 0
    while block := list(islice(rows, _BLOCK_ROWS)):
        if offset is None:
            offset = _column_offset(len(block[0]), start[1], end[1])
        _fix_block(block, done, offset, fixes)
        for position, column in enumerate(_block_columns(block, cell_text)):
            if position == len(parts):
                parts.append([])
            parts[position].append(column)
        done += len(block)
    # The rows start at the sheet's first row, the columns at its first column with a value
    # (python-calamine 0.9); a reader that counts otherwise is not trusted with the fixes.
    if done != end[0] + 1 or offset is None:
        raise CalamineUnfit(f"{done} rows read, the sheet ends at row {end[0] + 1}")
    height = max(done, scan.rows)
    columns = [empty_column(height) for _ in range(offset)]
    for chunks in parts:
        if height > done:
            chunks.append(empty_column(height - done))
        columns.append(pa.concat_arrays(chunks))
    return columns


def _column_offset(width: int, first: int, last: int) -> int:
    if width == last - first + 1:
        return first
    if width == last + 1:
        return 0
    raise CalamineUnfit(f"rows of {width} cells for columns {first + 1} to {last + 1}")


def _fixes(
    scan: SheetScan, formats: dict[int, str], cell_text: Callable[[object, str], str]
) -> dict[int, list[tuple[int, Callable[[object], object]]]]:
    """Row -> (column, how to turn calamine's value into text) for cells calamine misreads."""
    fixes: dict[int, list[tuple[int, Callable[[object], object]]]] = {}
    for row, column, index in scan.styled:
        number_format = formats[index]

        def formatted(value: object, number_format: str = number_format) -> str:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return cell_text(value, number_format)
            return value if isinstance(value, str) else cell_text(value, "General")

        fixes.setdefault(row, []).append((column, formatted))
    for row, column, text in scan.errors:

        def error_text(_value: object, text: str = text) -> str:
            return text

        fixes.setdefault(row, []).append((column, error_text))
    for row, column in scan.negative:
        fixes.setdefault(row, []).append((column, _not_a_negative_date))
    return fixes


def _not_a_negative_date(value: object) -> object:
    if isinstance(value, dt.date | dt.time):
        raise CalamineUnfit("a negative number read as a date")
    return value


def _fix_block(
    block: list[list[Any]],
    first_row: int,
    offset: int,
    fixes: dict[int, list[tuple[int, Callable[[object], object]]]],
) -> None:
    if not fixes:
        return
    for row in range(first_row, first_row + len(block)):
        for column, fix in fixes.get(row, ()):
            cells = block[row - first_row]
            if 0 <= column - offset < len(cells):
                cells[column - offset] = fix(cells[column - offset])


def _block_columns(
    block: list[list[Any]], cell_text: Callable[[object, str], str]
) -> list[pa.Array]:
    """The columns of a block of rows, each as text."""
    width = len(block[0])
    try:  # every cell text already, the common case: one pass in C, no tuple per column
        cells = pa.array(block, type=pa.list_(_TEXT, width)).flatten()
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers, dates, ... (or ragged rows)
        return [_text_column(column, cell_text) for column in zip(*block, strict=True)]
    columns = [cells.take(np.arange(n, len(cells), width)) for n in range(width)]
    return [column.fill_null("") if column.null_count else column for column in columns]


def _text_column(values: tuple[Any, ...], cell_text: Callable[[object, str], str]) -> pa.Array:
    try:
        column = pa.array(values, type=_TEXT)  # all text already: no Python loop
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        column = pa.array(
            [
                value
                if type(value) is str
                else ""
                if value is None
                else cell_text(value, "General")
                for value in values
            ],
            type=_TEXT,
        )
    return column.fill_null("") if column.null_count else column
