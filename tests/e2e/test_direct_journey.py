"""Direct runs in a real browser, on a sandbox whose synchronous calls take a moment and whose
batches expire within the hour: a table run directly (one row refused), watched to the end,
its refused row repaired directly after the repair dialog is dismissed once, and the merged CSV
checked cell by cell; a direct run cancelled half-way; a batch near its expiry finished
directly. Screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e import test_whole_path as whole
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.e2e.steps import open_submit_dialog, upload_file, write_template

pytestmark = pytest.mark.e2e

#: Milliseconds a direct run of the sandbox may take (the guard against a hang).
RUN_TIMEOUT = 90_000
REFUSED = "[[sandbox:error]]"


@pytest.fixture(scope="module")
def direct_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app in Sandbox mode: each synchronous call takes 0.4 s, batches run slowly and
    expire an hour after they are made."""
    environment = {
        "BATCHDASH_SANDBOX_SYNC_PACE": "0.4",
        "BATCHDASH_SANDBOX_RATE": "0.05",
        "BATCHDASH_SANDBOX_WINDOW_SECONDS": "3600",
    }
    with serving(tmp_path_factory.mktemp("e2e-direct"), environment) as app:
        yield app


def submit_directly(page: Page, app: ServedApp, name: str, data: bytes, calls: int) -> None:
    """Upload `data` and run it directly, `calls` at once; the page lands on Jobs."""
    open_page(page, app)
    upload_file(page, f"{name}.csv", data, data.count(b"\n") - 1)
    write_template(page, "Summarise: {prompt}")
    dialog = open_submit_dialog(page, name)
    expect(dialog).to_contain_text("As a batch, at half price")
    dialog.get_by_text("Run directly, at the normal price").click()
    wait_idle(page)
    concurrency = dialog.get_by_role("spinbutton", name="Calls at once")
    concurrency.fill(str(calls))
    concurrency.press("Enter")
    wait_idle(page)
    screenshot(page, f"80-submit-direct-{calls}")
    dialog.get_by_role("button", name="Run directly").click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)


def open_repair(page: Page) -> Locator:
    """Open the Repair dialog of the opened direct job; the dialog."""
    whole.click_live_button(page, "Repair rows…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("once more, directly", timeout=STEP_TIMEOUT)
    return dialog


def test_run_directly_repair_the_refused_row_and_download(
    page: Page, direct_app: ServedApp
) -> None:
    texts = [f"Review {n}: the kettle boils fast." for n in range(1, 9)]
    texts[2] = f"Review 3: the lid sticks. {REFUSED}"
    submit_directly(page, direct_app, "Kettles direct", whole.prompts_csv(texts), calls=2)

    running = page.get_by_text(re.compile(r"^[0-7] of 8 requests answered"))
    expect(running).to_be_visible(timeout=STEP_TIMEOUT)
    # The same run draws it, but a loaded machine may lay it out a few seconds later.
    expect(page.get_by_text("Refreshing every 2 s", exact=False)).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    screenshot(page, "81-jobs-direct-running")
    done = page.get_by_text("Sent directly: 7 of 8 requests answered, 1 failed", exact=False)
    expect(done).to_be_visible(timeout=RUN_TIMEOUT)
    screenshot(page, "82-jobs-direct-done")

    expect(open_repair(page)).to_contain_text("at the normal price")
    screenshot(page, "83-repair-direct-dialog")
    page.get_by_role("dialog").get_by_role("button", name="Not now").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    open_repair(page).get_by_role("button", name="Repair 1 row").click()
    expect(page.get_by_text("Sending 1 row of Kettles direct again, directly.")).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    again = page.get_by_text("Sent directly: 7 of 9 requests answered, 2 failed", exact=False)
    expect(again).to_be_visible(timeout=RUN_TIMEOUT)
    screenshot(page, "84-jobs-direct-repaired")

    whole.open_results(page)
    screenshot(page, "85-results-direct")
    rows = whole.read_csv(whole.download(page, "Merged CSV"))
    assert [row["id"] for row in rows] == [f"{n:03d}" for n in range(1, 9)]
    assert [row["prompt"] for row in rows] == texts
    assert [row["custom_id"] for row in rows] == [f"row-{n}" for n in range(1, 9)]
    assert [row["status"] for row in rows] == ["ok", "ok", "error"] + ["ok"] * 5
    assert {row["batch_id"] for row in rows} == {"direct"}
    for n, row in enumerate(rows, start=1):
        if n == 3:
            assert not row["response"]
            assert REFUSED in row["error"] and "HTTP 400" in row["error"]
        else:
            assert row["response"].startswith("[sandbox]")
            assert not row["error"]


def test_cancel_a_direct_run_half_way(page: Page, direct_app: ServedApp) -> None:
    texts = [f"Ticket {n}: the parcel came late." for n in range(1, 41)]
    submit_directly(page, direct_app, "Direct cancelled", whole.prompts_csv(texts), calls=1)
    some = page.get_by_text(re.compile(r"^([3-9]|[12]\d) of 40 requests answered"))
    expect(some).to_be_visible(timeout=RUN_TIMEOUT)
    whole.click_live_button(page, "Cancel the job…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel the direct run of Direct cancelled?")
    expect(dialog).to_contain_text("rows not sent yet will not be sent")
    screenshot(page, "86-cancel-direct-dialog")
    dialog.get_by_role("button", name="Cancel the run").click()
    expect(page.get_by_text("Asked to cancel the direct run of Direct cancelled")).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    ended = page.get_by_text(
        re.compile(r"Sent directly: \d+ of 40 requests answered, \d+ cancelled")
    )
    expect(ended).to_be_visible(timeout=RUN_TIMEOUT)
    screenshot(page, "87-jobs-direct-cancelled")

    whole.open_results(page)
    rows = whole.read_csv(whole.download(page, "Merged CSV"))
    statuses = [row["status"] for row in rows]
    answered = statuses.count("ok")
    assert 0 < answered < 40
    assert statuses == ["ok"] * answered + ["cancelled"] * (40 - answered)


def test_a_batch_near_its_expiry_is_finished_directly(page: Page, direct_app: ServedApp) -> None:
    texts = [f"Note {n}: please call back." for n in range(1, 6)]
    whole.submit(page, direct_app, "Expiring batch", whole.prompts_csv(texts))
    warning = page.get_by_text(
        re.compile(r"The batch expires in \d+ min, and 5 rows have no answer yet")
    )
    expect(warning).to_be_visible(timeout=STEP_TIMEOUT)
    screenshot(page, "88-jobs-near-expiry")
    whole.click_live_button(page, "Finish the rest directly…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("its running batch is cancelled", timeout=STEP_TIMEOUT)
    expect(dialog.get_by_test_id("stMetric").filter(has_text="cost")).to_contain_text("+ answers")
    screenshot(page, "89-finish-directly-dialog")
    dialog.get_by_role("button", name="Send 5 rows directly").click()
    expect(
        page.get_by_text("Sending the 5 rows of Expiring batch without an answer directly.")
    ).to_be_visible(timeout=STEP_TIMEOUT)
    expect(whole.job_heading(page, "Expiring batch", "Completed")).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    screenshot(page, "90-jobs-finished-directly")

    whole.open_results(page)
    rows = whole.read_csv(whole.download(page, "Merged CSV"))
    assert [row["status"] for row in rows] == ["ok"] * 5
    assert [row["prompt"] for row in rows] == texts
