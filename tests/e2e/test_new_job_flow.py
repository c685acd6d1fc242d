"""New job in a real browser: upload a CSV, write the template, check the preview and the
cost, try 3 rows, submit in the sandbox, land on Jobs; a screenshot of every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.files import REVIEWS_CSV
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import upload_file, write_template

pytestmark = pytest.mark.e2e


def test_upload_template_try_and_submit(page: Page, served_app: ServedApp) -> None:
    open_page(page, served_app)
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    expect(page.get_by_text("You are in Sandbox mode")).to_be_visible()
    screenshot(page, "01-new-job-empty")

    upload_file(page, "reviews.csv", REVIEWS_CSV, 4)
    write_template(page, "Classify the sentiment of: {text}")

    first_request = page.get_by_test_id("stCode").filter(has_text='"model": "gpt-4o-mini"').first
    expect(first_request).to_contain_text(
        "Classify the sentiment of: Arrived quickly", timeout=STEP_TIMEOUT
    )
    prices = page.get_by_test_id("stMetric")
    expect(prices.filter(has_text="Input would cost")).to_contain_text(re.compile(r"\$0\.0000\d"))
    expect(prices.filter(has_text="Batches")).to_contain_text("1")
    screenshot(page, "02-new-job-recipe-and-preflight")

    page.get_by_role("button", name="Try on 3 rows").click()
    answers = page.get_by_test_id("stCode").filter(has_text="[sandbox] Reply")
    expect(answers).to_have_count(3, timeout=STEP_TIMEOUT)
    expect(answers.nth(1)).to_contain_text("Broke after two days")
    screenshot(page, "03-new-job-tried")

    page.get_by_role("button", name="Submit job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(dialog.get_by_test_id("stMetric").filter(has_text="Rows")).to_contain_text("4")
    name = dialog.get_by_role("textbox", name="Job name")
    name.fill("Browser sentiment job")
    name.press("Enter")
    wait_idle(page)
    screenshot(page, "04-submit-dialog")
    dialog.get_by_role("button", name="Submit", exact=True).click()

    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_role("dialog")).to_have_count(0)
    screenshot(page, "05-jobs")

    registry = Registry(default_db_url(served_app.data_dir))
    try:
        jobs = registry.list_jobs(owner_scope("sandbox", "sandbox"))
        job = next(job for job in jobs if job.name == "Browser sentiment job")
        assert [part.batch_id is not None for part in registry.parts(job.id)] == [True]
        assert len(registry.job_rows(job.id)) == 4
    finally:
        registry.close()

    # The work stays put: back on New job, the file and template are still there.
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_text("4 rows")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(
        "Classify the sentiment of: {text}"
    )


def test_settings_and_results_pages_open(page: Page, served_app: ServedApp) -> None:
    open_page(page, served_app, "settings")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    expect(page.get_by_text("Sandbox mode: a local simulator", exact=False)).to_be_visible()
    screenshot(page, "06-settings")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("The sandbox answers.")).to_be_visible(timeout=STEP_TIMEOUT)

    open_page(page, served_app, "results")
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    screenshot(page, "07-results")
