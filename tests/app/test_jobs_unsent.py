"""The Jobs page and what a submission did not send: said in words, sent with one click, or
discarded after a confirmation (dismissed once first); a submission under way is left alone."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from batchdash.jobs import token_queue
from batchdash.registry.holders import this_run
from tests.app.conftest import joined
from tests.app.job_pages import SCOPE, Pages, pages
from tests.app.test_jobs import table
from tests.app.test_jobs_actions import dialog_text
from tests.jobs_kit import RECIPE, reviews
from ui import state
from ui.job_actions import Dialog

__all__ = ["pages"]


def pick(at: AppTest, job_id: str) -> None:
    at.selectbox(key=state.JOBS_PICKER).set_value(job_id).run()


def test_a_job_never_sent_is_sent_with_one_click(pages: Pages) -> None:
    pages.restart(rate=0.001)
    job_id = pages.service.create_job("Never sent", reviews(3), RECIPE)
    at = pages.open()
    assert [row["status"] for row in table(at)] == ["Not sent"]
    assert "Nothing of this job was sent yet (1 of 1 part)" in joined(at, "warning")
    assert "cli.py" not in joined(at, "warning")  # the page offers buttons, not commands
    assert pages.box.log.count("POST", "/v1/batches") == 0  # a refresh sends nothing by itself

    at.button(key="send_unsent").click().run()

    assert not at.exception
    [batch] = pages.service.status(job_id).batches
    assert f"Sent Never sent: its batches are {batch.id}." in joined(at, "success")
    assert [row["status"] for row in table(at)] != ["Not sent"]
    assert "Nothing of this job was sent yet" not in joined(at, "warning")
    assert pages.box.log.count("POST", "/v1/batches") == 1


def test_discarding_is_confirmed_and_can_be_thought_better_of(pages: Pages) -> None:
    pages.restart(rate=0.001)
    kept = pages.service.create_job("Kept", reviews(2), RECIPE)
    dropped = pages.service.create_job("Dropped", reviews(3), RECIPE)
    at = pages.open()
    pick(at, dropped)

    at.button(key="discard_unsent").click().run()
    assert at.session_state[state.JOBS_DIALOG] == Dialog("discard", dropped)
    assert "Discard **Dropped**? Nothing of it was sent" in dialog_text(at)
    at.session_state[state.JOBS_DIALOG] = None  # what "Keep it as it is" and × do
    at.run()
    assert {row["name"] for row in table(at, "name")} == {"Kept", "Dropped"}

    at.button(key="discard_unsent").click().run()
    at.button(key="discard_confirm").click().run()

    assert not at.exception
    assert "Discarded 1 part of Dropped; nothing of them was sent." in joined(at, "success")
    assert [row["name"] for row in table(at, "name")] == ["Kept"]
    status = pages.service.status(dropped)
    assert status.archived and status.state == "finished" and status.batches == ()
    assert status.discarded
    at.toggle(key=state.JOBS_SHOW_ARCHIVED).set_value(True).run()
    words = {row["name"]: row["status"] for row in table(at, "name")}
    assert words == {"Kept": "Not sent", "Dropped (archived)": "Discarded"}
    assert pages.service.status(kept).never_started
    assert pages.box.log.count("POST", "/v1/batches") == 0


def test_a_submission_under_way_is_shown_and_not_sent_twice(pages: Pages) -> None:
    pages.restart(rate=0.001)
    job_id = pages.service.create_job("Sending", reviews(2), RECIPE)
    pages.registry.set_job_state(job_id, "active")
    pages.registry.start_sending(job_id, this_run().text())  # a live submitter elsewhere
    at = pages.open()

    assert "1 of 1 part not sent yet: sending now." in joined(at, "info")
    assert at.button(key="send_unsent").disabled
    at.run()
    assert pages.box.log.count("POST", "/v1/batches") == 0


def test_a_job_whose_later_parts_wait_under_the_token_limit_says_how_many_are_sent(
    pages: Pages,
) -> None:
    pages.restart(rate=0.001)
    token_queue.save_token_limits(pages.registry, SCOPE, {RECIPE.model: 300})
    job_id = pages.service.create_job("Queued", reviews(30), RECIPE)
    assert len(pages.service.submit(job_id)) == 1  # parts 2 and 3 wait for room

    at = pages.open()

    assert "30 rows as 3 batches, 1 sent so far" in joined(at, "caption")
    assert "rows sent as" not in joined(at, "caption")
    # The progress line counts every row, the waiting parts' too, as the bar beside it does.
    progress = [element.proto.text for element in at.get("progress")]
    assert progress == ["0 of 30 requests finished"], progress
    assert "Part 2 waits for" in joined(at, "info")
