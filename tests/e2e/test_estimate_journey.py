"""A template edit on 50,000 rows in a real browser: the page answers at once with the
preview and estimates marked ≈, says it is counting, offers no submit meanwhile, and shows the
exact figures by itself a moment later (no click)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from batchdash.preflight.plan import plan_batch
from batchdash.recipe import Recipe
from tests.app.files import many_rows_csv
from tests.e2e.conftest import ARTIFACTS, STEP_TIMEOUT, ServedApp, open_page, screenshot
from tests.e2e.steps import upload_file
from tests.e2e.test_whole_path import metric

pytestmark = pytest.mark.e2e

ROWS = 50_000
TEMPLATE = "Answer with one word, positive, negative or mixed:\n\n{prompt}"
EXACT = re.compile(r"^[\d,]+$")
ESTIMATE = re.compile(r"^≈ [\d,]+$")


def whole(text: str) -> int:
    return int(text.lstrip("≈ ").replace(",", ""))


def test_a_template_edit_shows_estimates_then_the_exact_figures_by_itself(
    page: Page, served_app: ServedApp
) -> None:
    data = many_rows_csv(ROWS, width=300)  # 15 MB
    open_page(page, served_app)
    upload_file(page, "many.csv", data, ROWS)
    tokens = metric(page, "Input tokens").get_by_test_id("stMetricValue")
    expect(tokens).to_have_text(EXACT, timeout=STEP_TIMEOUT)  # the first template, counted

    box = page.get_by_role("textbox", name="Prompt template")
    box.fill(TEMPLATE)
    box.press("Control+Enter")

    # At once: the requests with the new prompt, and figures that say they are estimates.
    expect(tokens).to_have_text(ESTIMATE, timeout=STEP_TIMEOUT)
    counting = page.get_by_text("Counting the tokens of every row", exact=False)
    expect(counting).to_be_visible()
    expect(metric(page, "Input would cost").get_by_test_id("stMetricValue")).to_have_text(
        re.compile(r"^≈ \$")
    )
    expect(page.get_by_text("positive, negative or mixed:").first).to_be_visible()
    expect(page.get_by_role("button", name="Submit job…")).to_have_count(0)
    # The window as it is (the screenshot helper would wait for the page to be idle, which it
    # is not while it counts), scrolled to the figures.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    metric(page, "Rows").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "30-template-edit-estimate.png"))
    estimate = whole(tokens.inner_text())

    # Then, without a click: the exact count, and the job can be submitted.
    expect(tokens).to_have_text(EXACT, timeout=STEP_TIMEOUT)
    expect(counting).to_have_count(0)
    expect(metric(page, "Input would cost").get_by_test_id("stMetricValue")).not_to_contain_text(
        "≈"
    )
    expect(page.get_by_role("button", name="Submit job…")).to_be_visible()
    screenshot(page, "31-template-edit-exact")

    frame = pd.read_csv(io.BytesIO(data), dtype="str", keep_default_na=False)
    exact = plan_batch(frame, Recipe(template=TEMPLATE)).input_tokens
    assert whole(tokens.inner_text()) == exact
    assert abs(estimate - exact) / exact < 0.03
