"""The Jobs page's actions, each through its dialog: cancel a job or one batch, repair, archive,
attach; and the view of every batch of the key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from tests.app.conftest import joined
from tests.app.job_pages import Pages, pages
from tests.app.test_jobs import job_names, table
from tests.jobs_kit import RECIPE, reviews, run_to_end
from ui import state
from ui.job_actions import Dialog
from ui.remote_batches import VIEW_REMOTE

__all__ = ["pages"]


def dialog_text(at: AppTest) -> str:
    """Every Markdown and caption line drawn (the open dialog's among them)."""
    return joined(at, "markdown") + "\n" + joined(at, "caption")


def statuses_at_sandbox(pages: Pages, service: JobService, job_id: str) -> list[str]:
    ids = {batch.id for batch in service.status(job_id).batches}
    return [info.status for info in pages.box.batches() if info.id in ids]


def test_cancelling_a_job_says_what_is_lost_and_kept_then_cancels_every_batch(
    pages: Pages,
) -> None:
    job_id = pages.running_job("Long run", rows=6, parts=2)
    at = pages.open()

    at.button(key="cancel_job").click().run()

    assert at.session_state[state.JOBS_DIALOG] == Dialog("cancel", job_id)
    text = dialog_text(at)
    assert "Cancel the job **Long run**?" in text
    assert "**Lost:** 6 requests that have not run yet will not run." in text
    assert "**Kept:** the 0 answers already made" in text
    assert "Counted at the page's last refresh: the batches answer on" in text
    assert "Refreshing is paused while a dialog is open." in text
    assert statuses_at_sandbox(pages, pages.service, job_id) in (
        ["validating", "validating"],
        ["in_progress", "in_progress"],
        ["validating", "in_progress"],
        ["in_progress", "validating"],
    )

    at.button(key="cancel_confirm").click().run()

    assert not at.exception
    assert at.session_state[state.JOBS_DIALOG] is None
    assert "Asked to cancel the job Long run" in joined(at, "success")
    assert set(statuses_at_sandbox(pages, pages.service, job_id)) <= {"cancelling", "cancelled"}


def test_cancelling_one_batch_leaves_the_other_running(pages: Pages) -> None:
    job_id = pages.running_job("Two parts", parts=2)
    first, second = (batch.id for batch in pages.service.status(job_id).batches)
    at = pages.open()
    menu = at.menu_button(key="cancel_batch_menu")
    assert menu.options == [f"Batch {first} (part 1)", f"Batch {second} (part 2)"]

    menu.set_value(f"Batch {second} (part 2)").run()
    assert at.session_state[state.JOBS_DIALOG] == Dialog("cancel", job_id, second)
    assert f"Cancel batch {second} of **Two parts**?" in dialog_text(at).replace("\\", "")
    assert "**Lost:** 2 requests" in dialog_text(at)

    at.button(key="cancel_confirm").click().run()

    after = {info.id: info.status for info in pages.box.batches()}
    assert after[second] in ("cancelling", "cancelled")
    assert after[first] in ("validating", "in_progress")


def test_keep_it_closes_the_dialog_without_acting(pages: Pages) -> None:
    job_id = pages.running_job("Still running")
    at = pages.open()
    at.button(key="cancel_job").click().run()

    at.button(key="cancel_confirm_keep").click().run()

    assert at.session_state[state.JOBS_DIALOG] is None
    assert statuses_at_sandbox(pages, pages.service, job_id)[0] in ("validating", "in_progress")
    assert "Refreshing every" in joined(at, "caption")


def test_repair_shows_rows_and_cost_first_then_runs_the_chosen_rows_again(pages: Pages) -> None:
    job_id = pages.finished_job("Flaky", {0: "[[sandbox:flaky]]", 2: "[[sandbox:flaky]]"})
    at = pages.open()
    assert [row["status"] for row in table(at)] == ["Completed with errors"]

    at.button(key="repair_rows").click().run()

    picker = at.pills(key=state.REPAIR_STATUSES)
    assert picker.options == ["error (2)"]  # the rows of each kind, shown as offered
    assert picker.value == ["error"]
    plan = pages.service.plan_repair(job_id, ["error"])
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Rows"] == "2" == str(plan.rows)
    assert metrics["Input tokens"] == f"{plan.input_tokens:,}"
    assert metrics["Estimated cost"].startswith("$0.00000")

    at.button(key="repair_confirm").click().run()

    assert not at.exception
    assert "Sent 2 rows of Flaky again as batch_" in joined(at, "success")
    status = run_to_end(pages.service, job_id)
    assert status.counts["ok"] == 4
    at.run()
    assert [row["status"] for row in table(at)] == ["Completed"]
    assert [row["kind"] for row in table(at, "meaning")] == ["first send", "repair"]


def test_repair_with_nothing_picked_sends_nothing(pages: Pages) -> None:
    job_id = pages.finished_job("Errors", {1: "[[sandbox:error]]"})
    at = pages.open()
    at.button(key="repair_rows").click().run()

    at.pills(key=state.REPAIR_STATUSES).set_value([]).run()

    assert "Pick at least one kind of row." in joined(at, "caption")
    assert not any(button.key == "repair_confirm" for button in at.button)
    assert len(pages.service.status(job_id).batches) == 1


def test_archiving_hides_the_job_and_it_can_come_back(pages: Pages) -> None:
    pages.finished_job("Keep")
    job_id = pages.finished_job("Old one")
    at = pages.open()

    at.button(key="archive_job").click().run()
    assert "they cannot be deleted" not in dialog_text(at)
    assert "its batches stay untouched where they were sent" in dialog_text(at)
    at.button(key="archive_confirm").click().run()

    assert job_names(at) == ["Keep"]
    assert pages.registry.get_job(job_id, pages.service.scope).archived

    at.toggle(key=state.JOBS_SHOW_ARCHIVED).set_value(True).run()
    at.selectbox(key=state.JOBS_PICKER).set_value(job_id).run()
    at.button(key="unarchive_job").click().run()
    at.toggle(key=state.JOBS_SHOW_ARCHIVED).set_value(False).run()
    assert job_names(at) == ["Old one", "Keep"]


def test_a_batch_made_elsewhere_is_attached_by_its_id(pages: Pages) -> None:
    outside = made_elsewhere(pages)
    at = pages.open()

    at.button(key="attach_batch").click().run()
    at.text_input(key=state.ATTACH_BATCH_ID).input(f"  {outside}  ")
    at.text_input(key=state.ATTACH_NAME).input("From a script")
    at.button(key="attach_confirm").click().run()

    assert not at.exception
    assert f"Batch {outside} is now followed here as a job." in joined(at, "success")
    assert job_names(at) == ["From a script"]
    job_id = at.session_state[state.SELECTED_JOB]
    assert pages.service.status(job_id).batches[0].id == outside


def test_attaching_an_unknown_batch_says_so_in_the_dialog(pages: Pages) -> None:
    at = pages.open()
    at.button(key="attach_batch").click().run()
    at.text_input(key=state.ATTACH_BATCH_ID).input("batch_nothing_here")
    at.button(key="attach_confirm").click().run()

    assert "batch batch_nothing_here was not found" in joined(at, "error")
    assert at.session_state[state.JOBS_DIALOG] == Dialog("attach")


def made_elsewhere(pages: Pages, rows: int = 3, models: dict[int, str] | None = None) -> str:
    """A batch created straight through the API, as another tool would; its id.

    `models` gives some (1-based) lines another model than gpt-4o-mini.
    """
    requests = [
        {
            "custom_id": f"c{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": (models or {}).get(n, "gpt-4o-mini"),
                "messages": [{"role": "user", "content": f"Hi {n}"}],
            },
        }
        for n in range(1, rows + 1)
    ]
    lines = "".join(json.dumps(request) + "\n" for request in requests).encode()
    gateway = pages.gateway()
    file_id = gateway.upload_part("elsewhere.jsonl", lines)
    return gateway.create_batch(file_id, "/v1/chat/completions", {"made_by": "script"}).id


def test_every_batch_of_the_key_is_listed_with_its_job_here(pages: Pages) -> None:
    job_id = pages.finished_job("Ours")
    ours = pages.service.status(job_id).batches[0].id
    pages.restart(rate=0.001)
    outside = made_elsewhere(pages)
    at = pages.open()

    at.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()

    listed = {row["batch_id"]: row["job_here"] for row in table(at, "job_here")}
    assert listed == {ours: "Ours", outside: ""}
    assert "2 batches, listed at" in joined(at, "caption")
    picker = at.selectbox(key=state.REMOTE_PICKER)
    assert picker.value == outside  # newest first
    assert not at.button(key="remote_cancel").disabled

    at.button(key="remote_cancel").click().run()
    assert "belongs to no job here" in dialog_text(at)
    at.button(key="cancel_remote_confirm").click().run()
    assert {info.id: info.status for info in pages.box.batches()}[outside] in (
        "cancelling",
        "cancelled",
    )

    at.selectbox(key=state.REMOTE_PICKER).set_value(ours).run()
    assert "belongs to Ours" in joined(at, "caption")
    at.button(key="remote_open_job").click().run()
    assert at.session_state[state.SELECTED_JOB] == job_id
    assert at.segmented_control(key=state.JOBS_VIEW).value == "Jobs here"


def test_a_listed_batch_made_elsewhere_can_be_attached_from_the_list(pages: Pages) -> None:
    outside = made_elsewhere(pages)
    at = pages.open()
    at.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()

    at.button(key="remote_attach").click().run()
    assert at.text_input(key=state.ATTACH_BATCH_ID).value == outside
    at.button(key="attach_confirm").click().run()

    assert at.segmented_control(key=state.JOBS_VIEW).value == VIEW_REMOTE
    listed = {row["batch_id"]: row["job_here"] for row in table(at, "job_here")}
    assert listed == {outside: f"Batch {outside}"}


def test_a_job_that_sent_nothing_is_discarded_not_cancelled(pages: Pages) -> None:
    """Nothing of a never-sent job runs, so Cancel has nothing to stop: it is disabled and says
    to discard the job, which ends it as Discarded (not Failed)."""
    pages.restart(rate=0.001)
    service = pages.service
    job_id = service.create_job("Not sent", reviews(3), RECIPE)
    at = pages.open()
    assert [row["status"] for row in table(at)] == ["Not sent"]
    assert "Nothing of this job was sent yet" in joined(at, "warning")

    cancel = at.button(key="cancel_job")
    assert cancel.disabled
    assert "discard it instead" in (cancel.help or "")
    at.button(key="discard_unsent").click().run()
    at.button(key="discard_confirm").click().run()

    assert service.status(job_id).state == "finished"
    assert service.status(job_id).discarded


def test_a_submission_that_stopped_is_finished_by_the_page(pages: Pages) -> None:
    """A job whose submitter died after claiming its first part: once the claim has run out,
    the Jobs page keeps refreshing it and sends the part, one batch, without any click."""
    pages.restart(rate=0.001)
    service = pages.service
    job_id = service.create_job("Stopped", reviews(3), RECIPE)
    # Two minutes ago: marked active (what `submit` records first), the part claimed for a
    # minute; nothing since.
    earlier = Registry(pages.registry.url, clock=lambda: datetime.now(UTC) - timedelta(minutes=2))
    earlier.set_job_state(job_id, "active")
    part = earlier.parts(job_id)[0]
    assert earlier.claim_part(part.id, lease=timedelta(minutes=1)) is not None
    earlier.close()
    status = service.status(job_id)
    assert status.unsent == 1
    assert "their submission stopped, and Batchdash sends them" in status.unsent_note
    pages.box.log.reset()

    at = pages.open()

    assert pages.box.log.count("POST", "/v1/batches") == 1
    assert len(pages.box.batches()) == 1
    assert [row["status"] for row in table(at)] == ["Running"]
    assert "Refreshing every" in joined(at, "caption")
    assert service.status(job_id).problems == ()
    at.run()
    assert len(pages.box.batches()) == 1  # sent once


def test_a_batch_that_failed_its_check_lists_the_errors_with_line_numbers(pages: Pages) -> None:
    outside = made_elsewhere(pages, rows=4, models={3: "gpt-4o"})
    pages.wait_for_sandbox(lambda batches: all(info.terminal for info in batches))
    job_id = pages.service.attach(outside, name="Mixed models")
    at = pages.open()

    at.selectbox(key=state.JOBS_PICKER).set_value(job_id).run()
    errors = table(at, "code")
    assert [(row["line"], row["code"]) for row in errors] == [(3, "model_mismatch")]
    assert "gpt-4o" in str(errors[0]["message"])
    assert [row["status"] for row in table(at)] == ["Failed"]
    assert "**Failed the check**: The file did not pass the check" in joined(at, "caption")
