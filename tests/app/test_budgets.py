"""Budgets on the pages: Settings saves and removes the limits and shows the month's spend; New
job's submit dialog refuses a job over a limit with the figures, keeps everything entered, and
submits once the limit is raised."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from batchdash.i18n import use_language
from batchdash.preflight.budget import JOB_LIMIT, MONTH_LIMIT
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.app.conftest import SETTINGS, MakeApp, joined
from tests.app.files import REVIEWS_CSV
from tests.app.job_pages import SCOPE as JOBS_SCOPE
from tests.app.job_pages import Pages, pages
from tests.app.test_new_job_bad_inputs import upload
from tests.app.test_new_job_twin import NEW_JOB, SCOPE, open_submit
from ui import state

__all__ = ["pages"]  # the fixture, used by name


def _saved(data_dir: Path, name: str) -> object:
    registry = Registry(default_db_url(data_dir))
    try:
        return registry.preference(SCOPE, name)
    finally:
        registry.close()


def _box(app: AppTest, name: str) -> str:
    return f"budget_text:{name}:{SCOPE}"


def test_a_limit_is_saved_refused_when_nonsense_and_removed(app: AppTest, data_dir: Path) -> None:
    app.switch_page(SETTINGS).run()
    assert "Budgets" in [header.value for header in app.subheader]
    app.text_input(key=_box(app, MONTH_LIMIT)).set_value("ten dollars").run()
    assert joined(app, "error") == (
        "The limit per month is 'ten dollars', which is not an amount of dollars: write a "
        "number above zero, like 25 or 2.50, or leave it empty for no limit."
    )
    assert app.text_input(key=_box(app, MONTH_LIMIT)).value == "ten dollars"  # kept to fix
    assert _saved(data_dir, MONTH_LIMIT) is None
    app.text_input(key=_box(app, MONTH_LIMIT)).set_value("$1,250.50").run()
    assert not app.error
    assert _saved(data_dir, MONTH_LIMIT) == 1250.5
    assert [m.label for m in app.metric][-1] == "Left under the month's limit"
    app.text_input(key=_box(app, MONTH_LIMIT)).set_value("").run()
    assert _saved(data_dir, MONTH_LIMIT) is None
    assert "Left under the month's limit" not in [m.label for m in app.metric]


def test_a_submit_over_the_job_limit_is_refused_then_goes_through_once_raised(
    app: AppTest, data_dir: Path
) -> None:
    app.switch_page(SETTINGS).run()
    app.text_input(key=_box(app, JOB_LIMIT)).set_value("0.000001").run()
    spent_before = {m.label: m.value for m in app.metric}
    assert spent_before["Unfinished jobs, at most"] == "$0.00"
    app.switch_page(NEW_JOB).run()
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    open_submit(app)
    refusal = joined(app, "error")
    assert refusal.startswith("This may cost up to $0.019665, more than")
    assert "more than the limit of $0.000001 per job" in refusal
    assert "raise the limit under Settings > Budgets" in refusal
    assert "The sandbox bills nothing, but the limits are checked" in joined(app, "caption")
    assert not [b for b in app.button if b.key == "submit_confirm"]

    app.button(key="budget_settings").click().run()
    assert app.header[0].value == "Settings"
    app.text_input(key=_box(app, JOB_LIMIT)).set_value("5").run()
    assert _saved(data_dir, JOB_LIMIT) == 5.0
    app.switch_page(NEW_JOB).run()
    # Back on New job the dialog does not open by itself; the recipe is as it was.
    assert not app.session_state[state.SUBMIT_OPEN]
    assert app.text_area(key=state.TEMPLATE).value == "Classify: {text}"
    open_submit(app)
    assert not app.error
    app.button(key="submit_confirm").click().run()
    assert not app.exception
    assert app.header[0].value == "Jobs"

    app.switch_page(SETTINGS).run()
    spent_after = {m.label: m.value for m in app.metric}
    figures = (spent_after["Spent this month"], spent_after["Unfinished jobs, at most"])
    assert figures != ("$0.00", "$0.00")  # the job counts, finished or not
    assert "reached the limit" not in joined(app, "warning")

    # A month's limit below what the month has taken already: said, not left at "$0.00 left".
    app.text_input(key=_box(app, MONTH_LIMIT)).set_value("0.000001").run()
    warning = joined(app, "warning")
    assert "This month's jobs have reached the limit of $0.000001 per month" in warning, warning
    assert "every new job is refused until the month ends or the limit is raised" in warning


def test_the_refusal_is_in_chinese_for_a_chinese_analyst(make_app: MakeApp, data_dir: Path) -> None:
    app = make_app()
    app.session_state[state.LANGUAGE] = "zh-CN"
    with use_language("zh-CN"):
        app.run()
        registry = Registry(default_db_url(data_dir))
        registry.set_preference(SCOPE, JOB_LIMIT, 0.000001)
        registry.close()
        upload(app, "reviews.csv", REVIEWS_CSV)
        app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
        open_submit(app)
        refusal = joined(app, "error")
        assert "超过了单个任务上限 $0.000001" in refusal and "设置 > 预算" in refusal
        app.switch_page(SETTINGS).run()
        assert "预算" in [header.value for header in app.subheader]
        assert "本月已花费" in [metric.label for metric in app.metric]


def test_a_repair_over_the_job_limit_is_refused_on_the_jobs_page(pages: Pages) -> None:
    job_id = pages.finished_job("Flaky", {0: "[[sandbox:flaky]]", 2: "[[sandbox:flaky]]"})
    pages.registry.set_preference(JOBS_SCOPE, JOB_LIMIT, 0.000001)
    at = pages.open()
    at.button(key="repair_rows").click().run()
    at.button(key="repair_confirm").click().run()
    assert not at.exception
    assert "more than the limit of $0.000001 per job" in joined(at, "error")
    assert len(pages.registry.parts(job_id)) == 1  # nothing added, nothing sent
    pages.registry.set_preference(JOBS_SCOPE, JOB_LIMIT, None)
    at.button(key="repair_confirm").click().run()
    assert "Sent 2 rows of Flaky again as batch_" in joined(at, "success")
