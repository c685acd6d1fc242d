"""Budgets in a real browser: a nonsense limit refused, a tiny limit per job refuses a submit with
the figures, the limit raised in Settings lets the same submit through, the month's spend rises,
and the limit is removed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from batchdash.preflight.budget import JOB_LIMIT, MONTH_LIMIT
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.e2e.steps import go_to, open_submit_dialog, upload_file, write_template
from tests.e2e.test_whole_path import metric
from ui.connection import sandbox_scope

pytestmark = pytest.mark.e2e

REVIEWS = b"id,review\n001,Arrived on time.\n002,Broke after two days.\n003,Great value.\n"


@pytest.fixture(scope="module")
def budget_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """An app of its own: the limits saved here must not reach other journeys' jobs."""
    with serving(tmp_path_factory.mktemp("e2e-budget")) as app:
        yield app


def saved(data_dir: Path, name: str) -> object:
    registry = Registry(default_db_url(data_dir))
    try:
        return registry.preference(sandbox_scope(None), name)
    finally:
        registry.close()


def set_limit(page: Page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def metric_text(page: Page, label: str) -> str:
    return metric(page, label).get_by_test_id("stMetricValue").inner_text()


def test_a_limit_refuses_a_submit_until_raised_and_the_months_spend_rises(
    page: Page, budget_app: ServedApp
) -> None:
    open_page(page, budget_app, "settings")
    expect(page.get_by_role("heading", name="Budgets")).to_be_visible()
    assert metric_text(page, "Spent this month") == "$0.00"
    assert metric_text(page, "Unfinished jobs, at most") == "$0.00"
    expect(page.get_by_text("this calendar month in UTC", exact=False)).to_be_visible()

    # A slip of the keyboard is refused, kept in the box, and saved nowhere.
    set_limit(page, "Limit per month (USD)", "ten")
    expect(
        page.get_by_text("is 'ten', which is not an amount of dollars", exact=False)
    ).to_be_visible()
    assert saved(budget_app.data_dir, MONTH_LIMIT) is None
    set_limit(page, "Limit per month (USD)", "")
    expect(page.get_by_text("which is not an amount of dollars", exact=False)).to_have_count(0)
    set_limit(page, "Limit per job (USD)", "0.000001")
    assert saved(budget_app.data_dir, JOB_LIMIT) == 0.000001

    go_to(page, "New job")
    upload_file(page, "reviews.csv", REVIEWS, 3)
    write_template(page, "Summarise this review in one sentence: {review}")
    dialog = open_submit_dialog(page, "Dear reviews")
    refusal = dialog.get_by_test_id("stAlertContentError")
    expect(refusal).to_contain_text("This may cost up to $0.", timeout=STEP_TIMEOUT)
    expect(refusal).to_contain_text("more than the limit of $0.000001 per job")
    expect(refusal).to_contain_text("raise the limit under Settings > Budgets")
    expect(dialog.get_by_role("button", name="Submit", exact=True)).to_have_count(0)
    screenshot(page, "budget-refused")

    # Raised in Settings; back on New job no dialog pops up by itself, and Submit job… opens
    # it again with the name typed before, and submits.
    dialog.get_by_role("button", name="Open Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    set_limit(page, "Limit per job (USD)", "5")
    assert saved(budget_app.data_dir, JOB_LIMIT) == 5.0
    go_to(page, "New job")
    expect(page.get_by_role("heading", name="New job")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("button", name="Submit job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(dialog.get_by_role("textbox", name="Job name")).to_have_value("Dear reviews")
    expect(dialog.get_by_test_id("stAlertContentError")).to_have_count(0)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=STEP_TIMEOUT)

    go_to(page, "Settings")
    spent, running = (
        metric_text(page, "Spent this month"),
        metric_text(page, "Unfinished jobs, at most"),
    )
    assert (spent, running) != ("$0.00", "$0.00")
    screenshot(page, "budget-spend")

    # A month's limit typed with a decimal comma is refused, not read as a hundred times more.
    set_limit(page, "Limit per month (USD)", "0,50")
    expect(
        page.get_by_text("write the cents after a point, like 1.50", exact=False)
    ).to_be_visible()
    assert saved(budget_app.data_dir, MONTH_LIMIT) is None
    # A month's limit below what the month has taken: the page says every new job is refused.
    set_limit(page, "Limit per month (USD)", "0.000001")
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text(
        "This month's jobs have reached the limit of $0.000001 per month", timeout=STEP_TIMEOUT
    )
    screenshot(page, "budget-month-reached")
    set_limit(page, "Limit per month (USD)", "")
    expect(page.get_by_text("reached the limit", exact=False)).to_have_count(0)

    # The analyst changes their mind: no limit per job after all.
    set_limit(page, "Limit per job (USD)", "")
    assert saved(budget_app.data_dir, JOB_LIMIT) is None
    expect(page.get_by_role("textbox", name="Limit per job (USD)")).to_have_value("")
