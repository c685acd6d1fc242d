"""The Results page's on-screen order and widths of the merged table, and its word on the CSV."""

from __future__ import annotations

import pandas as pd

from batchdash.display.results_layout import TECHNICAL_COLUMNS, screen_layout
from batchdash.display.results_page import csv_note
from batchdash.results.merge import LINEAGE_COLUMNS


def merged(
    inputs: dict[str, list[str]], errors: list[str], fields: tuple[str, ...] = ()
) -> pd.DataFrame:
    rows = len(errors)
    columns = {name: pd.Series(cells, dtype=str) for name, cells in inputs.items()}
    columns["response"] = pd.Series(["A fairly long answer to the question."] * rows, dtype=str)
    for name in fields:
        columns[name] = pd.Series(["positive"] * rows, dtype=str)
    for name in LINEAGE_COLUMNS:
        columns[name] = pd.Series(["x"] * rows, dtype=str)
    columns["error"] = pd.Series(errors, dtype=str)
    return pd.DataFrame(columns)


def test_short_leading_columns_stay_in_front_of_the_answer_at_most_three() -> None:
    table = merged(
        {"a": ["1", "2"], "b": ["x", "y"], "c": ["7", "8"], "d": ["1", "2"], "text": ["t", "u"]},
        ["", ""],
        fields=("sentiment",),
    )
    layout = screen_layout(table)
    assert layout.order == ["a", "b", "c", "response", "sentiment", "status", "d", "text"]
    assert layout.widths["response"] == "large"
    assert layout.widths["a"] == "small"


def test_a_long_column_ends_the_leading_run_and_a_failure_brings_the_error() -> None:
    table = merged(
        {
            "id": ["001", "002"],
            "review": ["A long review of the product " * 2, "ok"],
            "n": ["1", "2"],
        },
        ["", "The request was refused because it is too long."],
    )
    layout = screen_layout(table)
    assert layout.order == ["id", "response", "status", "error", "review", "n"]
    assert (layout.widths["review"], layout.widths["error"]) == ("large", "medium")
    technical = screen_layout(table, technical=True)
    # Asked for, they come right after the outcome, where they are in view.
    assert technical.order == [
        "id",
        "response",
        "status",
        "error",
        *TECHNICAL_COLUMNS,
        "review",
        "n",
    ]
    assert set(TECHNICAL_COLUMNS) == set(LINEAGE_COLUMNS) - {"status", "error"}


def test_a_long_column_name_is_not_a_short_column() -> None:
    table = merged({"customer reference number": ["1", "2"], "id": ["1", "2"]}, ["", ""])
    assert screen_layout(table).order[:2] == ["response", "status"]


def test_the_csv_note_counts_the_cells_and_names_the_columns() -> None:
    assert csv_note({"tweet": 1}).startswith(
        "In the Merged CSV, 1 cell (in the column tweet) starts like a formula"
    )
    assert "1,293 cells (in the columns tweet and response) start" in csv_note(
        {"tweet": 1_290, "response": 3}
    )
    assert "(in 4 columns)" in csv_note({"a": 1, "b": 1, "c": 1, "d": 1})
    assert "holds every text as it was" in csv_note({})
