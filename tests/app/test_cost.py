"""Honest cost on the pages: the preview's input cost and answers' upper bound, the projection a
try adds, and estimate beside actual on Jobs and Results, all worded "would cost" in Sandbox
mode and rounded alike."""

from __future__ import annotations

import re
from decimal import Decimal

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from batchdash.money import usd, usd_all
from batchdash.preflight.pricing import ModelPrice, require_price
from tests.app.conftest import JOBS, RESULTS, joined, rerun_until
from tests.app.files import REVIEWS_CSV
from tests.app.job_pages import Pages, pages
from tests.app.test_new_job_bad_inputs import upload
from ui import state

__all__ = ["pages"]

PRICE = require_price("gpt-4o-mini")


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


#: A dollar amount's digits in a sentence.
AMOUNT = re.compile(r"\$([\d,]+\.\d+)")


def decimals(text: str) -> int:
    """Decimals of the dollar figure in `text`."""
    match = re.search(r"\$\d[\d,]*\.(\d+)", text)
    assert match, text
    return len(match.group(1))


def dollars(text: str) -> float:
    """The dollar figure in `text`."""
    match = re.search(r"\$([\d,]+\.\d+)", text)
    assert match, text
    return float(match.group(1).replace(",", ""))


def test_the_preview_prices_the_answers_and_a_try_projects_them(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Summarise: {text}").run()
    app.number_input(key=state.MAX_OUTPUT_TOKENS).set_value(200).run()

    shown = metrics(app)
    tokens = int(shown["Input tokens"].replace(",", ""))
    input_cost, answers_max = usd_all([PRICE.cost(tokens, 0), PRICE.cost(0, 4 * 200)])
    assert shown["Input would cost"] == input_cost
    assert shown["Answers would cost at most"] == answers_max
    assert not [label for label in shown if "projected" in label]
    assert not {"Batch price", "Actual cost", "Estimated cost"} & set(shown)
    caption = joined(app, "caption")
    assert "each answer at most 200 tokens, as Max output tokens says" in caption
    assert "Try on 3 rows to see the answers' cost projected" in caption

    app.button(key="try_rows").click().run()

    shown = metrics(app)
    tried = [int(n) for n in re.findall(r"and (\d+) output tokens", joined(app, "caption"))]
    assert len(tried) == 3
    expected = PRICE.cost(tokens, sum(tried) / 3 * 4)
    projected = shown["Would cost (projected from 3 rows)"]
    assert projected == "≈ " + usd_all([PRICE.cost(tokens, 0), PRICE.cost(0, 800), expected])[2]
    assert decimals(projected) == decimals(shown["Input would cost"])
    assert "projected from the 3 tried rows' answer lengths" in joined(app, "caption")
    # The caption's total and its two parts: the parts add up to the total as shown.
    sentence = next(
        line for line in joined(app, "caption").splitlines() if "would cost about" in line
    )
    total, input_part, answers_part = (
        Decimal(n.replace(",", "")) for n in AMOUNT.findall(sentence)[:3]
    )
    assert input_part + answers_part == total, sentence


def test_the_answers_bound_falls_back_to_the_models_output_limit(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()

    shown = metrics(app)
    assert (
        shown["Answers would cost at most"]
        == usd_all([PRICE.cost(int(shown["Input tokens"]), 0), PRICE.cost(0, 4 * 16_384)])[1]
    )
    assert "16,384 tokens, the most gpt-4o-mini writes" in joined(app, "caption")


def test_a_structured_recipe_says_its_input_cost_is_approximate(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()
    app.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS).run()

    assert metrics(app)["Input would cost"].startswith("≈ $")
    help_text = next(m.help for m in app.metric if m.label == "Input would cost")
    assert "approximate" in help_text


def jobs_table(at: AppTest) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if "estimated_cost_usd" in df.value.columns)


@pytest.mark.parametrize("tried_first", [True, False])
def test_jobs_and_results_show_estimate_beside_what_it_would_cost(
    app: AppTest, tried_first: bool
) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Summarise: {text}").run()
    if tried_first:
        app.button(key="try_rows").click().run()
    app.button(key="submit_button").click().run()
    dialog = metrics(app)["Would cost (estimate)"]
    assert dialog.startswith("≈ $") if tried_first else dialog.endswith(" + answers")
    app.button(key="submit_confirm").click().run()
    app.switch_page(JOBS).run()
    rerun_until(app, lambda: jobs_table(app).iloc[0]["status"] == "Completed")

    table = jobs_table(app)
    estimate, actual = table.iloc[0][["estimated_cost_usd", "actual_cost_usd"]]
    assert estimate.startswith("≈ $") if tried_first else estimate.endswith(" + answers")
    assert decimals(estimate) == decimals(actual)

    app.switch_page(RESULTS).run()
    shown = metrics(app)
    assert "Actual cost" not in shown and "Estimate (input only)" not in shown
    estimate, actual = shown["Would cost (estimate)"], shown["Would cost (actual)"]
    assert decimals(estimate) == decimals(actual)
    assert estimate.startswith("≈ $") if tried_first else estimate.endswith(" + answers")
    caption = joined(app, "caption")
    assert ("projected from the rows tried first" in caption) is tried_first
    # Every dollar figure of the sentence has the same rounding as the metrics.
    sentence = next(line for line in caption.splitlines() if line.startswith("Estimate:"))
    assert {decimals("$" + part) for part in sentence.split("$")[1:]} == {decimals(actual)}
    if tried_first:
        input_part, answers_part = (
            Decimal(n.replace(",", "")) for n in AMOUNT.findall(sentence)[:2]
        )
        assert input_part + answers_part == Decimal(estimate.removeprefix("≈ $")), sentence
    assert usd(None) not in actual


def test_the_jobs_table_rounds_every_cost_alike(pages: Pages) -> None:
    # A small and a larger job, the larger one priced in this session at a hundred times the
    # list price: its cost is cents, the small one's millionths, and still one rounding.
    pages.finished_job("Small", rows=2)
    pages.finished_job("Larger", rows=40)
    pages.at.session_state[state.PRICE_OVERRIDES] = {"gpt-4o-mini": ModelPrice(15.0, 60.0)}
    at = pages.open(JOBS)

    table = jobs_table(at)
    cells = [*table["estimated_cost_usd"], *table["actual_cost_usd"]]
    assert all("$" in cell for cell in cells)
    assert max(dollars(cell) for cell in cells) >= 0.01 > min(dollars(cell) for cell in cells)
    assert len({decimals(cell) for cell in cells}) == 1
    assert all(cell.endswith(" + answers") for cell in table["estimated_cost_usd"])
