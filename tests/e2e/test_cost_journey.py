"""Honest cost in a real browser: the preview prices the input and bounds the answers, a try
projects them, a changed recipe drops the projection until the next try, and after the run
Results sets what the job would cost beside the estimate (Sandbox mode: "would cost")."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.app.test_cost import AMOUNT
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import upload_file, write_template
from tests.e2e.test_provider_journey import open_select
from tests.e2e.test_whole_path import BATCH_TIMEOUT, job_heading, metric, open_results

pytestmark = pytest.mark.e2e

# Free-text reviews of mixed length and language, with the ID column analysts keep.
REVIEWS = [
    "Arrived on time, works as described.",
    "The strap broke after two days and support never answered my e-mails about it.",
    "Great value 😀",
    "质量很好，物流也快，下次还会再买。",
    "Colour is nothing like the photo; returned it.",
    "Battery lasts a full week, the screen is sharp even in sun, and set-up took minutes.",
    "OK.",
    "房间干净，服务员态度很好，但是早餐种类太少了。",
    "Smaller than expected but does the job.",
    "Two of the six glasses were cracked in the box.",
    "Would buy again!!!",
    "The instructions are only in German, which made assembly a guessing game.",
]


def dollars(text: str) -> tuple[float, int]:
    """The dollar figure in `text` and its decimals."""
    match = re.search(r"\$([\d,]+)\.(\d+)", text)
    assert match, text
    return float(f"{match.group(1).replace(',', '')}.{match.group(2)}"), len(match.group(2))


def metric_value(card: Locator) -> str:
    return card.get_by_test_id("stMetricValue").inner_text()


def test_preview_try_and_run_put_the_estimate_beside_what_it_would_cost(
    page: Page, served_app: ServedApp
) -> None:
    open_page(page, served_app)
    data = "id,review\n" + "".join(f'{n:03d},"{text}"\n' for n, text in enumerate(REVIEWS, 1))
    upload_file(page, "reviews.csv", data.encode(), 12)
    write_template(page, "Summarise this review in one sentence: {review}")

    # The models offered for Chat Completions answer chat: the sandbox lists image, embedding
    # and moderation models too, as OpenAI's list does, and none of them is offered here.
    open_select(page, "Model")
    offered = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    wait_idle(page)
    assert "gpt-4o-mini" in offered, offered
    assert not {
        "dall-e-3",
        "gpt-image-1",
        "text-embedding-3-small",
        "omni-moderation-latest",
    } & set(offered), offered

    # Before a try: the input priced, the answers bounded by the model's limit, no projection.
    expect(metric(page, "Input would cost")).to_contain_text("$", timeout=STEP_TIMEOUT)
    expect(metric(page, "Answers would cost at most")).to_contain_text("$")
    expect(page.get_by_text("the most gpt-4o-mini writes", exact=False)).to_be_visible()
    projected = metric(page, "Would cost (projected from 3 rows)")
    expect(projected).to_have_count(0)
    expect(page.get_by_text("Actual cost")).to_have_count(0)
    screenshot(page, "20-cost-preview")

    page.get_by_role("button", name="Try on 3 rows").click()
    expect(projected).to_contain_text("≈ $", timeout=STEP_TIMEOUT)
    screenshot(page, "21-cost-projected")

    # A changed recipe drops the projection until the next try brings it back.
    write_template(page, "Summarise this review in one short sentence: {review}")
    expect(page.get_by_text("The recipe changed since the last try")).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    expect(projected).to_have_count(0)
    page.get_by_role("button", name="Try on 3 rows").click()
    expect(projected).to_contain_text("≈ $", timeout=STEP_TIMEOUT)
    wait_idle(page)
    expected, places = dollars(metric_value(projected))
    assert dollars(metric_value(metric(page, "Input would cost")))[1] == places
    # The caption's total and its two parts, as the analyst reads them, add up.
    sentence = page.get_by_text("The job would cost about", exact=False).inner_text()
    total, for_input, for_answers = (
        Decimal(n.replace(",", "")) for n in AMOUNT.findall(sentence)[:3]
    )
    assert for_input + for_answers == total, sentence

    page.get_by_role("button", name="Submit job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(
        dialog.get_by_test_id("stMetric").filter(has_text="Would cost (estimate)")
    ).to_contain_text("≈ $")
    field = dialog.get_by_role("textbox", name="Job name")
    field.fill("Costed summaries")
    field.press("Enter")
    wait_idle(page)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(job_heading(page, "Costed summaries", "Completed")).to_be_visible(timeout=BATCH_TIMEOUT)
    screenshot(page, "22-cost-jobs")

    open_results(page)
    estimate = metric_value(metric(page, "Would cost (estimate)"))
    actual = metric_value(metric(page, "Would cost (actual)"))
    assert estimate.startswith("≈ $")
    assert dollars(estimate)[1] == dollars(actual)[1]  # one rounding side by side
    assert dollars(estimate)[0] == pytest.approx(expected, abs=10**-places)
    assert 1 / 1.5 <= dollars(estimate)[0] / dollars(actual)[0] <= 1.5
    expect(page.get_by_text("projected from the rows tried first", exact=False)).to_be_visible()
    expect(page.get_by_text("Actual cost", exact=True)).to_have_count(0)
    screenshot(page, "23-cost-results")
