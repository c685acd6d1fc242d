"""New job's submit dialog offers how to run the job: as a batch at half price, or directly at
the normal price (each with its cost), and a direct submission runs in the app server's
background and opens Jobs on it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from batchdash.direct.adaptive_limit import DEFAULT_CONCURRENCY
from batchdash.direct.jobs import is_direct_job
from batchdash.i18n import use_language
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.conftest import JOBS, RESULTS, joined
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from tests.app.test_new_job_twin import open_submit
from ui import direct_runs, state

SCOPE = owner_scope("sandbox", "sandbox")


def reviews_in_dialog(app: AppTest) -> None:
    """Upload the reviews, write a template and open the submit dialog."""
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    open_submit(app)


def test_the_dialog_offers_a_batch_or_a_direct_run_with_the_cost_of_each(app: AppTest) -> None:
    reviews_in_dialog(app)

    way = app.radio(key=state.RUN_WAY)
    assert way.options == ["As a batch, at half price", "Run directly, at the normal price"]
    assert way.value == "batch"
    captions = list(way.proto.captions)
    assert captions[0].startswith("Estimated ") and "(up to 24 h)" in captions[0]
    assert captions[1].startswith("Estimated ") and "a few at once" in captions[1]
    assert app.button(key="submit_confirm").label == "Submit"
    assert [metric.label for metric in app.metric][-3:-1] == ["Rows", "Batches"]
    batch_cost = app.metric[-1].value

    way.set_value("direct").run()

    assert not app.exception
    assert app.number_input(key=state.DIRECT_CONCURRENCY).value == DEFAULT_CONCURRENCY
    # The dialog's metrics come last: no batches for a direct run.
    assert [metric.label for metric in app.metric][-3:-1] != ["Rows", "Batches"]
    assert app.metric[-2].label == "Rows"
    assert app.metric[-1].value != batch_cost  # the normal price: twice the batch one
    assert "synchronous route" in joined(app, "info")
    assert app.button(key="submit_direct").label == "Run directly"


def test_the_way_picked_outlives_closing_the_dialog_until_a_job_is_made(app: AppTest) -> None:
    reviews_in_dialog(app)
    app.radio(key=state.RUN_WAY).set_value("direct").run()
    app.number_input(key=state.DIRECT_CONCURRENCY).set_value(3).run()
    app.button(key="submit_direct_keep").click().run()  # "Not now"
    assert not app.session_state[state.SUBMIT_OPEN]

    open_submit(app)
    assert app.radio(key=state.RUN_WAY).value == "direct"
    assert app.number_input(key=state.DIRECT_CONCURRENCY).value == 3

    # Once a job is made, the next one starts from the cheaper way again.
    app.button(key="submit_direct").click().run()
    assert app.header[0].value == "Jobs"
    run = direct_runs.handle(app.session_state[state.SELECTED_JOB])
    assert run is not None and run.join(60)
    open_submit(app)
    assert app.radio(key=state.RUN_WAY).value == "batch"


def test_a_direct_submission_runs_in_the_background_and_opens_jobs_on_it(
    app: AppTest, data_dir: Path
) -> None:
    reviews_in_dialog(app)
    app.radio(key=state.RUN_WAY).set_value("direct").run()
    app.number_input(key=state.DIRECT_CONCURRENCY).set_value(3).run()

    app.button(key="submit_direct").click().run()

    assert not app.exception
    assert app.header[0].value == "Jobs"
    job_id = app.session_state[state.SELECTED_JOB]
    run = direct_runs.handle(job_id)
    assert run is not None
    assert run.join(60), "the direct run did not end"
    assert run.error is None
    registry = Registry(default_db_url(data_dir))
    try:
        assert [job.id for job in registry.list_jobs(SCOPE)] == [job_id]
        assert is_direct_job(registry.parts(job_id))
    finally:
        registry.close()
    app.switch_page(JOBS).run()
    assert not app.exception
    assert "Sent directly: 4 of 4 requests answered; 4 calls made." in joined(app, "caption")
    app.switch_page(RESULTS).run()
    assert not app.exception
    assert "result files" not in joined(app, "caption")  # no batch file to keep
    assert {str(m.label): str(m.value) for m in app.metric}["Rows ok"] == "4"


def test_the_ways_to_run_in_chinese(app: AppTest) -> None:
    app.session_state[state.LANGUAGE] = "zh-CN"
    # AppTest maps each picked value to its label in the test's thread: in the page's language.
    with use_language("zh-CN"):
        reviews_in_dialog(app)
        way = app.radio(key=state.RUN_WAY)
        assert way.label == "运行方式"
        assert way.options == ["以批处理运行，半价", "直接运行，按标准价格"]
        way.set_value("direct").run()
        assert app.number_input(key=state.DIRECT_CONCURRENCY).label == "并发数"
        assert app.button(key="submit_direct").label == "直接运行"
