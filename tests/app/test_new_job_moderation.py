"""New job with the Moderation endpoint: the model follows, score columns are picked, the
requests hold the text alone, and a try shows flagged and the scores."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.files import csv_bytes
from tests.app.test_new_job import metrics, request_previews
from tests.app.test_new_job_bad_inputs import upload
from ui import state

COMMENTS = csv_bytes(["prompt"], [["Kind staff."], ["I will hurt you."], ["Fine."]])


def test_moderation_recipe_requests_and_try(app: AppTest) -> None:
    upload(app, "comments.csv", COMMENTS)
    app.selectbox(key=state.ENDPOINT).set_value("/v1/moderations").run()

    assert app.selectbox(key=state.MODEL).value == "omni-moderation-latest"
    assert not app.number_input  # no temperature, no output limit
    picker = app.multiselect(key=state.MODERATION_CATEGORIES)
    assert "violence" in picker.options and picker.value == []
    picker.set_value(["violence", "harassment"]).run()
    assert request_previews(app)[0] == {"model": "omni-moderation-latest", "input": "Kind staff."}
    assert metrics(app)["Input would cost"] == "$0.00"

    app.button(key="try_rows").click().run()

    assert not app.exception
    tried = [frame.value for frame in app.dataframe[1:]]
    assert [frame["flagged"].tolist() for frame in tried] == [["no"], ["yes"], ["no"]]
    assert float(tried[1]["score_violence"].iloc[0]) >= 0.5
