"""Heavy work on New job runs only when its inputs change, never on an unrelated widget."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import ui.cached
from tests.app.files import many_rows_csv
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.memo import CACHE_SWITCH

ROWS = 2_000


@dataclass
class Calls:
    """Rows handed to each core call, in call order."""

    reads: list[str] = field(default_factory=list)
    plans: list[int] = field(default_factory=list)

    def clear(self) -> None:
        self.reads.clear()
        self.plans.clear()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    """Count the parsing and preflight calls the page makes (they still run for real)."""
    seen = Calls()
    read_table, plan_batch = ui.cached.read_table, ui.cached.plan_batch

    def counted_read(data: bytes, filename: str, **options: Any) -> Any:
        seen.reads.append(filename)
        return read_table(data, filename, **options)

    def counted_plan(frame: Any, recipe: Any, **options: Any) -> Any:
        seen.plans.append(len(frame))
        return plan_batch(frame, recipe, **options)

    monkeypatch.setattr(ui.cached, "read_table", counted_read)
    monkeypatch.setattr(ui.cached, "plan_batch", counted_plan)
    yield seen


def loaded(app: AppTest, calls: Calls) -> AppTest:
    upload(app, "many.csv", many_rows_csv(ROWS))
    app.text_area(key=state.TEMPLATE).set_value("Answer: {prompt}").run()
    assert calls.reads == ["many.csv"]
    assert ROWS in calls.plans
    calls.clear()
    return app


def test_a_new_temperature_recounts_only_the_sample(app: AppTest, calls: Calls) -> None:
    loaded(app, calls)

    app.number_input(key=state.TEMPERATURE).set_value(0.4).run()
    app.number_input(key=state.MAX_OUTPUT_TOKENS).set_value(100).run()

    assert calls.reads == []
    assert calls.plans and max(calls.plans) <= 3
    assert not app.exception


def test_unrelated_widgets_compute_nothing(app: AppTest, calls: Calls) -> None:
    loaded(app, calls)

    app.button(key="try_rows").click().run()
    app.button(key="submit_button").click().run()
    app.text_input(key=state.JOB_NAME).set_value("renamed").run()

    # The dialog needs the plan of the whole recipe, which (no parameters set) is the one
    # already counted.
    assert calls.reads == []
    assert calls.plans == []
    assert not app.exception


def test_a_new_template_recounts_every_row_once(app: AppTest, calls: Calls) -> None:
    loaded(app, calls)

    app.text_area(key=state.TEMPLATE).set_value("Reply to: {prompt}").run()
    app.run()

    assert calls.reads == []
    assert sorted(calls.plans) == [3, ROWS]


def test_an_earlier_template_comes_back_from_the_cache(app: AppTest, calls: Calls) -> None:
    loaded(app, calls)
    app.text_area(key=state.TEMPLATE).set_value("Reply to: {prompt}").run()
    calls.clear()

    app.text_area(key=state.TEMPLATE).set_value("Answer: {prompt}").run()

    assert calls.plans == []


def test_the_cache_switch_recomputes_everything(
    app: AppTest, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded(app, calls)
    monkeypatch.setenv(CACHE_SWITCH, "off")

    app.number_input(key=state.TEMPERATURE).set_value(0.4).run()

    assert calls.reads == ["many.csv"]
    assert sorted(calls.plans) == [3, ROWS]
