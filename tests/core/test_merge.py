import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from batchdash.errors import InputError, ResultsError
from batchdash.preflight.pricing import ModelPrice
from batchdash.recipe import LINEAGE_COLUMNS, OutputField, Recipe
from batchdash.results.export import to_csv_bytes, to_xlsx_bytes
from batchdash.results.merge import merge_results, unmatched_custom_ids
from batchdash.results.parse import RowResult, parse_result_lines
from tests.result_lines import chat_line, http_error_line, jsonl, not_run_line
from tests.xlsx_per_cell import per_cell_xlsx_bytes, sheet_cells

GOLDEN = Path(__file__).parents[1] / "data" / "golden" / "merge"

GOLDEN_RECIPE = Recipe(
    endpoint="/v1/chat/completions",
    model="gpt-4o-mini",
    template="Classify this message: {message}",
    id_column="ticket",
    output_fields=(
        OutputField("sentiment", "one of", ("positive", "neutral", "negative")),
        OutputField("score", "integer"),
        OutputField("refund", "yes/no"),
    ),
)

# Batch a ran everything and expired; batch b is the repair of rows 014 and 018, cancelled
# after 018 answered. Files are given output and errors of a, then of b.
GOLDEN_FILES = (
    ("batch_a_output.jsonl", "batch_a"),
    ("batch_a_errors.jsonl", "batch_a"),
    ("batch_b_output.jsonl", "batch_b"),
    ("batch_b_errors.jsonl", "batch_b"),
)


def read_input(path: Path) -> pd.DataFrame:
    """The input as the app reads it: every cell text, empty cells ""."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def golden_merge() -> pd.DataFrame:
    results: list[RowResult] = []
    for name, batch_id in GOLDEN_FILES:
        data = (GOLDEN / name).read_bytes()
        results += parse_result_lines(
            data, recipe=GOLDEN_RECIPE, batch_id=batch_id, source_name=name
        )
    return merge_results(read_input(GOLDEN / "input.csv"), GOLDEN_RECIPE, results)


def test_golden_merged_csv() -> None:
    assert to_csv_bytes(golden_merge()) == (GOLDEN / "expected.csv").read_bytes()


def test_golden_merged_xlsx_reads_back() -> None:
    merged = golden_merge()
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(merged)))
    sheet = book["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(merged.columns)
    assert len(rows) == len(merged) + 1
    assert sheet.freeze_panes == "A2"
    header = {name: n for n, name in enumerate(rows[0])}
    first, second, third = rows[1], rows[2], rows[3]
    assert first[header["ticket"]] == "007"  # leading zeros kept
    assert first[header["customer"]] == "Zoë"
    assert second[header["message"]] == '=HYPERLINK("http://example.com","click")'
    assert sheet.cell(3, header["message"] + 1).data_type == "s"  # text, not a formula
    assert third[header["score"]] == -3
    assert first[header["input_tokens"]] == 52
    assert first[header["cost_usd"]] == pytest.approx((52 * 0.15 + 18 * 0.60) / 2 / 1e6)
    statuses = [row[header["status"]] for row in rows[1:]]
    assert statuses == merged["status"].tolist()
    not_run = rows[9]
    assert (not_run[header["status"]], not_run[header["response"]]) == ("not_run", None)


def test_golden_merged_xlsx_has_the_cells_of_the_per_cell_export() -> None:
    merged = golden_merge()
    ours = sheet_cells(to_xlsx_bytes(merged))
    assert ours == sheet_cells(per_cell_xlsx_bytes(merged))
    assert ours["dimensions"] == "A1:P14"
    assert ours["bold"] == [True] * 16
    types = {name: {row[n][1] for row in ours["cells"][1:]} for n, name in enumerate(merged)}
    assert types["ticket"] == types["message"] == {"s"}
    assert types["input_tokens"] == {"n"}


def test_columns_follow_contract_six() -> None:
    merged = golden_merge()
    assert list(merged.columns) == [
        "ticket",
        "customer",
        "message",
        "response",
        "sentiment",
        "score",
        "refund",
        *LINEAGE_COLUMNS,
    ]
    assert merged["ticket"].tolist() == [f"{n:03d}" for n in range(7, 20)]  # input order
    assert str(merged["input_tokens"].dtype) == "int64"
    assert str(merged["score"].dtype) == "Int64"
    assert str(merged["cost_usd"].dtype) == "Float64"


def results(*lines: bytes, recipe: Recipe | None = None, **options: str) -> list[RowResult]:
    return parse_result_lines(jsonl(*lines), recipe=recipe or Recipe(), **options)


def prompts(count: int) -> pd.DataFrame:
    return pd.DataFrame({"prompt": [f"p{n}" for n in range(1, count + 1)]}, dtype=str)


def test_rows_keep_input_order_with_default_ids() -> None:
    given = results(chat_line("row-3", "c"), chat_line("row-1", "a"))
    merged = merge_results(prompts(3), Recipe(), given)
    assert merged["response"].tolist() == ["a", "", "c"]
    assert merged["status"].tolist() == ["ok", "not_run", "ok"]
    assert merged["custom_id"].tolist() == ["row-1", "row-2", "row-3"]


def test_an_ok_result_wins_else_the_last() -> None:
    first = results(chat_line("row-1", "yes"), http_error_line("row-2", 500, "Boom.", None))
    later = results(
        http_error_line("row-1", 500, "Late failure.", None),
        not_run_line("row-2"),
        not_run_line("row-3", "batch_cancelled", "Cancelled."),
    )
    last = results(not_run_line("row-3"))
    merged = merge_results(prompts(3), Recipe(), first + later + last)
    assert merged["status"].tolist() == ["ok", "expired", "expired"]
    assert merged["response"].tolist() == ["yes", "", ""]


def test_file_of_another_job_is_refused() -> None:
    mine = results(chat_line("row-1", "a"), source_name="mine.jsonl")
    theirs = results(chat_line("q-1", "x"), chat_line("q-2", "y"), source_name="theirs.jsonl")
    with pytest.raises(ResultsError, match=r"None of the results in theirs\.jsonl match .*'q-1'"):
        merge_results(prompts(2), Recipe(), mine + theirs)


def test_a_few_unknown_ids_are_ignored_and_reported() -> None:
    given = results(chat_line("row-1", "a"), chat_line("row-9", "stray"))
    merged = merge_results(prompts(2), Recipe(), given)
    assert merged["response"].tolist() == ["a", ""]
    assert unmatched_custom_ids(merged["custom_id"], given) == ["row-9"]


def test_no_results_means_not_run() -> None:
    merged = merge_results(prompts(2), Recipe(), [])
    assert merged["status"].tolist() == ["not_run", "not_run"]
    assert merged["cost_usd"].tolist() == [0.0, 0.0]
    assert merged["model"].tolist() == ["", ""]


def test_cost_uses_overrides_and_is_empty_when_price_unknown() -> None:
    line = chat_line("row-1", "a", prompt_tokens=1000, completion_tokens=500, model="my-deploy")
    custom = Recipe(model="my-deploy")
    unknown = merge_results(prompts(1), custom, results(line, recipe=custom))
    assert unknown["cost_usd"].isna().tolist() == [True]
    overrides = {"my-deploy": ModelPrice(2.0, 8.0)}
    priced = merge_results(
        prompts(1), custom, results(line, recipe=custom), price_overrides=overrides
    )
    assert priced["cost_usd"].tolist() == [pytest.approx((1000 * 2.0 + 500 * 8.0) / 2 / 1e6)]


def test_the_row_model_prices_when_the_recipe_model_is_unknown() -> None:
    recipe = Recipe(model="azure-deployment-name")
    line = chat_line(
        "row-1", "a", prompt_tokens=1_000_000, completion_tokens=0, model="gpt-4o-mini"
    )
    merged = merge_results(prompts(1), recipe, results(line, recipe=recipe))
    assert merged["cost_usd"].tolist() == [pytest.approx(0.075)]


def test_colliding_names_are_renamed_not_lost() -> None:
    recipe = Recipe(output_fields=(OutputField("status", "text"),))
    frame = pd.DataFrame({"model": ["X-1"], "status": ["new"]}, dtype=str)
    given = results(chat_line("row-1", '{"status": "shipped"}'), recipe=recipe)
    merged = merge_results(frame, recipe, given)
    assert list(merged.columns[:4]) == [
        "model (input)",
        "status (input)",
        "response",
        "status (answer)",
    ]
    assert merged.loc[0, ["model (input)", "status (answer)", "status"]].tolist() == [
        "X-1",
        "shipped",
        "ok",
    ]


def test_fields_are_ignored_for_endpoints_without_structured_output() -> None:
    recipe = Recipe(endpoint="/v1/completions", output_fields=(OutputField("x"),))
    assert "x" not in merge_results(prompts(1), recipe, []).columns


def test_bad_id_column_is_an_input_error() -> None:
    with pytest.raises(InputError, match="'ticket' is not in the table"):
        merge_results(prompts(1), Recipe(id_column="ticket"), [])


def test_index_of_the_input_does_not_matter() -> None:
    frame = prompts(2).set_axis([10, 20])
    merged = merge_results(frame, Recipe(), results(chat_line("row-2", "b")))
    assert merged.index.tolist() == [0, 1]
    assert merged["prompt"].tolist() == ["p1", "p2"]
    assert merged["response"].tolist() == ["", "b"]


def test_a_lone_surrogate_in_an_answer_becomes_a_replacement_character() -> None:
    """JSON can escape half a surrogate pair; UTF-8, Arrow and pandas cannot hold one, so one
    such answer used to stop the merge and every download with a traceback."""
    recipe = Recipe(output_fields=(OutputField("label", "text"),))
    # "@1" becomes an escape the answer's own JSON holds, "@2" one the line's JSON holds.
    lines = [
        chat_line("row-1", json.dumps({"label": "half @1 pair"})),
        chat_line("row-2", "plain @2 text"),
        chat_line("row-3", json.dumps({"label": "whole \U0001f600 pair"})),
        http_error_line("row-4", 500, "Bad @3 gateway.", None),
    ]
    escaped = [
        line.replace(b"@1", b"\\\\ud800").replace(b"@2", b"\\udfff").replace(b"@3", b"\\ud83d")
        for line in lines
    ]
    given = results(*escaped, recipe=recipe)
    merged = merge_results(prompts(4), recipe, given)

    assert merged["label"].tolist()[:3] == ["half \ufffd pair", "", "whole \U0001f600 pair"]
    assert merged["response"].iat[1] == "plain \ufffd text"
    assert merged["error"].iat[3].startswith("Bad \ufffd gateway")
    assert "half \ufffd pair" in to_csv_bytes(merged).decode("utf-8-sig")
    cells = sheet_cells(to_xlsx_bytes(merged))["cells"]
    assert ("plain \ufffd text", "s") in [cell for row in cells for cell in row]
