"""Every dialog an analyst can open on New job and Jobs, closed by each of its buttons and by
its ×, and then opened once more to show it still works after being closed.

Streamlit reruns only the dialog when a button inside it is clicked, so a button that merely
forgets the dialog in session state leaves it on screen; these journeys click each one.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FilePayload, Locator, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.test_whole_path import (
    BATCH_TIMEOUT,
    click_live_button,
    job_heading,
    prompts_csv,
)

pytestmark = pytest.mark.e2e

#: A job name as long as analysts give them.
NAME = "Dialogs: customer tickets of March 2026, every region and channel"


def open_dialog(page: Page, button: str, title: str) -> None:
    """Click `button` on the page and wait for the dialog called `title`."""
    click_live_button(page, button)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(dialog).to_contain_text(title)
    wait_idle(page)


def dismiss(page: Page, button: str) -> None:
    """Click `button` of the open dialog (the × is "Close") and see the dialog go."""
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_role("dialog")).to_have_count(0)


def assert_fits(table: Locator) -> None:
    """The table's columns fit its width (no sideways scrolling hides the last ones)."""
    expect(table).to_be_visible(timeout=STEP_TIMEOUT)
    scroller = table.locator(".dvn-scroller").first
    wide, shown = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert wide <= shown, f"the table is {wide} px wide in {shown} px"


def each_way_out(page: Page, opener: str, title: str, buttons: list[str]) -> None:
    """Open the dialog once per way out and leave it that way."""
    for button in buttons:
        open_dialog(page, opener, title)
        dismiss(page, button)


def test_every_dialog_closes_by_each_of_its_buttons(page: Page, slow_app: ServedApp) -> None:
    texts = [f"Ticket {n}: the parcel came late." for n in range(1, 301)]
    open_page(page, slow_app)
    upload: FilePayload = {
        "name": "dialogs.csv",
        "mimeType": "text/csv",
        "buffer": prompts_csv(texts),
    }
    page.locator("input[type=file]").set_input_files(files=[upload])
    expect(page.get_by_text("300 rows", exact=False).first).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)

    # Submit: "Not now" and the × leave the table and recipe as they were.
    each_way_out(page, "Submit job…", "Submit the job", ["Not now", "Close"])
    expect(page.get_by_text("300 rows", exact=False).first).to_be_visible()
    open_dialog(page, "Submit job…", "Submit the job")
    screenshot(page, "30-submit-dialog")
    dialog = page.get_by_role("dialog")
    field = dialog.get_by_role("textbox", name="Job name")
    field.fill(NAME)
    field.press("Enter")
    wait_idle(page)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)
    expect(page.get_by_text(re.compile(r"^\d+ of 300 requests finished$"))).to_be_visible(
        timeout=BATCH_TIMEOUT
    )

    # The jobs table fits the page: every column shows without scrolling sideways.
    assert_fits(page.get_by_test_id("stDataFrame").first)
    screenshot(page, "34-jobs-table-running")

    # While it runs: cancel, archive and attach, each closed every way it can be.
    each_way_out(page, "Cancel the job…", "Cancel the job", ["Keep it as it is", "Close"])
    each_way_out(page, "Archive…", "Archive the job", ["Keep it as it is", "Close"])
    each_way_out(page, "Attach a batch…", "Attach a batch", ["Not now", "Close"])
    expect(page.get_by_text("Refreshing every", exact=False)).to_be_visible(timeout=STEP_TIMEOUT)

    # Cancel for real, so rows are left to repair.
    open_dialog(page, "Cancel the job…", "Cancel the job")
    screenshot(page, "31-cancel-dialog")
    page.get_by_role("dialog").get_by_role("button", name="Cancel the job", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    expect(job_heading(page, NAME, "Cancelled")).to_be_visible(timeout=BATCH_TIMEOUT)

    each_way_out(page, "Repair rows…", "Repair rows", ["Not now", "Close"])
    open_dialog(page, "Repair rows…", "Repair rows")
    screenshot(page, "32-repair-dialog")
    dismiss(page, "Not now")
    screenshot(page, "33-jobs-after-dialogs")
    expect(job_heading(page, NAME, "Cancelled")).to_be_visible()
