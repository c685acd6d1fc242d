"""The enqueued-token limit as an analyst meets it: set in Settings (a row without a model not
taken until completed), kept for the key in a new session, a job whose parts exceed it submitted, what waits
and why read on Jobs while the parts go one after another, and the limit removed again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.e2e.test_whole_path import BATCH_TIMEOUT, job_heading, prompts_csv, submit

pytestmark = pytest.mark.e2e

ROWS = 24
LIMIT = 200


@pytest.fixture(scope="module")
def queue_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app with its bundled sandbox enforcing LIMIT per model, at a pace a job can be
    watched at."""
    environment = {
        "BATCHDASH_SANDBOX_RATE": "6",
        "BATCHDASH_SANDBOX_ENQUEUED_TOKEN_LIMIT": str(LIMIT),
    }
    with serving(tmp_path_factory.mktemp("e2e-queue"), environment) as app:
        yield app


def limits_editor(page: Page) -> Locator:
    return page.get_by_test_id("stDataFrame").first


#: Where the limits table draws its columns (share of its width) and its first row (pixels).
MODEL_X, TOKENS_X, ROW_1_Y = 0.35, 0.75, 53


def edit_cell(page: Page, x_share: float, text: str) -> None:
    """Open a cell of the limits table's first row, type `text` over it and press Enter."""
    editor = limits_editor(page)
    overlay = page.locator("#portal textarea:focus, #portal input:focus")
    for _attempt in range(5):
        box = editor.bounding_box()
        assert box is not None
        # A double click while the table redraws (after a rerun) opens nothing: again, then.
        editor.dblclick(position={"x": box["width"] * x_share, "y": ROW_1_Y})
        try:
            expect(overlay).to_have_count(1, timeout=3_000)
            break
        except AssertionError:
            wait_idle(page)
    expect(overlay).to_have_count(1)
    overlay.fill(text)
    page.keyboard.press("Enter")
    wait_idle(page)


def add_limit_row(page: Page, tokens: str) -> None:
    """Add a row to the limits table and type its tokens (its model not yet)."""
    editor = limits_editor(page)
    editor.hover()
    editor.get_by_role("button", name="Add row").click()
    wait_idle(page)
    edit_cell(page, TOKENS_X, tokens)


def test_set_a_limit_watch_parts_wait_and_go_then_remove_it(
    page: Page, queue_app: ServedApp
) -> None:
    open_page(page, queue_app, "settings")
    add_limit_row(page, str(LIMIT))
    # A row without its model is not taken (nor saved) until the model is named.
    expect(page.get_by_text("Saved for this API key.", exact=False)).to_have_count(0)
    screenshot(page, "80-settings-limit-without-model")

    edit_cell(page, MODEL_X, "gpt-4o-mini")  # the analyst names the model
    expect(page.get_by_text("Saved for this API key.", exact=False)).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    screenshot(page, "81-settings-limit-saved")

    # Kept for the key: a new session finds it.
    open_page(page, queue_app, "settings")
    expect(page.get_by_text("Saved for this API key.", exact=False)).to_be_visible()

    texts = [f"Review {n}: arrived on time, works as described." for n in range(1, ROWS + 1)]
    submit(page, queue_app, "Queued reviews", prompts_csv(texts), same_session=True)
    waits = page.get_by_text(
        re.compile(r"Part \d waits for .* enqueued tokens to free up under gpt-4o-mini's limit")
    )
    expect(waits).to_be_visible(timeout=BATCH_TIMEOUT)
    # The job's line counts what is out, told as news, not as something gone wrong.
    sent_so_far = page.get_by_text(re.compile(rf"{ROWS} rows as \d batches, \d sent so far"))
    expect(sent_so_far).to_be_visible()
    # The progress line counts the waiting parts' rows as unfinished, not only the sent ones.
    expect(page.get_by_text(re.compile(rf"^\d+ of {ROWS} requests finished$"))).to_be_visible()
    expect(page.get_by_test_id("stAlertContentInfo").filter(has=waits)).to_be_visible()
    # Waiting parts go out on their own: nothing for the analyst to send.
    send = page.get_by_role("button", name=re.compile(r"Send \d+ parts? now"))
    expect(send).to_be_disabled()
    screenshot(page, "82-jobs-part-waits")
    expect(job_heading(page, "Queued reviews", "Completed")).to_be_visible(timeout=BATCH_TIMEOUT)
    expect(page.get_by_text(f"Finished: {ROWS} ok", exact=True)).to_be_visible()
    expect(waits).to_have_count(0)
    expect(page.get_by_text(re.compile(rf"{ROWS} rows sent as \d batches"))).to_be_visible()
    screenshot(page, "83-jobs-all-parts-done")

    # The analyst removes the limit again: a new session finds none.
    page.get_by_role("link", name="Settings").click()
    wait_idle(page)
    limits_editor(page).click(position={"x": 16, "y": ROW_1_Y})  # the row's selection box
    page.keyboard.press("Delete")
    wait_idle(page)
    expect(page.get_by_text("Saved for this API key.", exact=False)).to_have_count(0)
    open_page(page, queue_app, "settings")
    expect(page.get_by_text("Saved for this API key.", exact=False)).to_have_count(0)
    screenshot(page, "84-settings-limit-removed")
