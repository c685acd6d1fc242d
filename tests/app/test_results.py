"""The Results page: figures, the breakdown, the filtered table, the partial table of a running
job, each download's bytes (from the core function that builds them), and the merge cache."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from batchdash.display.results_page import download_bytes
from batchdash.jobs.service import JobService
from batchdash.results.export import to_csv_bytes
from tests.app.conftest import RESULTS, joined
from tests.app.job_pages import Pages, pages
from tests.jobs_kit import RECIPE, reviews, run_to_end
from ui import state

__all__ = ["pages"]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def shown_table(at: AppTest) -> pd.DataFrame:
    frames = [element.value for element in at.dataframe if "custom_id" in element.value.columns]
    assert len(frames) == 1
    return frames[0]


def test_without_jobs_the_page_points_to_new_job(pages: Pages) -> None:
    at = pages.open(RESULTS)

    assert "No job yet: submit one from New job" in joined(at, "info")
    assert at.page_link[0].value == "New job"


def test_a_finished_job_shows_its_figures_breakdown_and_rows(pages: Pages) -> None:
    job_id = pages.finished_job("Reviews", {1: "[[sandbox:error]]"}, rows=5)
    at = pages.open(RESULTS)

    status = pages.service.status(job_id)
    merged = pages.service.merged_table(job_id)
    shown = metrics(at)
    assert {key: shown[f"Rows {key}"] for key in ("ok", "error", "expired", "cancelled")} == {
        "ok": "4",
        "error": "1",
        "expired": "0",
        "cancelled": "0",
    }
    assert shown["Rows not run"] == "0"
    assert "Rows still running" not in shown
    assert shown["Input tokens"] == f"{int(merged['input_tokens'].sum()):,}"
    assert shown["Output tokens"] == f"{int(merged['output_tokens'].sum()):,}"
    assert shown["Estimated cost"].startswith("$0.0000")  # no try: the input + answers
    assert shown["Estimated cost"].endswith(" + answers")
    assert shown["Actual cost"].startswith("$0.0000")
    assert status.actual_cost_usd is not None and status.actual_cost_usd > 0

    chart = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert chart, "the status breakdown chart is drawn"
    assert "4 rows ok, 1 rows error, 0 rows expired" in chart[0].proto.alt

    table = shown_table(at)
    assert table.index.tolist() == [1, 2, 3, 4, 5]  # row numbers as in the input
    assert table["review"].tolist() == reviews(5, {1: "[[sandbox:error]]"})["review"].tolist()
    assert table["status"].tolist() == ["ok", "error", "ok", "ok", "ok"]
    assert "30 days" in joined(at, "caption")


def test_the_status_filter_shows_only_the_picked_rows(pages: Pages) -> None:
    pages.finished_job("Reviews", {1: "[[sandbox:error]]", 3: "[[sandbox:error]]"})
    at = pages.open(RESULTS)
    assert at.pills(key=state.RESULTS_STATUS_FILTER).options == ["ok", "error"]

    at.pills(key=state.RESULTS_STATUS_FILTER).set_value(["error"]).run()

    table = shown_table(at)
    assert table.index.tolist() == [2, 4]
    assert set(table["status"]) == {"error"}
    assert table["error"].str.len().gt(0).all()


def test_each_download_gives_the_bytes_the_core_builds(pages: Pages) -> None:
    job_id = pages.finished_job("Reviews: March/April", {2: "[[sandbox:error]]"})
    at = pages.open(RESULTS)
    service = pages.service
    merged = service.merged_table(job_id)

    buttons = {str(button.key): button for button in at.download_button}
    assert sorted(buttons) == [
        "download_csv",
        "download_csv_programs",
        "download_errors",
        "download_manifest",
        "download_output",
        "download_xlsx",
    ]
    assert not any(button.disabled for button in buttons.values())
    stem = "Reviews-March-April"
    csv = pages.download(f"{stem}-results.csv")
    assert csv == download_bytes(service, job_id, "csv") == to_csv_bytes(merged)
    read = pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert read["review"].tolist() == reviews(4, {2: "[[sandbox:error]]"})["review"].tolist()
    assert read["status"].tolist() == ["ok", "ok", "error", "ok"]

    programs = pages.download(f"{stem}-results-for-programs.csv")
    assert programs == download_bytes(service, job_id, "csv_programs")
    assert programs == to_csv_bytes(merged, for_spreadsheets=False)
    assert not programs.startswith(b"\xef\xbb\xbf")

    xlsx = pages.download(f"{stem}-results.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(merged.columns)
    assert [row[list(merged.columns).index("status")] for row in rows[1:]] == read[
        "status"
    ].tolist()

    output, errors = service.raw_results(job_id)
    assert pages.download(f"{stem}-output.jsonl") == output
    assert pages.download(f"{stem}-errors.jsonl") == errors
    assert {json.loads(line)["custom_id"] for line in (output + errors).splitlines()} == {
        "row-1",
        "row-2",
        "row-3",
        "row-4",
    }
    manifest = json.loads(pages.download(f"{stem}-manifest.json"))
    assert manifest == json.loads(download_bytes(service, job_id, "manifest"))
    assert manifest["name"] == "Reviews: March/April"
    assert manifest["parts"][0]["batch_id"] == service.status(job_id).batches[0].id


def test_a_running_job_offers_the_partial_table(pages: Pages) -> None:
    job_id = pages.finished_job("Flaky", {0: "[[sandbox:flaky]]"})
    pages.restart(rate=0.001)
    pages.service.repair(job_id, ["error"])  # the repair batch keeps running
    at = pages.open(RESULTS)

    assert "This job is still running" in joined(at, "info")
    shown = metrics(at)
    assert shown["Rows ok"] == "3"
    assert shown["Rows still running"] == "1"
    table = shown_table(at)
    assert table["status"].tolist() == ["error", "ok", "ok", "ok"]  # the first try, until then
    csv = pages.download("Flaky-results.csv")
    assert csv == to_csv_bytes(pages.service.merged_table(job_id))

    pages.restart()
    pages.wait_for_sandbox(lambda batches: all(info.terminal for info in batches))
    at.button(key="results_refresh").click().run()

    assert "This job is still running" not in joined(at, "info")
    assert shown_table(at)["status"].tolist() == ["ok"] * 4
    assert metrics(at)["Rows ok"] == "4"


def test_a_job_with_nothing_fetched_yet_disables_the_raw_files(pages: Pages) -> None:
    pages.running_job("Waiting")
    at = pages.open(RESULTS)

    disabled = {button.key: button.disabled for button in at.download_button}
    assert disabled == {
        "download_csv": False,
        "download_xlsx": False,
        "download_csv_programs": False,
        "download_output": True,
        "download_errors": True,
        "download_manifest": False,
    }
    assert set(shown_table(at)["status"]) == {"not_run"}
    assert metrics(at)["Rows still running"] == "4"


def test_reruns_do_not_merge_again_until_new_results_arrive(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = pages.finished_job("Flaky", {0: "[[sandbox:flaky]]"})
    merges: list[str] = []
    original = JobService.merged_table

    def counted(service: JobService, wanted: str) -> pd.DataFrame:
        merges.append(wanted)
        return original(service, wanted)

    monkeypatch.setattr(JobService, "merged_table", counted)
    at = pages.open(RESULTS)
    at.run()
    at.pills(key=state.RESULTS_STATUS_FILTER).set_value(["error"]).run()
    assert merges == [job_id]

    pages.service.repair(job_id, ["error"])
    run_to_end(pages.service, job_id)
    merges.clear()
    at.run()
    assert merges == [job_id]  # a batch was fetched since: merged once more
    assert shown_table(at)["status"].tolist() == ["ok"] * 4  # no error row is left to pick


def formula_job(pages: Pages, texts: list[str]) -> str:
    service = pages.service
    job_id = service.create_job("Tweets", pd.DataFrame({"review": texts}, dtype=str), RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)
    return job_id


def test_the_page_says_how_many_cells_the_csv_changes_and_where_the_text_is_kept(
    pages: Pages,
) -> None:
    formula_job(pages, ["@united late again", "=1+1", "Fine flight", "@united thanks"])
    at = pages.open(RESULTS)

    note = joined(at, "caption")
    assert "In the Merged CSV, 3 cells (in the column review) start like a formula" in note
    assert "The Merged XLSX keeps every text exactly as it was" in note
    assert "CSV for programs" in note
    help_texts = {str(button.key): button.help for button in at.download_button}
    assert "byte-order mark" in help_texts["download_csv_programs"]
    assert "not for a spreadsheet" in help_texts["download_csv_programs"]


def test_a_table_without_formulas_says_the_csv_keeps_every_text(pages: Pages) -> None:
    formula_job(pages, ["Late again", "Fine flight"])
    at = pages.open(RESULTS)

    assert "the Merged CSV holds every text as it was" in joined(at, "caption")


def shown_order(at: AppTest) -> list[str]:
    tables = [table for table in at.dataframe if "custom_id" in table.value.columns]
    return list(tables[0].proto.column_order)


def test_the_answer_comes_first_and_technical_columns_wait_for_the_toggle(
    pages: Pages,
) -> None:
    service = pages.service
    frame = pd.DataFrame(
        {
            "id": [f"{n:03d}" for n in range(1, 5)],
            "review": reviews(4, {2: "[[sandbox:error]]"})["review"],
            "stars": ["4", "5", "1", "3"],
        },
        dtype=str,
    )
    job_id = service.create_job("Ordered", frame, RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)
    at = pages.open(RESULTS)

    assert shown_order(at) == ["id", "response", "status", "error", "review", "stars"]
    assert list(shown_table(at).columns) == list(service.merged_table(job_id).columns)

    at.toggle(key=state.RESULTS_TECHNICAL).set_value(True).run()
    # Right after the outcome, in view; the inputs' other columns after them.
    assert shown_order(at)[4:] == [
        "custom_id",
        "finish_reason",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "batch_id",
        "model",
        "review",
        "stars",
    ]
    at.toggle(key=state.RESULTS_TECHNICAL).set_value(False).run()
    assert "custom_id" not in shown_order(at)


def test_without_failed_rows_the_error_column_stays_out_of_the_way(pages: Pages) -> None:
    pages.finished_job("All fine")
    at = pages.open(RESULTS)

    assert shown_order(at) == ["response", "status", "review"]
