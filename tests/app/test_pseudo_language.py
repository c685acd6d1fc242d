"""Every page and dialog in the pseudo-language: each text Batchdash says comes from a catalog.

In `qps-ploc` every translated text is drawn inside ⟦ ⟧. A visible word outside the marks that
is not the analyst's data (cells, column and file names, job names, ids, model names) nor a
product or format name was written into the page without passing through the catalog, and
would show in English to an analyst who reads Chinese.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.i18n import use_language
from tests.app.conftest import JOBS, RESULTS, SETTINGS
from tests.app.files import REVIEWS_CSV
from tests.app.job_pages import Pages, pages
from tests.app.shown_words import shown_texts
from tests.app.test_new_job_bad_inputs import upload
from tests.app.visible_text import unmarked_texts, unmarked_words
from tests.jobs_kit import RECIPE, reviews
from ui import state

__all__ = ["pages"]

PSEUDO = "qps-ploc"
#: The data the pages show: the uploaded table, its name, the jobs' names and rows.
DATA = [
    "reviews.csv",
    *REVIEWS_CSV.decode().replace("\n", ",").split(","),
    "Classify: {text}",
    "Nightly reviews",
    "Still running",
    *reviews(4)["review"],
    "review",
    RECIPE.model,
    "my-resource",  # the example Azure resource name
]


@pytest.fixture(autouse=True)
def _test_thread_in_pseudo() -> Iterator[None]:
    """AppTest calls a select box's format_func in the test's own thread to match its value
    with the labels the page drew: that thread must speak the page's language too."""
    with use_language(PSEUDO):
        yield


def pseudo(at: AppTest) -> AppTest:
    at.session_state[state.LANGUAGE] = PSEUDO
    return at


def assert_all_marked(at: AppTest, *data: str) -> None:
    assert not at.exception
    assert any("⟦" in text for text in shown_texts(at)), "the page was not drawn in qps-ploc"
    texts = unmarked_texts(at, [*DATA, *data])
    assert unmarked_words(texts, [*DATA, *data]) == [], texts


@pytest.mark.parametrize("mode", state.SOURCE_MODES)
def test_new_job_before_any_table(make_app, mode: str) -> None:  # type: ignore[no-untyped-def]
    at = pseudo(make_app())
    at.session_state[state.SOURCE_MODE] = mode
    at.run()
    assert_all_marked(at)


def test_new_job_from_upload_to_the_submit_dialog(make_app) -> None:  # type: ignore[no-untyped-def]
    at = pseudo(make_app())
    at.run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    assert_all_marked(at)
    at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    assert_all_marked(at)
    at.button(key="try_rows").click().run()
    assert_all_marked(at)
    at.button(key="submit_button").click().run()
    assert_all_marked(at, str(at.text_input(key=state.JOB_NAME).value))


def test_new_job_with_a_template_that_names_no_column(make_app) -> None:  # type: ignore[no-untyped-def]
    at = pseudo(make_app())
    at.run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    at.text_area(key=state.TEMPLATE).set_value("Classify: {missing}").run()
    assert_all_marked(at, "missing", "{missing}")


def test_settings(make_app) -> None:  # type: ignore[no-untyped-def]
    at = pseudo(make_app())
    at.run()
    at.switch_page(SETTINGS).run()
    assert_all_marked(at)


def test_jobs_and_results_without_a_job(make_app) -> None:  # type: ignore[no-untyped-def]
    at = pseudo(make_app())
    at.run()
    for page in (JOBS, RESULTS):
        at.switch_page(page).run()
        assert_all_marked(at)


def test_jobs_with_jobs_and_each_dialog(pages: Pages) -> None:
    finished = pages.finished_job("Nightly reviews", markers={1: "[[sandbox:error]]"})
    running = pages.running_job("Still running")
    at = pseudo(pages.at)
    pages.open()
    ids = [
        finished,
        running,
        *(b.id for j in (finished, running) for b in pages.service.status(j).batches),
    ]
    assert_all_marked(at, *ids)
    at.session_state[state.SELECTED_JOB] = running
    at.run()
    at.button(key="cancel_job").click().run()
    assert_all_marked(at, *ids)
    at.session_state[state.JOBS_DIALOG] = None
    at.session_state[state.SELECTED_JOB] = finished
    at.run()
    at.button(key="repair_rows").click().run()
    assert_all_marked(at, *ids)


def test_results_of_a_finished_job(pages: Pages) -> None:
    finished = pages.finished_job("Nightly reviews", markers={1: "[[sandbox:error]]"})
    at = pseudo(pages.at)
    pages.open(RESULTS)
    batch_ids = [b.id for b in pages.service.status(finished).batches]
    assert_all_marked(at, finished, *batch_ids)


def test_jobs_with_a_job_exported_for_vllm(pages: Pages) -> None:
    job_id = pages.service.create_exported_job("Nightly reviews", reviews(4), RECIPE)
    at = pseudo(pages.at)
    at.session_state[state.SELECTED_JOB] = job_id
    pages.open()
    assert_all_marked(at, job_id)


@pytest.mark.parametrize("preset", ["Azure OpenAI v1", "Custom compatible URL", "Ollama"])
def test_settings_with_each_kind_of_api(make_app, preset: str) -> None:  # type: ignore[no-untyped-def]
    at = pseudo(make_app())
    at.session_state[state.BASE_URL_PRESET] = preset
    at.run()
    at.switch_page(SETTINGS).run()
    assert_all_marked(at)
