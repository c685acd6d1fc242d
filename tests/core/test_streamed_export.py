"""The merged table as Arrow columns, kept as Parquet row groups and streamed to CSV and XLSX:
the same files, cell for cell, as the DataFrame exports the golden files pin down."""

import io

import pandas as pd
import pyarrow as pa
import pytest

from batchdash.errors import ResultsError
from batchdash.registry import blobs
from batchdash.registry.blobs import BlobColumns, table_to_blob
from batchdash.results import export
from batchdash.results.export import (
    TableColumns,
    check_sheet_size,
    count_formula_cells,
    formula_cells,
    to_csv_bytes,
    write_csv,
    write_xlsx_table,
)
from batchdash.results.merge import merge_results, merge_table, merged_frame
from batchdash.results.result_table import ResultFile, read_result_files
from tests.core.test_merge import GOLDEN, GOLDEN_FILES, GOLDEN_RECIPE, golden_merge, read_input
from tests.xlsx_per_cell import per_cell_xlsx_bytes, sheet_cells


def golden_table() -> pa.Table:
    files = [
        ResultFile([(GOLDEN / name).read_bytes()], batch_id, name)
        for name, batch_id in GOLDEN_FILES
    ]
    results = read_result_files(files, GOLDEN_RECIPE)
    return merge_table(read_input(GOLDEN / "input.csv"), GOLDEN_RECIPE, results)


def csv_of(columns: export.MergedColumns, *, for_spreadsheets: bool = True) -> bytes:
    out = io.BytesIO()
    write_csv(columns, out, for_spreadsheets=for_spreadsheets)
    return out.getvalue()


def xlsx_of(columns: export.MergedColumns) -> bytes:
    out = io.BytesIO()
    write_xlsx_table(columns, out)
    return out.getvalue()


def test_the_arrow_merge_is_the_dataframe_merge() -> None:
    pd.testing.assert_frame_equal(merged_frame(golden_table(), GOLDEN_RECIPE), golden_merge())


@pytest.mark.parametrize("stored", [False, True])
def test_golden_csv_streamed_from_the_table_or_its_stored_row_groups(
    stored: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs of 4 rows and row groups of 5: the golden table's 13 rows cross both.
    monkeypatch.setattr(export, "ROWS_PER_BATCH", 4)
    monkeypatch.setattr(blobs, "ROWS_PER_GROUP", 5)
    table = golden_table()
    columns = BlobColumns(table_to_blob(table)) if stored else TableColumns(table)
    assert csv_of(columns) == (GOLDEN / "expected.csv").read_bytes()
    assert csv_of(columns, for_spreadsheets=False) == to_csv_bytes(
        golden_merge(), for_spreadsheets=False
    )
    assert count_formula_cells(columns) == formula_cells(golden_merge())


def test_golden_xlsx_streamed_from_stored_row_groups_has_the_per_cell_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(blobs, "ROWS_PER_GROUP", 5)
    columns = BlobColumns(table_to_blob(golden_table()))
    assert columns.names == list(golden_merge().columns)
    assert sheet_cells(xlsx_of(columns)) == sheet_cells(per_cell_xlsx_bytes(golden_merge()))


def test_a_stored_table_hands_out_chosen_columns_by_name() -> None:
    columns = BlobColumns(table_to_blob(golden_table()))
    picked = columns.columns(["status", "cost_usd"])
    assert picked.column_names == ["status", "cost_usd"]
    assert picked.column("status").to_pylist() == golden_merge()["status"].tolist()
    assert columns.rows == 13


def test_columns_of_many_distinct_texts_read_back_cell_for_cell() -> None:
    # Over a thousand distinct texts make a column's own shared strings; the few texts of
    # the other columns are shared between them, the header among them.
    rows = 2_500
    frame = pd.DataFrame(
        {
            "prompt": [f"prompt {n % 1_700}" for n in range(rows)],
            "response": [f"answer {n}" if n % 7 else "" for n in range(rows)],
            "status": ["ok" if n % 3 else "status" for n in range(rows)],
            "input_tokens": list(range(rows)),
        }
    )
    ours = sheet_cells(xlsx_of(TableColumns(pa.Table.from_pandas(frame, preserve_index=False))))
    assert ours == sheet_cells(per_cell_xlsx_bytes(frame))


def test_a_merge_over_a_sheet_is_refused_before_any_work() -> None:
    check_sheet_size(1_048_575, 16_384)
    check_sheet_size(1_048_575)
    with pytest.raises(ResultsError, match=r"1,048,576 rows .* at most 1,048,575 rows .* CSV"):
        check_sheet_size(1_048_576, 3)
    with pytest.raises(ResultsError, match=r"^The table has 1,048,576 rows; .* as CSV instead"):
        check_sheet_size(1_048_576)


def test_merge_results_takes_a_results_table_too() -> None:
    table = golden_table()
    files = [
        ResultFile([(GOLDEN / name).read_bytes()], batch_id, name)
        for name, batch_id in GOLDEN_FILES
    ]
    results = read_result_files(files, GOLDEN_RECIPE)
    frame = merge_results(read_input(GOLDEN / "input.csv"), GOLDEN_RECIPE, results)
    pd.testing.assert_frame_equal(frame, merged_frame(table, GOLDEN_RECIPE))
