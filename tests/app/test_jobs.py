"""The Jobs page: the table, its filters, one job's batches, and the refresh that stops by itself.

`run_every` never fires in AppTest: each `at.run()` is one refresh of the page.
"""

from __future__ import annotations

import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from batchdash.display.status_words import BATCH_MEANINGS
from batchdash.jobs import board
from batchdash.jobs.board import REFRESH_PACE
from tests.app.conftest import JOBS, MakeApp, joined, texts
from tests.app.job_pages import Pages, pages
from tests.jobs_kit import API_KEY, BASE_URL, run_to_end
from ui import state
from ui.text import plain

__all__ = ["pages"]


def table(at: AppTest, column: str = "progress") -> list[dict[str, object]]:
    """The rows of the table that has `column` (the jobs table by default), as records."""
    frames = [element.value for element in at.dataframe if column in element.value.columns]
    assert len(frames) == 1, f"{len(frames)} tables have a {column!r} column"
    return [
        {str(name): value for name, value in row.items()} for row in frames[0].to_dict("records")
    ]


def job_names(at: AppTest) -> list[str]:
    return [str(row["name"]) for row in table(at)]


def test_without_jobs_the_page_says_how_to_start_and_does_not_refresh(pages: Pages) -> None:
    at = pages.open()

    assert at.header[0].value == "Jobs"
    assert "No job yet: submit one from New job" in joined(at, "info")
    assert "Nothing is running, so the page does not refresh by itself." in joined(at, "caption")
    assert pages.box.log.total == 0


def test_the_table_lists_jobs_newest_first_with_status_progress_costs_and_time_left(
    pages: Pages,
) -> None:
    pages.finished_job("Reviews March")
    pages.finished_job("Reviews April", {1: "[[sandbox:error]]"})
    running = pages.running_job("Tickets", rows=6)

    at = pages.open()

    rows = table(at)
    assert [row["name"] for row in rows] == ["Tickets", "Reviews April", "Reviews March"]
    assert [row["status"] for row in rows] == ["Running", "Completed with errors", "Completed"]
    assert [row["answered"] for row in rows] == ["0 of 6", "4 of 4", "4 of 4"]
    assert [row["progress"] for row in rows] == [0, 100, 100]
    assert str(rows[0]["time_left"]).startswith("23 h")
    assert rows[1]["time_left"] == ""
    assert all(str(row["estimated_cost_usd"]).startswith("$0.0000") for row in rows)
    assert rows[0]["job_id"] == running
    assert f"Refreshing every {REFRESH_PACE[0][1]:g} s while batches run." in joined(at, "caption")


def test_filters_by_status_and_name_and_hides_archived_jobs(pages: Pages) -> None:
    first = pages.finished_job("Reviews March")
    pages.finished_job("Reviews April", {1: "[[sandbox:error]]"})
    pages.finished_job("Tickets")
    pages.service.archive(first)
    pages.box.log.reset()
    at = pages.open()
    assert job_names(at) == ["Tickets", "Reviews April"]
    assert at.pills(key=state.JOBS_STATUS_FILTER).options == ["Completed", "Completed with errors"]

    at.pills(key=state.JOBS_STATUS_FILTER).set_value(["Completed"]).run()
    assert job_names(at) == ["Tickets"]

    at.pills(key=state.JOBS_STATUS_FILTER).set_value([]).run()
    at.text_input(key=state.JOBS_SEARCH).set_value("reviews").run()
    assert job_names(at) == ["Reviews April"]

    at.toggle(key=state.JOBS_SHOW_ARCHIVED).set_value(True).run()
    assert job_names(at) == ["Reviews April", "Reviews March (archived)"]

    at.text_input(key=state.JOBS_SEARCH).set_value("nothing like it").run()
    assert joined(at, "info") == "No job matches the search."
    assert pages.box.log.total == 0  # nothing runs: no API call at all

    # The job looked for is archived: the page says how to see it.
    at.toggle(key=state.JOBS_SHOW_ARCHIVED).set_value(False).run()
    at.text_input(key=state.JOBS_SEARCH).set_value("march").run()
    assert joined(at, "info") == (
        "No job matches the search. 1 archived job matches: turn on Show archived to see it."
    )
    at.text_input(key=state.JOBS_SEARCH).set_value("").run()
    at.pills(key=state.JOBS_STATUS_FILTER).set_value(["Completed with errors"]).run()
    at.text_input(key=state.JOBS_SEARCH).set_value("tickets").run()
    assert joined(at, "info") == "No job matches the search and the status filter."


def test_each_refresh_asks_once_per_running_batch_and_stops_when_they_finish(
    pages: Pages,
) -> None:
    pages.finished_job("Done before")
    running = pages.running_job("Two parts", parts=2)
    pages.box.log.reset()

    at = pages.open()  # two runs of the page: the app's first run and the Jobs page
    assert pages.box.log.count("GET", "/v1/batches/") == 2
    assert pages.box.log.total == 2

    pages.box.log.reset()
    at.run()
    assert pages.box.log.total == 2  # one retrieve per running batch, none for the finished job

    pages.box.log.reset()
    at.text_input(key=state.JOBS_SEARCH).set_value("two").run()
    assert pages.box.log.total == 0  # a filter only redraws

    pages.restart()  # full speed: the batches finish
    run_to_end(pages.service, running)
    pages.box.log.reset()
    at.run()
    assert [row["status"] for row in table(at)] == ["Completed"]
    assert "Nothing is running, so the page does not refresh by itself." in joined(at, "caption")
    at.run()
    assert pages.box.log.total == 0


def test_sessions_of_one_server_share_a_refresh(
    pages: Pages, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two analysts of one scope on one server: the second page, drawn a moment after the
    first refreshed, shows the same fresh statuses without asking the API again."""
    monkeypatch.setattr(board, "SHARED_REFRESH_AGE", 60.0)  # "a moment" on a slow machine
    running = pages.running_job("Shared", parts=2)
    first = pages.open()
    second = make_app(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=BASE_URL)
    second.run()
    pages.box.log.reset()

    second.switch_page(JOBS).run()

    assert not second.exception
    assert pages.box.log.total == 0
    assert table(second) == table(first)
    assert [row["status"] for row in table(second)] == ["Running"]
    assert pages.service.status(running).state == "active"
    monkeypatch.setattr(board, "SHARED_REFRESH_AGE", 0.0)
    second.run()
    assert pages.box.log.total == 2  # once the shared refresh is old, one call per batch


def test_the_page_fetches_results_of_batches_that_finished_since_with_a_progress_bar(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = pages.running_job("Watched")
    at = pages.open()
    assert [row["status"] for row in table(at)] == ["Running"]
    bars: list[str] = []
    original = DeltaGenerator.progress

    def progress(self: DeltaGenerator, value: float, text: str | None = None) -> DeltaGenerator:
        bars.append(f"{value:.2f} {text}")
        return original(self, value, text=text)

    monkeypatch.setattr(DeltaGenerator, "progress", progress)

    pages.restart()
    pages.wait_for_sandbox(lambda batches: all(info.terminal for info in batches))
    at.run()  # the page asks about the batch, sees it finished, and fetches its results
    assert [row["status"] for row in table(at)] == ["Completed"]
    batch = pages.service.status(running).batches[0]
    assert pages.registry.has_results(batch.id)
    output_file = pages.box.batches()[0].output_file_id
    size = f"{len(pages.service.raw_results(running)[0]) / 1e3:,.0f} kB"
    fetching = [bar.replace("\\", "") for bar in bars if "Fetching results file" in bar]
    assert fetching[-1] == f"1.00 Fetching results file {output_file}: {size} of {size}"
    assert not at.progress or all("Fetching" not in str(bar.text) for bar in at.progress)


def test_job_names_are_shown_as_typed_never_as_markup(pages: Pages) -> None:
    name = "**Loud** <b>bold</b> :red[alert] [link](http://x.test) `code`"
    pages.finished_job(name)
    at = pages.open()

    assert f"**{plain(name)}** · Completed" in texts(at, "markdown")
    assert table(at)[0]["name"] == name  # the table holds the text itself


def test_an_opened_job_lists_its_batches_with_what_their_status_means(pages: Pages) -> None:
    pages.finished_job("Older")
    running = pages.running_job("Split", parts=2)
    at = pages.open()

    assert at.selectbox(key=state.JOBS_PICKER).value == running
    batches = table(at, "meaning")
    assert [row["part"] for row in batches] == [1, 2]
    assert {row["status"] for row in batches} <= {"Checking the file", "Running"}
    assert all(row["meaning"] in BATCH_MEANINGS.values() for row in batches)
    assert all(str(row["expires_in"]).startswith("23 h") for row in batches)
    shown_status = str(batches[0]["status"])
    meaning = str(batches[0]["meaning"])
    assert f"**{shown_status}**: {meaning}" in joined(at, "caption")  # under the table
    assert "**Split** · " in joined(at, "markdown")

    at.selectbox(key=state.JOBS_PICKER).set_value(pages.service.list_jobs()[1].job_id).run()
    assert "**Older** · Completed" in joined(at, "markdown")
    assert at.session_state[state.SELECTED_JOB] == pages.service.list_jobs()[1].job_id


def test_the_job_submitted_last_is_opened(pages: Pages) -> None:
    first = pages.finished_job("First")
    pages.finished_job("Second")
    pages.at.session_state[state.SELECTED_JOB] = first

    at = pages.open()

    assert at.selectbox(key=state.JOBS_PICKER).value == first
    assert "**First** · Completed" in joined(at, "markdown")


def test_status_help_explains_validating_finalizing_the_24_hours_and_30_days(
    pages: Pages,
) -> None:
    at = pages.open()
    text = joined(at, "markdown") + str(at.table[0].value.to_dict())

    assert "checking the uploaded file" in text
    assert "writing the results files" in text
    assert "each has up to 24 hours" in text
    assert "30 days" in text and "keeps its own copy" in text
