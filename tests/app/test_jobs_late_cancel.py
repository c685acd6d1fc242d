"""A cancel confirmed after the job finished says that nothing was cancelled."""

from __future__ import annotations

from tests.app.conftest import joined
from tests.app.job_pages import Pages, pages
from ui import state

__all__ = ["pages"]


def test_a_cancel_that_arrives_after_the_job_finished_says_nothing_was_cancelled(
    pages: Pages,
) -> None:
    pages.running_job("Quick one")
    at = pages.open()
    at.button(key="cancel_job").click().run()
    assert "Cancel the job **Quick one**?" in joined(at, "markdown")

    # While the dialog is open, the batch finishes at the sandbox.
    pages.restart()
    pages.wait_for_sandbox(lambda batches: all(b.status == "completed" for b in batches))
    at.button(key="cancel_confirm").click().run()

    assert not at.exception
    assert at.session_state[state.JOBS_DIALOG] is None
    notice = joined(at, "success")
    assert "Quick one had already finished: nothing was cancelled" in notice
    assert "Asked to cancel" not in notice


def test_a_cancel_in_time_still_says_it_was_asked(pages: Pages) -> None:
    pages.running_job("Slow one")
    at = pages.open()
    at.button(key="cancel_job").click().run()
    at.button(key="cancel_confirm").click().run()

    assert "Asked to cancel the job Slow one" in joined(at, "success")
