"""custom_id of every row (DESIGN.md contract 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import Message, _l
from batchdash.wording import describe_rows


def custom_ids(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    """`row-<N>` (N 1-based over the input rows) or the values of `id_column` as text.

    An ID column must exist, and its values must be non-empty and unique; the error names the
    offending rows (1-based, as the analyst counts them).
    """
    ids, problems = checked_ids(frame, id_column)
    if problems:
        raise InputError(problems[0][0])
    return ids


def checked_ids(
    frame: pd.DataFrame, id_column: str | None
) -> tuple[pd.Series, list[tuple[Message, list[int]]]]:
    """The IDs as `custom_ids` gives them, with every problem as (sentence, 1-based rows).

    With problems, the IDs are the column's text as it is (or `row-<N>` when the column is
    missing), so a preflight can still measure the requests.
    """
    if id_column is None or id_column not in frame.columns:
        ids = pd.Series(
            [f"row-{n}" for n in range(1, len(frame) + 1)], index=frame.index, dtype=str
        )
        if id_column is None:
            return ids, []
        return ids, [
            (
                _l(
                    "The ID column '{id_column}' is not in the table. Pick one of its columns, or choose "
                    "automatic IDs.",
                    id_column=id_column,
                ),
                [],
            )
        ]
    ids = frame[id_column].fillna("").astype(str).str.strip()
    problems: list[tuple[Message, list[int]]] = []
    empty = (ids == "").to_numpy()
    if empty.any():
        rows = (np.flatnonzero(empty) + 1).tolist()
        problems.append(
            (
                _l(
                    "The ID column '{id_column}' is empty in {rows}. Fill those IDs, or choose automatic "
                    "IDs.",
                    id_column=id_column,
                    rows=describe_rows(rows),
                ),
                rows,
            )
        )
    dupes = (ids.duplicated(keep=False) & ~empty).to_numpy()
    if dupes.any():
        rows = (np.flatnonzero(dupes) + 1).tolist()
        first = ids.iat[rows[0] - 1]
        problems.append(
            (
                _l(
                    "The ID column '{id_column}' repeats values (e.g. '{first}') in {rows}. IDs must be "
                    "unique: fix them, or choose automatic IDs.",
                    id_column=id_column,
                    first=first,
                    rows=describe_rows(rows),
                ),
                rows,
            )
        )
    return ids, problems
