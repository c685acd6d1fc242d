"""New job's submit dialog when the same table and recipe already make an unfinished job: it
says so, and offers that job instead of paying for every row again."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.conftest import joined
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from ui import state

NEW_JOB = "app_pages/new_job.py"
SCOPE = owner_scope("sandbox", "sandbox")


def open_submit(app: AppTest) -> None:
    app.switch_page(NEW_JOB).run()
    app.button(key="submit_button").click().run()
    assert app.session_state[state.SUBMIT_OPEN]


def test_the_same_table_again_is_offered_as_the_job_it_already_is(
    app: AppTest, data_dir: Path
) -> None:
    app.session_state[state.SANDBOX_PACE] = "several"  # the job stays unfinished meanwhile
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    open_submit(app)
    assert "already make the unfinished job" not in joined(app, "warning")
    app.button(key="submit_confirm").click().run()
    first = app.session_state[state.SELECTED_JOB]

    open_submit(app)
    warning = joined(app, "warning")
    assert "This table and recipe already make the unfinished job **reviews " in warning
    assert "Submitting again would send and bill every row once more." in warning
    assert app.button(key="submit_confirm").label == "Submit as a new job"
    app.session_state[state.SUBMIT_OPEN] = False  # "Not now": the analyst thinks it over
    app.run()
    assert "already make the unfinished job" not in joined(app, "warning")

    open_submit(app)
    app.button(key="submit_twin").click().run()

    assert not app.exception
    assert app.header[0].value == "Jobs"
    assert app.session_state[state.SELECTED_JOB] == first
    registry = Registry(default_db_url(data_dir))
    try:
        assert [job.id for job in registry.list_jobs(SCOPE)] == [first]
        assert len([p for p in registry.parts(first) if p.batch_id]) == 1
    finally:
        registry.close()


def test_another_recipe_is_another_job(app: AppTest, data_dir: Path) -> None:
    app.session_state[state.SANDBOX_PACE] = "several"
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    open_submit(app)
    app.button(key="submit_confirm").click().run()

    app.switch_page(NEW_JOB).run()
    app.text_area(key=state.TEMPLATE).set_value("Summarise: {text}").run()
    app.button(key="submit_button").click().run()
    assert "already make the unfinished job" not in joined(app, "warning")
    assert app.button(key="submit_confirm").label == "Submit"
    app.button(key="submit_confirm").click().run()

    registry = Registry(default_db_url(data_dir))
    try:
        assert len(registry.list_jobs(SCOPE)) == 2
    finally:
        registry.close()


def test_a_twin_never_sent_is_sent_from_the_dialog(app: AppTest, data_dir: Path) -> None:
    """The same table and recipe saved by a submission that stopped before sending anything
    (here by the core, as another session's would): the dialog sends that job instead."""
    app.session_state[state.SANDBOX_PACE] = "several"
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    registry = Registry(default_db_url(data_dir))
    try:
        service = JobService(registry, Gateway("sandbox", "http://127.0.0.1:9/v1"), SCOPE)
        source = app.session_state[state.SOURCE]
        stopped = service.create_job("Stopped", source.table.frame, app.session_state[state.RECIPE])

        open_submit(app)
        assert "**Stopped**" in joined(app, "warning")
        assert "Nothing of this job was sent yet" in joined(app, "warning")
        app.button(key="submit_twin").click().run()

        assert not app.exception
        assert app.header[0].value == "Jobs"
        assert app.session_state[state.SELECTED_JOB] == stopped
        assert [job.id for job in registry.list_jobs(SCOPE)] == [stopped]
        assert [bool(part.batch_id) for part in registry.parts(stopped)] == [True]
    finally:
        registry.close()
