"""An analyst moderates comments: picks Moderation, picks two score columns, changes their mind
about one, submits to the sandbox, downloads the merged CSV and checks the flagged column."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import submit_job, upload_file

pytestmark = pytest.mark.e2e

COMMENTS = [
    "Lovely stay, the staff were kind.",
    "I will hurt the next waiter who is late, you idiot.",
    "Breakfast was fine.",
    "You are all idiots.",
]


def comments_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ref", "prompt"])
    writer.writerows([f"{n:03d}", text] for n, text in enumerate(COMMENTS, start=1))
    return out.getvalue().encode()


def score_box(page: Page) -> Locator:
    """The moderation recipe's "Score columns" picker."""
    return page.get_by_test_id("stMultiSelect").filter(has_text="Score columns")


def choose_category(page: Page, category: str) -> None:
    score_box(page).click()
    page.keyboard.type(category)
    page.get_by_role("option").filter(has_text=re.compile(f"^{re.escape(category)}$")).click()
    page.keyboard.press("Escape")
    wait_idle(page)


def test_moderate_comments_with_chosen_score_columns(page: Page, served_app: ServedApp) -> None:
    open_page(page, served_app)
    upload_file(page, "comments.csv", comments_csv(), len(COMMENTS))

    # Typing filters the options, as an analyst who knows what they want does.
    page.get_by_test_id("stSelectbox").filter(has_text="Endpoint").click()
    page.keyboard.type("Moder")
    page.get_by_role("option").filter(has_text="Moderation").click()
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Model")).to_have_value("omni-moderation-latest")
    expect(score_box(page)).to_be_visible(timeout=STEP_TIMEOUT)

    choose_category(page, "violence")
    choose_category(page, "self-harm")
    expect(score_box(page)).to_contain_text("self-harm")
    screenshot(page, "60-moderation-two-categories")

    # Second thoughts: self-harm is not what this job is about; harassment is.
    score_box(page).get_by_role("button", name=re.compile("Remove self-harm|Delete")).first.click()
    wait_idle(page)
    expect(score_box(page)).not_to_contain_text("self-harm")
    choose_category(page, "harassment")
    expect(score_box(page)).to_contain_text("violence")
    expect(score_box(page)).to_contain_text("harassment")
    screenshot(page, "61-moderation-recipe")

    submit_job(page, "Comment moderation")
    expect(page.get_by_text("Comment moderation · Completed", exact=True)).to_be_visible(
        timeout=90_000
    )
    screenshot(page, "62-moderation-job")

    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    screenshot(page, "63-moderation-results")
    with page.expect_download(timeout=STEP_TIMEOUT) as started:
        page.get_by_role("button", name="Merged CSV").click()
    text = Path(started.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = next(csv.reader(io.StringIO(text)))

    # Score columns follow the API's order of categories, whatever order they were picked in.
    expected = ["ref", "prompt", "response", "flagged", "score_harassment", "score_violence"]
    assert header[:6] == expected
    assert header[6] == "custom_id"
    assert "score_self_harm" not in header
    assert [row["ref"] for row in rows] == ["001", "002", "003", "004"]
    assert [row["flagged"] for row in rows] == ["no", "yes", "no", "yes"]
    assert [row["status"] for row in rows] == ["ok"] * 4
    assert float(rows[1]["score_violence"]) >= 0.5
    assert float(rows[3]["score_harassment"]) >= 0.5
    assert float(rows[0]["score_violence"]) < 0.05
    assert rows[1]["response"] == "harassment, violence"
