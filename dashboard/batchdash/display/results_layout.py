"""How the Results page lays the merged table out on screen; the downloads keep contract 6.

On screen the analyst looks for the answer first: the short leading input columns (an ID, a
code) stay in front to say which row it is, the answer and any structured fields follow, then
the status and, when some row failed, the error; the other input columns come after, and the
technical lineage columns only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from batchdash.results.merge import LINEAGE_COLUMNS

#: Lineage columns that say how a row was run rather than what came back.
TECHNICAL_COLUMNS = tuple(name for name in LINEAGE_COLUMNS if name not in ("status", "error"))

#: A column width on screen, as Streamlit's tables name them (about 75, 200 and 400 pixels).
Width = Literal["small", "medium", "large"]

# At most this many leading input columns go before the answer, each no wider than this many
# characters; a wider column (the prompt text itself) goes after the answer.
_LEADING_COLUMNS = 3
_SHORT = 16
_MEDIUM = 40
# Widths are judged on the first rows: enough to see the shape, quick on a large table.
_SAMPLE_ROWS = 10_000


@dataclass(frozen=True)
class ScreenLayout:
    """The columns to show, in order, and how wide each one is."""

    order: list[str]
    widths: dict[str, Width]


def screen_layout(merged: pd.DataFrame, *, technical: bool = False) -> ScreenLayout:
    """The on-screen order and widths of a merged table's columns (contract 6 names)."""
    names = [str(name) for name in merged.columns]
    answer = names.index("response")
    lineage = names.index("custom_id")
    inputs, fields = names[:answer], names[answer + 1 : lineage]
    sample = merged.head(_SAMPLE_ROWS)
    longest = {name: _longest(sample[name]) for name in names}
    leading: list[str] = []
    for name in inputs[:_LEADING_COLUMNS]:
        if max(longest[name], len(name)) > _SHORT:
            break
        leading.append(name)
    failed = bool((merged["error"].fillna("") != "").any())
    outcome = ["status", "error"] if failed or technical else ["status"]
    order = [
        *leading,
        "response",
        *fields,
        *outcome,
        # Asked for, the technical columns come into view, not beyond the input's long ones.
        *(TECHNICAL_COLUMNS if technical else ()),
        *inputs[len(leading) :],
    ]
    widths: dict[str, Width] = {name: _width(max(longest[name], len(name))) for name in order}
    # The answer gets the room; an error message is long, but a medium column keeps the
    # columns after it in view (a click on a cell shows all of it).
    widths["response"] = "large"
    if "error" in widths:
        widths["error"] = "medium"
    return ScreenLayout(order, widths)


def _longest(column: pd.Series) -> int:
    """Characters of the column's longest cell as text (numbers too)."""
    if not len(column):
        return 0
    texts = pa.array(column.astype(str).where(column.notna(), ""), pa.large_string())
    return int(pc.max(pc.utf8_length(texts)).as_py() or 0)


def _width(characters: int) -> Width:
    if characters <= _SHORT // 2:
        return "small"
    return "medium" if characters <= _MEDIUM else "large"
