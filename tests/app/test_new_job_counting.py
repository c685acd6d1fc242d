"""The background count of a big table: a count nobody waits for any more stops, the page says
that the rows are still being checked while they are, and Submit never acts on checks still
running."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, cast

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import ui.preflight
from batchdash.preflight.plan import BatchPlan, PlanStopped
from batchdash.recipe import Recipe
from tests.app.conftest import JOBS, joined, texts, until_counted
from tests.app.files import many_rows_csv
from tests.app.test_new_job_bad_inputs import upload
from ui import counting, state

ROWS = 25_000
WIDTH = 50
STILL_CHECKING = "Still checking every row"


class HeldCounts:
    """Background counts that cannot finish until `finish` is set: each waits between its
    chunks of rows (asking its own stop check meanwhile), so a test decides which count is
    overtaken while it runs."""

    def __init__(self, plan_batch: Any) -> None:
        self._plan_batch = plan_batch
        self.finish = threading.Event()
        self.started: list[str] = []

    def plan(
        self, frame: pd.DataFrame, recipe: Recipe, *, should_stop: Any, **options: Any
    ) -> BatchPlan:
        self.started.append(recipe.template)

        def stop_or_wait() -> bool:
            while not self.finish.wait(0.01):
                if should_stop():
                    return True
            return bool(should_stop())

        plan: BatchPlan = self._plan_batch(frame, recipe, should_stop=stop_or_wait, **options)
        return plan


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldCounts]:
    counts = HeldCounts(ui.preflight.plan_batch)
    monkeypatch.setattr(ui.preflight, "plan_batch", counts.plan)
    yield counts
    counts.finish.set()


def this_count(at: AppTest) -> Future[BatchPlan]:
    future: Future[BatchPlan] = at.session_state[counting._SESSION_KEY].future
    return future


def edit_template(at: AppTest, template: str) -> None:
    at.text_area(key=state.TEMPLATE).set_value(template).run()
    assert not at.exception


def dialog_open(at: AppTest) -> bool:
    return any(widget.key == state.JOB_NAME for widget in at.text_input)


def test_a_template_edited_again_stops_the_count_of_the_one_before(
    app: AppTest, held: HeldCounts
) -> None:
    held.finish.set()
    upload(app, "many.csv", many_rows_csv(ROWS, width=WIDTH))
    until_counted(app)
    held.finish.clear()

    edit_template(app, "First: {prompt}")
    first = this_count(app)
    edit_template(app, "Second: {prompt}")

    # The first count gives up between two chunks (it can never finish here) and no plan of
    # it is kept; the second is the one the page waits for.
    assert isinstance(first.exception(timeout=60), PlanStopped)
    assert counting.stopped(first)
    second = this_count(app)
    assert second is not first and not second.done()

    # Changing one's mind back to the first template counts it afresh, and it finishes.
    edit_template(app, "First: {prompt}")
    assert isinstance(second.exception(timeout=60), PlanStopped)
    held.finish.set()
    until_counted(app)
    assert held.started[-3:] == ["First: {prompt}", "Second: {prompt}", "First: {prompt}"]
    assert STILL_CHECKING not in joined(app, "info")
    assert [button for button in app.button if button.key == "submit_button"]


def test_leaving_new_job_stops_its_count(app: AppTest, held: HeldCounts) -> None:
    upload(app, "many.csv", many_rows_csv(ROWS, width=WIDTH))
    running = this_count(app)
    assert not running.done()

    app.switch_page(JOBS).run()

    assert not app.exception
    assert isinstance(running.exception(timeout=60), PlanStopped)


def test_the_page_says_the_rows_are_still_checked_until_a_row_problem_can_be_known(
    app: AppTest,
) -> None:
    # One row needs more input tokens than the enqueued-token limit allows a row: only the
    # count of every row can find it.
    data = many_rows_csv(ROWS, width=WIDTH) + b"Question " + b"about the weather " * 40 + b"\n"
    app.session_state[state.TOKEN_LIMITS] = {"gpt-4o-mini": 60}
    upload(app, "many.csv", data)
    until_counted(app)
    too_long = f"The requests of row {ROWS + 1} alone need more input tokens"
    assert too_long in joined(app, "error")

    edit_template(app, "Answer briefly: {prompt}")

    # While the rows are counted the page says so plainly, before any problem it lists, and
    # names what it cannot know yet; nothing can be submitted.
    info = joined(app, "info")
    assert STILL_CHECKING in info and "a row too long for the model" in info
    assert too_long not in joined(app, "error")
    assert not [button for button in app.button if button.key == "submit_button"]

    until_counted(app)

    assert too_long in joined(app, "error")
    assert STILL_CHECKING not in joined(app, "info")


def test_a_submit_clicked_as_the_recipe_changes_waits_for_the_checks(app: AppTest) -> None:
    upload(app, "many.csv", many_rows_csv(ROWS, width=WIDTH))
    until_counted(app)

    # The template edited and Submit clicked at once (the button was still on the page).
    app.text_area(key=state.TEMPLATE).set_value("Answer briefly: {prompt}")
    app.button(key="submit_button").click().run()

    assert not app.exception
    assert not dialog_open(app)
    assert "Not submitted: the rows are still being checked" in joined(app, "warning")

    until_counted(app)

    # Once checked, no dialog opens by itself: Submit is offered again.
    assert not dialog_open(app)
    assert "Not submitted" not in " ".join(texts(app, "warning"))
    app.button(key="submit_button").click().run()
    assert dialog_open(app)


def _waiting_count(gate: threading.Event) -> counting.Counting:
    """A count that ends when `gate` is set, or stops (PlanStopped) when told to."""

    def compute(should_stop: Callable[[], bool]) -> BatchPlan:
        while not gate.wait(0.01):
            if should_stop():
                raise PlanStopped
        return cast(BatchPlan, "the plan")

    return compute


def test_a_count_another_session_waits_for_goes_on_and_one_nobody_holds_stops() -> None:
    counts = counting.BackgroundCounts()
    gate = threading.Event()
    try:
        # A count held by one session only, running: its session's state is dropped (the tab
        # was closed), and the count stops between two chunks.
        alone = counts.hold("alone", _waiting_count(gate))
        hold = counting._Hold("alone", alone, counts)
        while not alone.running():
            gate.wait(0.01)
        del hold
        gc.collect()
        assert isinstance(alone.exception(timeout=60), PlanStopped)

        # A count two sessions wait for: one edits its template, the other still gets it.
        mine = counts.hold("shared", _waiting_count(gate))
        theirs = counts.hold("shared", _waiting_count(gate))
        assert mine is theirs
        counts.release("shared")
        gate.set()
        assert theirs.result(timeout=60) == "the plan"
    finally:
        gate.set()
        counts.close()
