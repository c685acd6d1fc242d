"""Each bad input of the core issue, arriving through the upload widget of New job.

Every one gives a clear error or warning, never an exception, and loses nothing already
entered: the recipe typed before the bad upload is still there after it.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import joined, until_counted
from tests.app.files import (
    BAD_UPLOADS,
    REVIEWS_CSV,
    csv_bytes,
    formulas_and_merges_xlsx,
    many_rows_csv,
)
from ui import state


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Put `data` in the uploader as `name` (replacing any file there) and rerun."""
    at.file_uploader(key=state.UPLOADER).set_value((name, data, "text/csv")).run()
    assert not at.exception
    return at


def enter_recipe(at: AppTest) -> None:
    """A recipe worth keeping: template, system prompt, model and temperature."""
    upload(at, "reviews.csv", REVIEWS_CSV)
    at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    at.text_area(key=state.SYSTEM_PROMPT).set_value("Answer in one word.").run()
    at.selectbox(key=state.MODEL).set_value("gpt-4.1-mini").run()
    at.number_input(key=state.TEMPERATURE).set_value(0.3).run()
    assert not at.exception


def assert_recipe_kept(at: AppTest) -> None:
    assert at.session_state[state.TEMPLATE] == "Classify: {text}"
    assert at.session_state[state.SYSTEM_PROMPT] == "Answer in one word."
    assert at.session_state[state.MODEL] == "gpt-4.1-mini"
    assert at.session_state[state.TEMPERATURE] == pytest.approx(0.3)


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_file_that_cannot_be_read_is_an_error_and_the_recipe_stays(
    app: AppTest, case: str
) -> None:
    name, data, words = BAD_UPLOADS[case]
    enter_recipe(app)

    upload(app, name, data)

    assert words in joined(app, "error")
    assert not app.exception
    # The page goes on with the table read before, and says so; the recipe is still drawn.
    assert "still uses **reviews.csv**, read earlier" in joined(app, "info")
    assert app.dataframe[0].value["id"].tolist() == ["001", "002", "003", "004"]
    assert app.text_area(key=state.TEMPLATE).value == "Classify: {text}"
    upload(app, "reviews.csv", REVIEWS_CSV)
    assert_recipe_kept(app)
    assert app.text_area(key=state.TEMPLATE).value == "Classify: {text}"
    assert not app.error


def test_an_unknown_encoding_can_be_chosen_by_hand(app: AppTest) -> None:
    name, data, _ = BAD_UPLOADS["unknown encoding"]
    upload(app, name, data)
    assert "choose its encoding by hand" in joined(app, "error")

    app.selectbox(key=state.READ_ENCODING).set_value("cp1252").run()
    assert "cp1252 cannot read" in joined(app, "error")
    app.selectbox(key=state.READ_ENCODING).set_value("latin-1").run()

    assert not app.exception
    assert not app.error
    assert app.dataframe[0].value.iloc[0, 0] == data.split(b"\n")[1].decode("latin-1")
    assert "Western European (Latin-1)" in joined(app, "markdown")


def test_a_guessed_encoding_is_shown_and_can_be_changed(app: AppTest) -> None:
    upload(app, "quotes.csv", "prompt\n\u201cCafé crème\u201d please\n".encode("cp1252"))
    assert app.dataframe[0].value.iloc[0, 0] == "\u201cCafé crème\u201d please"
    assert "Automatic reads this file as Western European (Windows-1252)" in joined(app, "caption")

    app.selectbox(key=state.READ_ENCODING).set_value("latin-1").run()

    assert app.dataframe[0].value.iloc[0, 0] == "\x93Café crème\x94 please"
    assert not app.exception


def test_a_one_megabyte_cell_is_named_by_its_row(app: AppTest) -> None:
    data = csv_bytes(["prompt"], [["short one"], ["y" * 1_000_000], ["short two"]])
    upload(app, "big.csv", data)

    warnings = joined(app, "warning")
    assert "more than 32,767 characters" in warnings
    assert "row 2" in warnings
    # A million characters are more tokens than the model takes: that blocks the batch.
    errors = joined(app, "error")
    assert "row 2" in errors
    assert "context window" in errors
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Rows"] == "3"


def test_sixty_thousand_rows_make_two_parts_not_an_error(app: AppTest) -> None:
    upload(app, "many.csv", many_rows_csv(60_000))
    until_counted(app)

    assert not app.error
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Rows"] == "60,000"
    assert metrics["Batches"] == "2"
    parts = app.dataframe[-1].value
    assert parts["requests"].tolist() == [50_000, 10_000]
    picker = app.selectbox(key=state.DOWNLOAD_PART)
    assert picker.options == ["Part 1", "Part 2"]
    picker.set_value(2).run()
    assert app.download_button(key="download_jsonl").proto.label == "Download part 2 of 2"


def test_an_unknown_placeholder_is_an_error_naming_it_and_keeps_the_template(
    app: AppTest,
) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {review}").run()

    errors = joined(app, "error")
    assert "{review}" in errors
    assert not app.exception
    assert app.button(key="try_rows").disabled
    assert "Fix the problems" in joined(app, "caption")
    assert app.text_area(key=state.TEMPLATE).value == "Classify: {review}"


def test_duplicate_ids_are_an_error_naming_the_rows(app: AppTest) -> None:
    data = csv_bytes(["id", "prompt"], [["7", "a"], ["8", "b"], ["7", "c"]])
    upload(app, "dupes.csv", data)
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()

    errors = joined(app, "error")
    assert "7" in errors
    assert "rows 1 and 3" in errors or "rows 1, 3" in errors
    assert not app.exception
    assert app.session_state[state.ID_COLUMN] == "id"


def test_an_xlsx_with_formulas_and_merged_cells_is_read_with_warnings(app: AppTest) -> None:
    upload(app, "book.xlsx", formulas_and_merges_xlsx())

    warnings = joined(app, "warning")
    assert "formula" in warnings
    assert "merged" in warnings
    assert not app.exception
    # The formulas were never calculated, so their row is empty and left out.
    frame = app.dataframe[0].value
    assert frame.iloc[-1].tolist() == ["Merged across both columns"] * 2
    assert "1 blank row was left out" in joined(app, "markdown")
