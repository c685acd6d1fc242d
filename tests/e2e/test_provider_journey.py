"""A provider picked in Settings, in a real browser: the sandbox imitates SiliconFlow, New job
offers its one endpoint and its completion windows, the job runs with the window picked, Jobs
explains SiliconFlow's own status word, Results has the answers; then a changed mind (Groq)
keeps the window Groq offers too and drops what it does not."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from batchdash.providers.profiles import BY_NAME
from batchdash.recipe import ENDPOINTS
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import submit_job, upload_file, write_template
from tests.e2e.test_whole_path import (
    BATCH_TIMEOUT,
    download,
    job_heading,
    metric,
    open_results,
    prompts_csv,
    read_csv,
)
from ui.connection import sandbox_scope

pytestmark = pytest.mark.e2e


def pick_api(page: Page, label: str) -> None:
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible(timeout=STEP_TIMEOUT)
    page.get_by_role("radio", name=label, exact=True).click()
    wait_idle(page)


def choose(page: Page, select: str, option: str) -> None:
    """Pick `option` in the select box labelled `select`. A rerun that lands while the list is
    open (the exact token count arriving after a template edit) closes it: open it again."""
    for _ in range(3):
        open_select(page, select)
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            wait_idle(page)
    else:
        open_select(page, select)
        page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def open_new_job(page: Page) -> None:
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_test_id("stSelectbox").filter(has_text="Completion window")).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    wait_idle(page)


def open_select(page: Page, select: str) -> None:
    """Open a select box's list (again, when a rerun closed it as it opened)."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=select)
    for _ in range(3):
        box.click()
        try:
            expect(page.get_by_role("option").first).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            wait_idle(page)
    expect(page.get_by_role("option").first).to_be_visible(timeout=STEP_TIMEOUT)


def windows_offered(page: Page) -> list[str]:
    open_select(page, "Completion window")
    offered = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    wait_idle(page)
    return offered


def test_a_preset_runs_its_providers_job_and_a_changed_mind_follows(
    page: Page, served_app: ServedApp
) -> None:
    open_page(page, served_app, "settings")
    pick_api(page, "SiliconFlow")
    expect(page.get_by_text("a new batch waits as in_queue", exact=False)).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Imitating SiliconFlow")
    screenshot(page, "40-settings-siliconflow")

    page.get_by_role("link", name="New job").click()
    texts = [f"Review {n}: the kettle boils fast but the lid sticks." for n in range(1, 7)]
    upload_file(page, "kettles.csv", prompts_csv(texts), 6)
    write_template(page, "Summarise: {prompt}")
    open_select(page, "Endpoint")
    expect(page.get_by_role("option")).to_have_text(["Chat Completions"])
    page.keyboard.press("Escape")
    assert windows_offered(page) == ["24h", "48h", "72h", "168h", "336h"]
    choose(page, "Completion window", "72h")
    # The default model is OpenAI's, counted exactly; DeepSeek's tokens are an estimate.
    choose(page, "Model", "deepseek-ai/DeepSeek-V3")
    expect(page.get_by_text("Input tokens (estimate)")).to_be_visible(timeout=STEP_TIMEOUT)
    screenshot(page, "41-new-job-siliconflow")

    submit_job(page, "Kettles at SiliconFlow")
    expect(job_heading(page, "Kettles at SiliconFlow", "Completed")).to_be_visible(
        timeout=BATCH_TIMEOUT
    )
    # SiliconFlow's own status word is one Jobs explains (not an unknown status).
    page.get_by_text("What the statuses mean").click()
    expect(page.get_by_text("Waiting in the queue", exact=True)).to_be_visible()
    expect(page.get_by_text("SiliconFlow calls this in_queue", exact=False)).to_be_visible()
    screenshot(page, "42-jobs-siliconflow")

    open_results(page)
    expect(metric(page, "Rows ok")).to_contain_text("6")
    rows = read_csv(download(page, "Merged CSV"))
    assert [row["prompt"] for row in rows] == texts
    assert {row["status"] for row in rows} == {"ok"}
    screenshot(page, "43-results-siliconflow")

    # The job's batch asked the imitated SiliconFlow for the window picked.
    registry = Registry(default_db_url(served_app.data_dir))
    try:
        [job] = registry.list_jobs(sandbox_scope(None, BY_NAME["siliconflow"]))
        [part] = registry.parts(job.id)
        snapshot = registry.snapshot(part.batch_id or "")
    finally:
        registry.close()
    assert snapshot is not None and snapshot.info["completion_window"] == "72h"

    # A changed mind: Groq offers 72h too (kept) but no other endpoint; OpenAI offers 24h only.
    pick_api(page, "Groq")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Imitating Groq")
    open_new_job(page)
    assert windows_offered(page)[-1] == "168h"
    expect(page.get_by_role("combobox", name="Completion window")).to_have_value("72h")
    screenshot(page, "44-new-job-groq")
    pick_api(page, "OpenAI")
    open_new_job(page)
    expect(page.get_by_role("combobox", name="Completion window")).to_have_value("24h")
    open_select(page, "Endpoint")
    expect(page.get_by_role("option")).to_have_count(len(ENDPOINTS))
    page.keyboard.press("Escape")
    screenshot(page, "45-new-job-openai")
