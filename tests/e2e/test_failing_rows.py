"""A table with rows the sandbox refuses (`[[sandbox:error]]`, a 400 every time) and rows it
fails once (`[[sandbox:flaky]]`, a 500 the first time), walked as an analyst would: tried on 3
rows, submitted, its errors read, repaired, and repaired once more.

Every error the analyst reads is a sentence: no "[key hidden]" where the word sandbox stood,
no loopback host and port.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import upload_file
from tests.e2e.test_whole_path import (
    BATCH_TIMEOUT,
    click_live_button,
    download,
    job_heading,
    open_results,
    prompts_csv,
    read_csv,
)

pytestmark = pytest.mark.e2e

TEXTS = [
    "Summarise: fast delivery.",
    "Summarise: a refused request. [[sandbox:error]]",
    "Summarise: broke after a day. [[sandbox:flaky]]",
    "Summarise: good value.",
    "Summarise: refused again. [[sandbox:error]]",
    "Summarise: wrong colour sent. [[sandbox:flaky]]",
]
#: What no message an analyst reads may hold.
GARBLE = re.compile(r"key hidden|127\.0\.0\.1|localhost")


def row_panel(page: Page) -> Locator:
    """The Results page's panel showing one ticked row in full."""
    return page.locator(".st-key-results_row")


def tick_row(page: Page, position: int) -> None:
    """Tick the results table's row at `position` (1 = the first row shown) in its selection
    column, at the table's left edge (the grid is drawn on a canvas: rows 35 px, under a
    35 px header)."""
    grid = page.get_by_test_id("stDataFrame").last
    grid.scroll_into_view_if_needed()
    grid.click(position={"x": 20, "y": 35 * position + 17})
    wait_idle(page)


def assert_plain(text: str) -> None:
    assert not GARBLE.search(text), text


def test_failing_rows_are_tried_read_and_repaired(page: Page, slow_app: ServedApp) -> None:
    open_page(page, slow_app)
    upload_file(page, "failing.csv", prompts_csv(TEXTS), 6)

    # The try: row 2 is refused, and says so in a sentence naming the sandbox.
    page.get_by_role("button", name="Try on 3 rows").click()
    refusal = page.get_by_test_id("stAlertContentError").filter(has_text="refuses it")
    expect(refusal).to_have_count(1, timeout=STEP_TIMEOUT)
    text = refusal.inner_text()
    assert (
        "The sandbox rejected the request: [sandbox] This request contains [[sandbox:error]], "
        "so the sandbox refuses it." in text
    ), text
    assert_plain(text)
    # Why each answer stopped, in words: not the API's "stop".
    tokens = page.get_by_test_id("stCaptionContainer").filter(
        has_text=re.compile(r"\d+ input and \d+ output tokens")
    )
    expect(tokens.first).to_contain_text("complete answer")
    expect(page.get_by_text("stopped: stop")).to_have_count(0)
    screenshot(page, "40-try-failing-rows")

    page.get_by_role("button", name="Submit job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    field = dialog.get_by_role("textbox", name="Job name")
    field.fill("Failing rows")
    field.press("Enter")
    wait_idle(page)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)
    expect(job_heading(page, "Failing rows", "Completed with errors")).to_be_visible(
        timeout=BATCH_TIMEOUT
    )
    screenshot(page, "41-jobs-failing-rows")

    # The errors as Results gives them: a sentence per failed row. The job's own link opens
    # Results on it.
    page.get_by_role("link", name="Open its results").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Job")).to_have_value(re.compile(r"^Failing rows · "))
    rows = read_csv(download(page, "Merged CSV"))
    assert [row["status"] for row in rows] == ["ok", "error", "error", "ok", "error", "error"]
    for row in rows:
        assert_plain(row["error"])
    assert "so the sandbox refuses it" in rows[1]["error"]
    screenshot(page, "42-results-failing-rows")

    # A cell shows the start of a long text: a row ticked shows all of it below the table.
    expect(row_panel(page)).to_have_count(0)
    tick_row(page, 2)
    expect(row_panel(page)).to_contain_text("Row 2", timeout=STEP_TIMEOUT)
    expect(row_panel(page)).to_contain_text(rows[1]["error"])
    expect(row_panel(page)).to_contain_text("[[sandbox:error]]")
    screenshot(page, "42b-results-row-in-full")
    # Another row: the panel follows it, the answer in full.
    tick_row(page, 1)
    expect(row_panel(page)).to_contain_text("Row 1", timeout=STEP_TIMEOUT)
    expect(row_panel(page)).to_contain_text(rows[0]["response"])
    # Only the errors: the table changes under the tick, so the panel goes until a new tick.
    page.get_by_test_id("stButtonGroup").get_by_role("button", name="error").click()
    expect(row_panel(page)).to_have_count(0, timeout=STEP_TIMEOUT)
    tick_row(page, 1)
    expect(row_panel(page)).to_contain_text("Row 2", timeout=STEP_TIMEOUT)

    # Repair: the dialog warns that the 2 refused rows will be refused again.
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=STEP_TIMEOUT)
    click_live_button(page, "Repair rows…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    warning = dialog.get_by_test_id("stAlertContentWarning")
    expect(warning).to_contain_text("2 of these rows were refused", timeout=STEP_TIMEOUT)
    expect(warning).to_contain_text("will fail again")
    screenshot(page, "43-repair-warns")
    dialog.get_by_role("button", name="Repair 4 rows").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    expect(page.get_by_text("Finished: 4 ok, 2 error", exact=True)).to_be_visible(
        timeout=BATCH_TIMEOUT
    )

    # The second try: only the refused rows are left, and the dialog says they all will fail.
    click_live_button(page, "Repair rows…")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("stAlertContentWarning")).to_contain_text(
        "Every row picked was refused", timeout=STEP_TIMEOUT
    )
    screenshot(page, "44-repair-only-refused-left")
    dialog.get_by_role("button", name="Not now").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)

    open_results(page)
    rows = read_csv(download(page, "Merged CSV"))
    assert [row["status"] for row in rows] == ["ok", "error", "ok", "ok", "error", "ok"]
    assert rows[2]["batch_id"] != rows[0]["batch_id"]  # answered by the repair batch
