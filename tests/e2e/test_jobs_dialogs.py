"""Every dialog an analyst can open on New job and Jobs, closed by each of its buttons and by
its ×, and then opened once more to show it still works after being closed.

Streamlit reruns only the dialog when a button inside it is clicked, so a button that merely
forgets the dialog in session state leaves it on screen; these journeys click each one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI
from playwright.sync_api import Locator, Page, expect

from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.preflight.plan import plan_batch
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from sandbox.server import running_sandbox
from tests.e2e.conftest import (
    STEP_TIMEOUT,
    ServedApp,
    open_page,
    screenshot,
    serving,
    wait_idle,
)
from tests.e2e.steps import upload_file
from tests.e2e.test_whole_path import (
    BATCH_TIMEOUT,
    click_live_button,
    job_heading,
    prompts_csv,
)
from tests.jobs_kit import RECIPE, reviews
from ui.remote_batches import VIEW_REMOTE

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
    upload_file(page, "dialogs.csv", prompts_csv(texts), 300)

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
    # A second thought: closed, then opened again, the name typed is still there.
    dismiss(page, "Close")
    open_dialog(page, "Submit job…", "Submit the job")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("textbox", name="Job name")).to_have_value(NAME)
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


#: The job of two running parts the app finds on its sandbox.
TWO_PARTS = "Two parts"


def _make_elsewhere(url: str) -> None:
    """A batch made with the SDK, as a script or the provider's dashboard would make one."""
    client = OpenAI(api_key="sandbox", base_url=url, max_retries=0)
    lines = [
        {
            "custom_id": f"r{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
        }
        for n in range(1, 6)
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    uploaded = client.files.create(file=("elsewhere.jsonl", data), purpose="batch")
    client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def _make_two_parts(url: str, data_dir: Path) -> None:
    """A job of the app's Sandbox scope split in two parts, both running."""
    frame = reviews(6)
    # An enqueued-token limit that holds half the rows splits the job in two parts.
    limit = int(sum(plan_batch(frame, RECIPE).row_input_tokens[:3]))
    registry = Registry(default_db_url(data_dir))
    try:
        service = JobService(registry, Gateway("sandbox", url), owner_scope("sandbox", "sandbox"))
        job_id = service.create_job(TWO_PARTS, frame, RECIPE, enqueued_token_limit=limit)
        assert len(service.submit(job_id)) == 2
    finally:
        registry.close()


@pytest.fixture
def app_with_batches_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app on a sandbox of the test's own, slow enough to keep batches running, holding a
    job of two running parts and a batch made elsewhere."""
    base = tmp_path_factory.mktemp("e2e-running")
    with running_sandbox(base / "sandbox", rate=0.05) as url:
        _make_elsewhere(url)
        _make_two_parts(url, base / "data")
        with serving(base, {"BATCHDASH_SANDBOX_URL": url}) as app:
            yield app


def test_one_batch_and_batch_list_dialogs_close_by_each_of_their_buttons(
    page: Page, app_with_batches_running: ServedApp
) -> None:
    open_page(page, app_with_batches_running, "jobs")
    expect(job_heading(page, TWO_PARTS, "Running")).to_be_visible(timeout=STEP_TIMEOUT)
    for button in ("Keep it as it is", "Close"):
        click_live_button(page, "Cancel one batch…")
        page.get_by_role("menuitem").first.click()
        expect(page.get_by_role("dialog")).to_contain_text("Cancel one batch", timeout=STEP_TIMEOUT)
        wait_idle(page)
        dismiss(page, button)
    expect(job_heading(page, TWO_PARTS, "Running")).to_be_visible()

    # The batch list: the batch made elsewhere can be attached or cancelled.
    page.get_by_role("radio", name=VIEW_REMOTE).click()
    expect(page.get_by_text(re.compile(r"^3 batches, listed at"))).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    wait_idle(page)
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Batch")
    picker.click()
    page.get_by_role("option", name=re.compile("made elsewhere")).click()
    wait_idle(page)

    each_way_out(page, "Attach…", "Attach a batch", ["Not now", "Close"])
    each_way_out(page, "Cancel…", "Cancel a batch made elsewhere", ["Keep it as it is", "Close"])
    open_dialog(page, "Cancel…", "Cancel a batch made elsewhere")
    screenshot(page, "35-cancel-elsewhere-dialog")
    dismiss(page, "Keep it as it is")
    expect(page.get_by_role("button", name="Cancel…")).to_be_enabled()
