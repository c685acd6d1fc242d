"""A file or job name with characters nobody sees cannot turn Batchdash's own words around."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from batchdash.inputs.hidden_characters import hidden_in_name
from tests.app.conftest import joined
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.text import plain, visible

OVERRIDE = "\u202e"


def test_plain_shows_direction_and_control_characters_as_their_code() -> None:
    assert plain(f"invoice{OVERRIDE}fdp.csv") == "invoice\\[U\\+202E\\]fdp\\.csv"
    assert visible("a\x1bb\tc\nd\u2066e") == "a[U+001B]b\tc\nd[U+2066]e"


def test_a_name_with_unseen_characters_is_told() -> None:
    told = hidden_in_name(f"report{OVERRIDE}vsc.xlsx", "The file name")

    assert told is not None
    assert told.startswith("The file name holds direction overrides")
    assert hidden_in_name("Bewertungen 2026 (final).csv", "The file name") is None
    assert hidden_in_name("評論\x07.csv", "The job name") is not None


def test_the_submit_dialog_warns_about_a_job_name_with_an_override(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.button(key="submit_button").click().run()
    assert "holds" not in joined(app, "warning")

    app.text_input(key=state.JOB_NAME).set_value(f"weekly {OVERRIDE}reviews").run()

    assert "The job name holds direction overrides" in joined(app, "warning")
    assert not app.exception


def test_a_file_name_with_a_nul_byte_is_a_plain_message(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()

    app.file_uploader(key=state.UPLOADER).set_value(("reviews\x00.csv", REVIEWS_CSV, "text/csv"))
    app.run()

    assert not app.exception
    assert "NUL" in joined(app, "error")
    # The table read before stays in use, and a good file can be uploaded next.
    assert app.text_area(key=state.TEMPLATE).value == "Classify: {text}"
    upload(app, "second.csv", REVIEWS_CSV.replace(b"Arrived", b"Came"))
    assert not app.error
    assert "second.csv" in joined(app, "markdown")


def test_a_file_name_with_a_direction_override_is_told_and_shown_as_its_code(
    app: AppTest,
) -> None:
    upload(app, f"invoice{OVERRIDE}vsc.csv", REVIEWS_CSV)

    assert "The file name holds direction overrides" in joined(app, "warning")
    assert "invoice[U+202E]vsc.csv" in joined(app, "markdown")
    assert OVERRIDE not in joined(app, "markdown")


def test_a_typed_cell_with_an_override_is_told_as_a_pasted_one_is(app: AppTest) -> None:
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
    app.session_state[f"{state.COMPOSE_EDITOR}:0"] = {
        "edited_rows": {0: {"prompt": f"Approve {OVERRIDE}gnp.exe"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()

    assert not app.exception
    assert "direction overrides" in joined(app, "warning")
    assert "row 1" in joined(app, "warning")
