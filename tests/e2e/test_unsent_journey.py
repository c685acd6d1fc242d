"""A submission that stopped, in a real browser: the analyst finds two jobs saved but never sent
(their submitter died before its first upload), sends one, thinks twice about the other and
discards it; then submits a table on New job, comes back to submit it again, is told the job
already exists, puts the dialog away once, and the second time takes the job offered.

The jobs are made by the core on the app's registry, as a submitter that stopped leaves them.
The app runs on a sandbox of the test's own, slow enough that a sent job stays unfinished.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from openai import OpenAI
from playwright.sync_api import Page, expect

from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from sandbox.server import running_sandbox
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.e2e.steps import submit_job, upload_file, write_template
from tests.e2e.test_jobs_dialogs import dismiss, open_dialog
from tests.e2e.test_whole_path import click_live_button, job_heading, prompts_csv
from tests.jobs_kit import RECIPE, reviews

pytestmark = pytest.mark.e2e

SENT = "Stopped before sending"
DROPPED = "Changed my mind"
#: The sandbox's requests per second per batch: a job sent here stays running for minutes.
RATE = 0.02
#: The submitted job's line while its batch is checked or runs.
RUNNING = re.compile(r"^Tickets · (Checking the file|Running)$")


@pytest.fixture
def stopped_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, str]]:
    """The app on a slow sandbox of its own, holding two jobs saved but never sent; and the
    sandbox's base URL."""
    base = tmp_path_factory.mktemp("e2e-unsent")
    with running_sandbox(base / "sandbox", rate=RATE) as url:
        registry = Registry(default_db_url(base / "data"))
        try:
            service = JobService(
                registry, Gateway("sandbox", url), owner_scope("sandbox", "sandbox")
            )
            service.create_job(DROPPED, reviews(4), RECIPE)
            service.create_job(SENT, reviews(3), RECIPE)
        finally:
            registry.close()
        with serving(base, {"BATCHDASH_SANDBOX_URL": url}) as app:
            yield app, url


def batch_count(url: str) -> int:
    client = OpenAI(api_key="sandbox", base_url=url, max_retries=0)
    return len(list(client.batches.list(limit=100)))


def open_job(page: Page, name: str) -> None:
    """Pick the job `name` in the Jobs page's picker."""
    page.get_by_test_id("stSelectbox").filter(has_text="Open a job").click()
    page.get_by_role("option", name=re.compile(re.escape(name))).click()
    wait_idle(page)


def test_a_job_never_sent_is_sent_and_another_discarded_after_second_thoughts(
    page: Page, stopped_app: tuple[ServedApp, str]
) -> None:
    app, url = stopped_app
    open_page(page, app, "jobs")
    expect(job_heading(page, SENT, "Not sent")).to_be_visible(timeout=STEP_TIMEOUT)
    warning = page.get_by_text("Nothing of this job was sent yet (1 of 1 part)")
    expect(warning).to_be_visible()
    screenshot(page, "60-job-never-sent")
    assert batch_count(url) == 0  # the page sends nothing nobody asked for

    click_live_button(page, "Send it")
    expect(page.get_by_text(re.compile(rf"^Sent {SENT}: its batches are batch_"))).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    expect(page.get_by_text("Nothing of this job was sent yet")).to_have_count(0)
    screenshot(page, "61-job-sent")
    assert batch_count(url) == 1

    open_job(page, DROPPED)
    expect(job_heading(page, DROPPED, "Not sent")).to_be_visible(timeout=STEP_TIMEOUT)
    open_dialog(page, "Discard…", "Discard what was not sent")
    expect(page.get_by_role("dialog")).to_contain_text("Nothing of it was sent")
    screenshot(page, "62-discard-dialog")
    dismiss(page, "Keep it as it is")
    expect(job_heading(page, DROPPED, "Not sent")).to_be_visible()

    open_dialog(page, "Discard…", "Discard what was not sent")
    page.get_by_role("dialog").get_by_role("button", name="Discard", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    expect(
        page.get_by_text(f"Discarded 1 part of {DROPPED}; nothing of them was sent.")
    ).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_text(DROPPED)).to_have_count(1)  # the notice only: it left the list
    screenshot(page, "63-job-discarded")
    assert batch_count(url) == 1


def test_the_same_table_submitted_again_is_offered_as_its_job(
    page: Page, stopped_app: tuple[ServedApp, str]
) -> None:
    app, url = stopped_app
    data = prompts_csv([f"Ticket {n}: the parcel came late." for n in range(1, 4)])
    open_page(page, app)
    upload_file(page, "tickets.csv", data, 3)
    write_template(page, "Classify: {prompt}")
    submit_job(page, "Tickets")
    expect(page.get_by_text(RUNNING)).to_be_visible(timeout=STEP_TIMEOUT)
    assert batch_count(url) == 1

    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    open_dialog(page, "Submit job…", "Submit the job")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("This table and recipe already make the unfinished job Tickets")
    expect(dialog.get_by_role("button", name="Submit as a new job")).to_be_visible()
    screenshot(page, "64-submit-again-warning")
    dismiss(page, "Not now")

    open_dialog(page, "Submit job…", "Submit the job")
    page.get_by_role("dialog").get_by_role("button", name="Open that job").click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)
    expect(page.get_by_text(RUNNING)).to_be_visible(timeout=STEP_TIMEOUT)
    screenshot(page, "65-twin-opened")
    assert batch_count(url) == 1
