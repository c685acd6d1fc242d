"""The sandbox's pace in Settings: slow enough to watch by default, instant on request, the
server's BATCHDASH_SANDBOX_RATE as its default when set; each new job runs at the pace picked."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import JOBS, NEW_JOB, SETTINGS, MakeApp, joined, rerun_until
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from ui import state


def jobs_table(at: AppTest) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if "estimated_cost_usd" in df.value.columns)


def submit(at: AppTest, name: str, pace: str) -> None:
    """Submit the reviews as job `name` from New job, the dialog naming `pace`; the page lands
    on Jobs."""
    at.switch_page(NEW_JOB).run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    at.text_area(key=state.TEMPLATE).set_value("{text}").run()
    at.button(key="submit_button").click().run()
    assert f"Pace: {pace}; change it under Settings > Sandbox pace." in joined(at, "info")
    at.text_input(key=state.JOB_NAME).set_value(name).run()
    at.button(key="submit_confirm").click().run()
    at.switch_page(JOBS).run()


def test_by_default_a_job_takes_about_a_minute_and_instant_is_one_click_away(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BATCHDASH_SANDBOX_RATE")
    at = make_app()
    at.run()
    at.switch_page(SETTINGS).run()
    pace = at.segmented_control(key=state.SANDBOX_PACE)
    assert pace.options == ["Instant", "About a minute per job", "Several minutes per job"]
    assert pace.value == "minute"

    submit(at, "Watched", "about a minute per job")
    rerun_until(at, lambda: jobs_table(at).iloc[0]["status"] == "Running", within=30)
    assert jobs_table(at).iloc[0]["progress"] < 1.0  # four rows over a minute: still running

    at.switch_page(SETTINGS).run()
    at.segmented_control(key=state.SANDBOX_PACE).set_value("instant").run()
    submit(at, "Quick", "instant")
    rerun_until(at, lambda: jobs_table(at).iloc[0]["status"] == "Completed", within=60)
    table = jobs_table(at).set_index("name")
    assert table.loc["Quick", "status"] == "Completed"
    assert table.loc["Watched", "status"] == "Running"  # keeps the pace it was sent with

    at.switch_page(SETTINGS).run()  # the pick stays for the session
    assert at.segmented_control(key=state.SANDBOX_PACE).value == "instant"


def test_the_servers_own_rate_is_the_default_when_set(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCHDASH_SANDBOX_RATE", "4")
    at = make_app()
    at.run()
    at.switch_page(SETTINGS).run()

    pace = at.segmented_control(key=state.SANDBOX_PACE)
    assert pace.value == "server"
    assert pace.options[0] == "As this server is set (4 requests a second)"
    assert len(pace.options) == 4
