"""A job at the pace an analyst learns from: picked in Settings, watched on Jobs as its progress
rises, cancelled half-way, and what it answered downloaded and read back with pandas."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.test_whole_path import (
    BATCH_TIMEOUT,
    click_live_button,
    download,
    job_heading,
    metric,
    open_results,
    prompts_csv,
    submit,
)

pytestmark = pytest.mark.e2e

ROWS = 30


def finished_text(page: Page, above: int) -> re.Pattern[str]:
    """The Jobs page's progress line with more than `above` of ROWS requests finished."""
    more = "|".join(str(n) for n in range(above + 1, ROWS))
    return re.compile(rf"^({more}) of {ROWS} requests finished$")


def progress_count(page: Page, above: int) -> int:
    """Wait until more than `above` requests have finished (the job still running); how many."""
    line = page.get_by_text(finished_text(page, above))
    expect(line).to_be_visible(timeout=BATCH_TIMEOUT)
    return int(line.inner_text().split()[0])


def test_watch_a_paced_job_rise_cancel_it_and_download_what_it_answered(
    page: Page, served_app: ServedApp
) -> None:
    open_page(page, served_app, "settings")
    page.get_by_role("radio", name="About a minute per job").click()
    wait_idle(page)
    screenshot(page, "30-settings-pace")

    texts = [f"Ticket {n}: the parcel came late and the box was torn." for n in range(1, ROWS + 1)]
    submit(page, served_app, "Paced and cancelled", prompts_csv(texts), same_session=True)

    # The page follows the job by itself: the count rises while the analyst watches.
    first = progress_count(page, 0)
    second = progress_count(page, first)
    assert second > first
    expect(job_heading(page, "Paced and cancelled", "Running")).to_be_visible()
    screenshot(page, "31-jobs-paced-running")

    click_live_button(page, "Cancel the job…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    dialog.get_by_role("button", name="Cancel the job", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    expect(job_heading(page, "Paced and cancelled", "Cancelled")).to_be_visible(
        timeout=BATCH_TIMEOUT
    )
    screenshot(page, "32-jobs-paced-cancelled")

    open_results(page)
    path = download(page, "Merged CSV")
    merged = pd.read_csv(io.BytesIO(path.read_bytes()), dtype=str, encoding="utf-8-sig")
    merged = merged.fillna("")
    assert merged["id"].tolist() == [f"{n:03d}" for n in range(1, ROWS + 1)]  # all, in order
    assert merged["prompt"].tolist() == texts
    answered = int((merged["status"] == "ok").sum())
    assert second <= answered < ROWS  # cancelled mid-way, after what was watched
    assert merged["status"].tolist()[:answered] == ["ok"] * answered
    assert set(merged["status"].tolist()[answered:]) <= {"cancelled", "not_run"}
    assert (merged["response"][:answered].str.startswith("[sandbox]")).all()
    assert (merged["response"][answered:] == "").all()
    # What it would cost covers the rows that ran, and the page says so.
    expect(
        page.get_by_text(f"for the {answered} of {ROWS} rows that ran", exact=False)
    ).to_be_visible()
    expect(metric(page, "Would cost (actual)")).to_contain_text("$")
    screenshot(page, "33-results-paced-cancelled")
