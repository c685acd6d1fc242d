"""custom_id of every row (DESIGN.md contract 4)."""

from __future__ import annotations

import pandas as pd

from batchdash.errors import InputError
from batchdash.wording import describe_rows


def custom_ids(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    """`row-<N>` (N 1-based over the input rows) or the values of `id_column` as text.

    An ID column must exist, and its values must be non-empty and unique; the error names the
    offending rows (1-based, as the analyst counts them).
    """
    if id_column is None:
        return pd.Series(
            [f"row-{n}" for n in range(1, len(frame) + 1)], index=frame.index, dtype=str
        )
    if id_column not in frame.columns:
        raise InputError(
            f"The ID column '{id_column}' is not in the table. Pick one of its columns, or "
            "choose automatic IDs."
        )
    ids = frame[id_column].fillna("").astype(str).str.strip()
    empty = [n + 1 for n in range(len(ids)) if not ids.iat[n]]
    if empty:
        raise InputError(
            f"The ID column '{id_column}' is empty in {describe_rows(empty)}. Fill those IDs, or choose "
            "automatic IDs."
        )
    dupes = ids.duplicated(keep=False)
    if dupes.any():
        first = ids[dupes].iat[0]
        rows = [n + 1 for n in range(len(ids)) if dupes.iat[n]]
        raise InputError(
            f"The ID column '{id_column}' repeats values (e.g. '{first}') in {describe_rows(rows)}. "
            "IDs must be unique: fix them, or choose automatic IDs."
        )
    return ids
