"""Terms of the Batch API in an analyst's words on the page, with the term itself in the help."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import JOBS, SETTINGS, joined
from tests.app.job_pages import Pages, pages
from ui import state
from ui.remote_batches import VIEW_REMOTE

__all__ = ["pages"]


def test_settings_says_queue_limit_and_keeps_the_term_in_the_help(app: AppTest) -> None:
    app.switch_page(SETTINGS).run()

    headings = [element.value for element in app.subheader]
    assert "How much may wait in the queue" in headings
    assert not any("Enqueued" in heading for heading in headings)
    [queue] = [element for element in app.subheader if element.value.startswith("How much")]
    assert "enqueued-token limit" in queue.proto.help
    assert "input tokens waiting in batches for one model" in joined(app, "caption")


def test_the_batch_list_view_is_named_in_words_and_its_statuses_too(pages: Pages) -> None:
    pages.finished_job("Listed")
    at = pages.open()
    assert "Every batch of this key" not in at.segmented_control(key=state.JOBS_VIEW).options

    at.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()

    assert VIEW_REMOTE == "All batches, also made elsewhere"
    assert "every batch your API key can see (the key's batch list)" in joined(at, "caption")
    picker = at.selectbox(key=state.REMOTE_PICKER)
    assert picker.options[0].endswith(" · Completed · Listed")


def test_in_sandbox_mode_the_batch_list_is_the_sandboxs(app: AppTest) -> None:
    app.switch_page(JOBS).run()
    app.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()
    assert not app.exception
    caption = joined(app, "caption")
    assert "every batch the sandbox holds" in caption
    assert "API key" not in caption  # there is none
