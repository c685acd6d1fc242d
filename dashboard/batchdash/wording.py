"""Small helpers that word messages the way an analyst reads them."""

from __future__ import annotations

from collections.abc import Sequence


def describe_rows(rows: Sequence[int], shown: int = 5) -> str:
    """'row 3', 'rows 3, 7 and 9', or 'rows 3, 7, 9, 11, 12 and 40 more' (1-based numbers)."""
    if len(rows) == 1:
        return f"row {rows[0]}"
    if len(rows) > shown:
        head = ", ".join(str(r) for r in rows[:shown])
        return f"rows {head} and {len(rows) - shown} more"
    head = ", ".join(str(r) for r in rows[:-1])
    return f"rows {head} and {rows[-1]}"
