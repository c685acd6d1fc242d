"""The deadline guard on the Jobs page: a batch job whose batch nears its expiry with rows
unanswered offers to finish them directly, shows the cost at the normal price first, and the
merged table then holds the direct answers."""

from __future__ import annotations

from tests.app.conftest import joined, rerun_until
from tests.app.job_pages import Pages, pages
from tests.app.test_jobs_direct import metrics, wait_for_run
from tests.jobs_kit import RECIPE, reviews, run_to_end
from ui import state
from ui.job_actions import Dialog

__all__ = ["pages"]


def test_a_batch_far_from_its_expiry_offers_nothing(pages: Pages) -> None:
    pages.running_job("Young batch", rows=4)

    at = pages.open()

    assert "finish_directly" not in [button.key for button in at.button]
    assert "has no answer yet" not in joined(at, "warning")


def test_a_batch_near_its_expiry_is_finished_directly_with_the_cost_shown_first(
    pages: Pages,
) -> None:
    # A one-hour window: the batch expires within the guard's two hours from the start.
    pages.restart(rate=0.001, completion_window_seconds=3600)
    service = pages.service
    job_id = service.create_job("Nearly expired", reviews(4), RECIPE)
    service.submit(job_id)
    batch = service.status(job_id).batches[0].id

    at = pages.open()

    warning = joined(at, "warning")
    assert "The batch expires in 59 min, and 4 rows have no answer yet." in warning or (
        "The batch expires in 1 h 00 min, and 4 rows have no answer yet." in warning
    )
    at.button(key="finish_directly").click().run()

    assert at.session_state[state.JOBS_DIALOG] == Dialog("finish", job_id)
    text = joined(at, "markdown")
    assert "its running batch is cancelled, and every row without an answer is sent now" in text
    shown = metrics(at)
    assert shown["Rows"] == "4"
    assert shown["Estimated cost"].endswith("+ answers")
    assert at.button(key="finish_confirm").label == "Send 4 rows directly"

    at.button(key="finish_confirm").click().run()

    assert not at.exception
    assert "Sending the 4 rows of Nearly expired without an answer directly." in joined(
        at, "success"
    )
    wait_for_run(job_id)
    assert {info.id: info.status for info in pages.box.batches()}[batch] in (
        "cancelling",
        "cancelled",
    )
    rerun_until(at, lambda: pages.service.status(job_id).state == "finished")
    merged = pages.service.merged_table(job_id)
    assert list(merged["status"]) == ["ok"] * 4
    assert set(merged["batch_id"]) == {"direct"}
    assert "4 rows sent as 1 batch, the rest directly" in joined(at, "caption")
    assert "finish_directly" not in [button.key for button in at.button]


def test_an_expired_batch_offers_to_finish_its_expired_rows_directly(pages: Pages) -> None:
    pages.restart(rate=0.001, completion_window_seconds=1)
    service = pages.service
    job_id = service.create_job("Expired", reviews(3), RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)
    assert service.status(job_id).counts["expired"] == 3

    at = pages.open()

    assert "The batch expired, and 3 rows have no answer." in joined(at, "warning")
    at.button(key="finish_directly").click().run()
    at.button(key="finish_confirm").click().run()
    wait_for_run(job_id)
    rerun_until(at, lambda: pages.service.status(job_id).state == "finished")
    assert list(pages.service.merged_table(job_id)["status"]) == ["ok"] * 3
