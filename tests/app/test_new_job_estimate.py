"""A template edit on a big table answers at once: the figures shown meanwhile say they are
estimates (≈), the exact count replaces them once made in the background, and nothing can be
downloaded or submitted on an estimate."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import ui.cached
from batchdash.money import usd_all
from batchdash.preflight.cost import estimate_cost
from batchdash.preflight.plan import plan_batch
from batchdash.preflight.pricing import require_price
from batchdash.recipe import Recipe
from tests.app.conftest import joined, until_counted
from tests.app.files import many_rows_csv
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.preflight import SYNC_CHARACTERS

#: Rows of about 50 characters: more prompt text than is counted before the page is drawn.
ROWS = 25_000
WIDTH = 50
PRICE = require_price("gpt-4o-mini")


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: str(metric.value) for metric in at.metric}


def whole(text: str) -> int:
    return int(text.lstrip("≈ ").replace(",", ""))


def exact_tokens(data: bytes, template: str) -> int:
    frame = pd.read_csv(io.BytesIO(data), dtype="str", keep_default_na=False)
    return plan_batch(frame, Recipe(template=template)).input_tokens


def test_a_template_edit_shows_estimates_until_every_row_is_counted(app: AppTest) -> None:
    data = many_rows_csv(ROWS, width=WIDTH)
    assert ROWS * WIDTH > SYNC_CHARACTERS
    upload(app, "many.csv", data)
    until_counted(app)

    app.text_area(key=state.TEMPLATE).set_value("Answer briefly: {prompt}").run()

    shown = metrics(app)
    assert shown["Rows"] == f"{ROWS:,}"
    assert shown["Input tokens"].startswith("≈ ")
    assert shown["Batches"] == "–"
    assert shown["Input would cost"].startswith("≈ $")
    assert "Counting the tokens of every row" in joined(app, "info")
    assert "Download and submit open once every row is counted" in joined(app, "caption")
    assert not app.get("download_button")
    assert not [button for button in app.button if button.key == "submit_button"]
    # The preview of the first requests is there at once.
    assert "Answer briefly: Question number 0000000" in app.code[0].value
    estimate = whole(shown["Input tokens"])

    until_counted(app)

    counted = metrics(app)
    tokens = exact_tokens(data, "Answer briefly: {prompt}")
    assert whole(counted["Input tokens"]) == tokens
    assert counted["Input tokens"] == f"{tokens:,}"
    assert abs(estimate - tokens) / tokens < 0.03
    assert counted["Batches"] == "1"
    input_cost, _ = usd_all([PRICE.cost(tokens, 0), None])
    assert counted["Input would cost"] == input_cost
    assert "Counting the tokens" not in joined(app, "info")
    assert app.get("download_button")
    assert [button for button in app.button if button.key == "submit_button"]


def test_the_submit_dialog_counts_every_row_exactly(app: AppTest) -> None:
    data = many_rows_csv(ROWS, width=WIDTH)
    upload(app, "many.csv", data)
    app.text_area(key=state.TEMPLATE).set_value("Q: {prompt}").run()
    until_counted(app)
    app.number_input(key=state.TEMPERATURE).set_value(0.5).run()

    app.button(key="submit_button").click().run()

    assert not app.exception
    tokens = exact_tokens(data, "Q: {prompt}")
    estimate = estimate_cost(Recipe(template="Q: {prompt}", temperature=0.5), ROWS, tokens, PRICE)
    _, input_cost, _ = usd_all([None, estimate.input_usd, estimate.answers_max_usd])
    assert metrics(app)["Would cost (estimate)"] == f"{input_cost} + answers"


def test_a_small_table_is_counted_before_the_page_is_drawn(app: AppTest) -> None:
    upload(app, "few.csv", many_rows_csv(2_000, width=WIDTH))
    app.text_area(key=state.TEMPLATE).set_value("Answer briefly: {prompt}").run()

    shown = metrics(app)
    assert "≈" not in shown["Input tokens"] + shown["Input would cost"]
    assert shown["Batches"] == "1"
    assert "Counting the tokens" not in joined(app, "info")


def test_the_dialog_takes_the_pages_count_when_no_parameter_changes_it(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(app, "many.csv", many_rows_csv(ROWS, width=WIDTH))
    until_counted(app)
    planned: list[int] = []
    plan = ui.cached.plan_batch

    def counted_plan(frame: pd.DataFrame, recipe: Recipe, **options: Any) -> Any:
        planned.append(len(frame))
        return plan(frame, recipe, **options)

    monkeypatch.setattr(ui.cached, "plan_batch", counted_plan)

    app.button(key="submit_button").click().run()

    assert not app.exception
    assert app.text_input(key=state.JOB_NAME).value  # the dialog is open
    assert ROWS not in planned
