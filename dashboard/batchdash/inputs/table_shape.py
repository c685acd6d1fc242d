"""From a grid of text cells to a table: header row, named columns, no blank rows.

Shared by CSV/TSV, XLSX and pasted rows, so every source reports blank and repeated headers,
empty files and header-only files in the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import Message, _l, n_l
from batchdash.wording import listing


@dataclass(frozen=True, eq=False)
class ShapedTable:
    """The body of a grid under its header row."""

    frame: pd.DataFrame
    """Cells as text, named columns in the grid's order, index 0..n-1."""
    blank_rows_dropped: int
    """Rows left out because every cell was empty or whitespace."""
    notes: tuple[str | Message, ...]
    """Sentences about columns left out."""


#: Cells a grid may hold once short rows are filled out to its widest: the readers that keep a
#: Python text per cell (a workbook, a ragged text file) need about 60 bytes a cell, so this
#: bounds one upload's grid near a gigabyte. Checked before anything is filled out.
MAX_CELLS = 20_000_000


def check_cells(rows: int, columns: int, what: Message, fix: Message) -> None:
    """Refuse a grid of `rows` x `columns` cells over MAX_CELLS; `what` says where the size
    comes from and `fix` what to do, in the analyst's words."""
    cells = rows * columns
    if cells > MAX_CELLS:
        raise InputError(
            _l(
                "{what}: filled out, that is {rows:,} rows × {columns:,} columns, {cells:,} "
                "cells, more than the {limit:,} Batchdash reads. {fix}",
                what=what,
                rows=rows,
                columns=columns,
                cells=cells,
                limit=MAX_CELLS,
                fix=fix,
            )
        )


def blank_cells(column: pd.Series) -> np.ndarray:
    """True where a cell is empty or only whitespace."""
    return ((column == "") | column.str.isspace()).to_numpy(dtype=bool, na_value=True)


def _blank_rows(raw: pd.DataFrame) -> np.ndarray:
    blank = np.ones(len(raw), dtype=bool)
    for position in range(raw.shape[1]):
        blank &= blank_cells(raw.iloc[:, position])
        if not blank.any():
            break
    return blank


def shape_table(
    raw: pd.DataFrame, source_name: str, *, header_hints: Mapping[int, Message] | None = None
) -> ShapedTable:
    """Take the first non-blank row as the header and check its names.

    A column without a name is left out when it is empty and refused when it holds data;
    `header_hints` adds words to that refusal per 0-based column. Repeated names are refused.
    """
    blank = _blank_rows(raw)
    kept_rows = np.flatnonzero(~blank)
    if not len(kept_rows):
        raise InputError(
            _l(
                "'{source_name}' is empty. Upload a file with a header row and at least one row "
                "of data.",
                source_name=source_name,
            )
        )
    header_at = int(kept_rows[0])
    header = [str(cell).strip().lstrip("\ufeff") for cell in raw.iloc[header_at]]
    body_rows = kept_rows[1:]
    if len(body_rows) == len(raw) - 1 - header_at and header_at == 0:
        body = raw.iloc[1:]  # nothing to drop: a slice, not a copy
    else:
        body = raw.iloc[body_rows]
    kept_columns, dropped = _named_columns(header, body, header_hints or {})
    names = [header[position] for position in kept_columns]
    _refuse_repeated(names, kept_columns)
    if body.empty:
        raise InputError(
            _l(
                "'{source_name}' has a header row but no rows of data. Add rows under the "
                "header and upload it again.",
                source_name=source_name,
            )
        )
    frame = body.iloc[:, kept_columns].set_axis(pd.Index(names, dtype=str), axis=1)
    frame = frame.reset_index(drop=True)
    notes: tuple[str | Message, ...] = ()
    if dropped:
        notes = (
            n_l(
                "{n} empty column without a name was left out.",
                "{n} empty columns without a name were left out.",
                dropped,
            ),
        )
    return ShapedTable(frame, int(blank.sum()), notes)


def _named_columns(
    header: list[str], body: pd.DataFrame, hints: Mapping[int, Message]
) -> tuple[list[int], int]:
    """Positions of the columns kept, and how many empty unnamed columns were left out."""
    kept: list[int] = []
    dropped = 0
    for position, name in enumerate(header):
        if name:
            kept.append(position)
        elif blank_cells(body.iloc[:, position]).all():
            dropped += 1
        else:
            hint = hints.get(position)
            if hint is None:
                raise InputError(
                    _l(
                        "Column {column} has data but no name in the header row. Type a name "
                        "into its header cell in the spreadsheet and upload it again.",
                        column=position + 1,
                    )
                )
            raise InputError(
                _l(
                    "Column {column} has data but no name in the header row ({hint}). Type a "
                    "name into its header cell in the spreadsheet and upload it again.",
                    column=position + 1,
                    hint=hint,
                )
            )
    return kept, dropped


def _refuse_repeated(names: list[str], positions: list[int]) -> None:
    seen: dict[str, list[int]] = {}
    for name, position in zip(names, positions, strict=True):
        seen.setdefault(name, []).append(position + 1)
    for name, columns in seen.items():
        if len(columns) > 1:
            listed = _l("{head} and {last}", head=listing(columns[:-1]), last=columns[-1])
            if len(columns) == 2:
                raise InputError(
                    _l(
                        "Columns {columns} are both named '{name}'. Rename one of them in the "
                        "spreadsheet and upload it again.",
                        columns=listed,
                        name=name,
                    )
                )
            raise InputError(
                _l(
                    "Columns {columns} are all named '{name}'. Rename all but one of them in the "
                    "spreadsheet and upload it again.",
                    columns=listed,
                    name=name,
                )
            )
