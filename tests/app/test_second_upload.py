"""A second file uploaded over the first, in every order of runs the uploader causes.

Replacing a file runs the page twice: once with the uploader empty, once with the new file.
On a slow network the browser may also send a value a widget showed before the new file was
read. None of these orders may break the page or lose the recipe, and the template starts
from a column of the table rather than from an error.
"""

from __future__ import annotations

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from tests.app.conftest import joined, texts
from tests.app.files import REVIEWS_CSV, workbook_bytes
from tests.app.test_new_job import request_previews
from ui import state

HOTELS = [
    ["1", "房间很干净，服务员态度也很好。", "北京"],
    ["2", "位置不错，但是隔音太差了。", "上海"],
]
HOTELS_GBK = ("id,text,城市\n" + "".join(",".join(row) + "\n" for row in HOTELS)).encode("gbk")
HOTELS_XLSX = workbook_bytes({"Reviews": [["id", "text", "城市"], *HOTELS]})
TWEETS_UTF8 = '"id","text"\n"1","Delayed again ✈️😡\nthree hours"\n"2","Great crew 🙌"\n'.encode()

FILES = {
    "reviews.csv": REVIEWS_CSV,
    "hotels-gbk.csv": HOTELS_GBK,
    "hotels.xlsx": HOTELS_XLSX,
    "tweets.csv": TWEETS_UTF8,
}
#: Each pair of files, uploaded one after the other.
ORDERS = [
    ("reviews.csv", "hotels-gbk.csv"),
    ("hotels-gbk.csv", "tweets.csv"),
    ("tweets.csv", "hotels.xlsx"),
    ("hotels.xlsx", "hotels-gbk.csv"),
]


def put(at: AppTest, name: str, data: bytes | None = None) -> AppTest:
    """Upload `name` (one of FILES unless `data` is given) in place of the file there."""
    mime = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    at.file_uploader(key=state.UPLOADER).set_value((name, data or FILES[name], mime)).run()
    assert not at.exception
    return at


def enter_recipe(at: AppTest) -> None:
    at.text_area(key=state.TEMPLATE).set_value("Summarise: {text}").run()
    at.text_area(key=state.SYSTEM_PROMPT).set_value("Answer in English.").run()
    at.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS).run()
    at.number_input(key=state.TEMPERATURE).set_value(0.4).run()
    assert not at.exception


def assert_recipe_kept(at: AppTest, first_cell: str) -> None:
    assert not at.exception
    assert not at.error, joined(at, "error")
    assert at.text_area(key=state.TEMPLATE).value == "Summarise: {text}"
    assert at.text_area(key=state.SYSTEM_PROMPT).value == "Answer in English."
    assert at.segmented_control(key=state.OUTPUT_MODE).value == state.OUTPUT_FIELDS
    assert at.number_input(key=state.TEMPERATURE).value == pytest.approx(0.4)
    first = request_previews(at)[0]
    assert first["messages"][-1]["content"] == f"Summarise: {first_cell}"  # type: ignore[index]


FIRST_CELLS = {
    "reviews.csv": "Arrived quickly and works well",
    "hotels-gbk.csv": HOTELS[0][1],
    "hotels.xlsx": HOTELS[0][1],
    "tweets.csv": "Delayed again ✈️😡\nthree hours",
}


@pytest.mark.parametrize(("first", "second"), ORDERS)
def test_an_empty_run_between_two_files_keeps_the_recipe(
    app: AppTest, first: str, second: str
) -> None:
    put(app, first)
    enter_recipe(app)

    app.file_uploader(key=state.UPLOADER).set_value(None).run()  # the uploader's empty run
    assert not app.exception
    put(app, second)

    assert_recipe_kept(app, FIRST_CELLS[second])
    app.run()  # the next change anywhere on the page
    assert_recipe_kept(app, FIRST_CELLS[second])


def _reading_states(at: AppTest) -> list[WidgetState]:
    """What the browser would send for the Encoding and Delimiter boxes as they show now."""
    return [
        at.selectbox(key=key)._widget_state for key in (state.READ_ENCODING, state.READ_DELIMITER)
    ]


def _run_with(at: AppTest, sent: list[WidgetState]) -> None:
    """Run the page as a browser does whose widgets of the ids in `sent` send those values
    (a label it still shows, or one the server gave it), the others their current ones."""
    ids = {widget.id for widget in sent}
    states = WidgetStates()
    for node in at._tree:
        if isinstance(node, Widget) and node.id not in ids:
            states.widgets.append(node._widget_state)
    states.widgets.extend(sent)
    at._run(states)


@pytest.mark.parametrize(
    ("first", "second"), [("reviews.csv", "hotels-gbk.csv"), ("hotels-gbk.csv", "tweets.csv")]
)
def test_reading_options_shown_for_the_first_file_stay_valid_for_the_next(
    app: AppTest, first: str, second: str
) -> None:
    put(app, first)
    enter_recipe(app)
    shown_for_first = _reading_states(app)

    app.file_uploader(key=state.UPLOADER).set_value(None).run()
    put(app, second)
    _run_with(app, shown_for_first)  # a browser still showing the first file's boxes

    assert_recipe_kept(app, FIRST_CELLS[second])
    assert app.selectbox(key=state.READ_ENCODING).value == ""
    assert app.selectbox(key=state.READ_DELIMITER).value == ""


def test_the_reading_options_keep_their_labels_and_say_what_was_detected(app: AppTest) -> None:
    put(app, "hotels-gbk.csv")
    encoding = app.selectbox(key=state.READ_ENCODING)
    delimiter = app.selectbox(key=state.READ_DELIMITER)
    assert encoding.options[0] == "Automatic"
    assert delimiter.options[0] == "Automatic"
    assert "Automatic reads this file as Chinese simplified (GB18030/GBK), comma-separated" in (
        joined(app, "caption")
    )

    put(app, "tweets.csv")
    assert app.selectbox(key=state.READ_ENCODING).options[0] == "Automatic"
    assert "Automatic reads this file as UTF-8, comma-separated" in joined(app, "caption")


def test_the_first_upload_starts_the_template_from_a_text_column(app: AppTest) -> None:
    put(app, "reviews.csv")

    assert not app.error, joined(app, "error")
    assert app.text_area(key=state.TEMPLATE).value == "{text}"
    assert request_previews(app)[0]["messages"][-1]["content"] == FIRST_CELLS["reviews.csv"]  # type: ignore[index]


def test_an_untouched_template_follows_the_table_and_an_edited_one_stays(app: AppTest) -> None:
    put(app, "hotels-gbk.csv")
    assert app.text_area(key=state.TEMPLATE).value == "{text}"

    # Every source switch: the untouched template follows the table's text column.
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_PASTE).run()
    app.text_area(key=state.PASTED_TEXT).set_value("question\nWhy?\nHow?\n").run()
    assert not app.error, joined(app, "error")
    assert app.text_area(key=state.TEMPLATE).value == "{question}"
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
    app.session_state[f"{state.COMPOSE_EDITOR}:0"] = {
        "edited_rows": {0: {"prompt": "Typed here"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    assert not app.error, joined(app, "error")
    assert app.text_area(key=state.TEMPLATE).value == "{prompt}"
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_UPLOAD).run()
    assert not app.error, joined(app, "error")
    assert app.text_area(key=state.TEMPLATE).value == "{text}"

    app.text_area(key=state.TEMPLATE).set_value("Reply to: {text}").run()
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_PASTE).run()

    assert app.text_area(key=state.TEMPLATE).value == "Reply to: {text}"  # never erased
    assert "**text** is not a column of this table" in joined(app, "caption")
    assert joined(app, "error") == (
        "The template uses the placeholder '{text}', which matches no column of the table. "
        "Use a column name exactly as in the header, or write '{{' and '}}' for literal braces."
    )


def test_a_template_without_a_column_warns_that_every_row_gets_the_same_prompt(
    app: AppTest,
) -> None:
    put(app, "reviews.csv")
    app.text_area(key=state.TEMPLATE).set_value("Write a haiku about autumn.").run()

    assert not app.error
    warning = joined(app, "warning")
    assert "uses no column, so all 4 rows get the same prompt" in warning
    assert "Insert column" in warning
    assert "Uses no column: every row gets the same prompt" in joined(app, "caption")
    app.button(key="submit_button").click().run()
    assert "all 4 rows get the same prompt" in joined(app, "warning")  # said again in the dialog

    app.text_area(key=state.SYSTEM_PROMPT).set_value("Answer in {lang}.").run()
    assert "same prompt" not in joined(app, "warning")  # the rows differ by their system prompt


def test_the_tried_rows_show_the_cells_beside_the_answers(app: AppTest) -> None:
    put(app, "reviews.csv")
    app.text_area(key=state.TEMPLATE).set_value("Reply in {lang}: {text}").run()

    app.button(key="try_rows").click().run()

    cells = [
        text.replace("\\", "")
        for text in texts(app, "markdown")
        if text.startswith(("**lang**", "**text**"))
    ]
    assert cells == [
        "**lang**  \nen",
        "**text**  \nArrived quickly and works well",
        "**lang**  \nen",
        "**text**  \nBroke after two days",
        "**lang**  \nfr",
        "**text**  \nTrès bon rapport qualité-prix",
    ]


def test_a_file_that_cannot_be_read_after_an_empty_run_leaves_the_last_table_in_use(
    app: AppTest,
) -> None:
    put(app, "hotels-gbk.csv")
    enter_recipe(app)

    app.file_uploader(key=state.UPLOADER).set_value(None).run()
    app.file_uploader(key=state.UPLOADER).set_value(("broken.csv", b"", "text/csv")).run()

    assert not app.exception
    assert "is empty" in joined(app, "error")
    assert "still uses **hotels-gbk.csv**, read earlier, instead of broken.csv" in joined(
        app, "info"
    )
    assert app.text_area(key=state.TEMPLATE).value == "Summarise: {text}"
    assert request_previews(app)[0]["messages"][-1]["content"] == f"Summarise: {HOTELS[0][1]}"  # type: ignore[index]


def test_an_id_column_the_next_table_lacks_falls_back_to_automatic_ids(app: AppTest) -> None:
    put(app, "reviews.csv")
    app.selectbox(key=state.ID_COLUMN).set_value("lang").run()  # not unique: an error
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()
    assert not app.error

    app.file_uploader(key=state.UPLOADER).set_value(None).run()
    put(app, "tweets.csv")  # has an id column too
    assert app.selectbox(key=state.ID_COLUMN).value == "id"
    put(app, "hotels.xlsx")
    put(app, "reviews.csv")
    app.file_uploader(key=state.UPLOADER).set_value(None).run()
    app.file_uploader(key=state.UPLOADER).set_value(
        ("plain.csv", b"question\nWhy?\nHow?\n", "text/csv")
    ).run()

    assert not app.exception
    assert not app.error, joined(app, "error")
    assert app.selectbox(key=state.ID_COLUMN).value == ""
    assert request_previews(app)[0]["messages"][-1]["content"] == "Why?"  # type: ignore[index]


def test_a_worksheet_picked_in_the_first_workbook_does_not_follow_into_the_next(
    app: AppTest,
) -> None:
    put(
        app,
        "first.xlsx",
        workbook_bytes({"Notes": [["note"], ["n"]], "Prompts": [["text"], ["a"]]}),
    )
    app.selectbox(key=state.READ_SHEET).set_value("Prompts").run()
    shown_for_first = [app.selectbox(key=state.READ_SHEET)._widget_state]

    app.file_uploader(key=state.UPLOADER).set_value(None).run()
    put(app, "second.xlsx", workbook_bytes({"Reviews": [["text"], ["Quiet room"]]}))
    _run_with(app, shown_for_first)

    assert not app.exception
    assert not app.error, joined(app, "error")
    assert app.selectbox(key=state.READ_SHEET).value == "Reviews"
    assert request_previews(app)[0]["messages"][-1]["content"] == "Quiet room"  # type: ignore[index]


def test_a_codec_typed_by_hand_reads_the_same_when_its_label_comes_back(app: AppTest) -> None:
    put(app, "hotels-gbk.csv")
    box = app.selectbox(key=state.READ_ENCODING)
    _run_with(app, [WidgetState(id=box.id, string_value="gbk")])  # typed, then Enter
    assert app.session_state[state.READ_ENCODING] == "gbk"
    label = app.selectbox(key=state.READ_ENCODING).format_func("gbk")

    # Shown again after a visit to another page, the box sends back the label it shows.
    _run_with(app, [WidgetState(id=box.id, string_value=label)])

    assert not app.error, joined(app, "error")
    assert app.session_state[state.READ_ENCODING] == "gbk"
    assert request_previews(app)[0]["messages"][-1]["content"] == HOTELS[0][1]  # type: ignore[index]


def test_the_same_bytes_under_another_name_are_shown_and_named_by_the_new_name(
    app: AppTest,
) -> None:
    # An analyst saves the file again under a better name, or as .tsv, and uploads that.
    put(app, "reviews.csv")
    assert "from reviews.csv," in joined(app, "markdown")

    put(app, "reviews-march.csv", REVIEWS_CSV)

    shown = joined(app, "markdown")
    assert "from reviews-march.csv," in shown and "from reviews.csv," not in shown
    app.button(key="submit_button").click().run()
    assert app.text_input(key=state.JOB_NAME).value.startswith("reviews-march")
