"""New job step by step: source, recipe, requests, preflight, try on 3 rows, submit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.recipe import REASONING_EFFORTS
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.conftest import JOBS, NEW_JOB, SETTINGS, joined
from tests.app.files import REVIEWS_CSV, csv_bytes, workbook_bytes
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.preflight import part_file


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def request_previews(at: AppTest) -> list[dict[str, object]]:
    """The request bodies shown under the recipe (JSON code blocks)."""
    return [
        json.loads(code.value)
        for code in at.code
        if code.language == "json" and code.value.startswith("{\n")
    ]


def test_the_page_asks_for_a_source_first(app: AppTest) -> None:
    assert app.header[0].value == "New job"
    assert app.segmented_control(key=state.SOURCE_MODE).value == state.SOURCE_UPLOAD
    assert "Upload a file" in joined(app, "caption")
    assert not app.text_area  # the recipe waits for a table


def test_an_upload_is_previewed_with_its_row_count_and_reading(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)

    assert "4 rows** × 3 columns from reviews.csv, UTF-8, comma-separated" in joined(
        app, "markdown"
    )
    preview = app.dataframe[0].value
    assert preview.columns.tolist() == ["id", "text", "lang"]
    assert preview["id"].tolist() == ["001", "002", "003", "004"]  # text stays text
    assert preview.index.tolist() == [1, 2, 3, 4]  # row numbers as the problems name them
    assert "Automatic reads this file as UTF-8, comma-separated." in joined(app, "caption")


def test_a_changed_delimiter_rereads_the_file(app: AppTest) -> None:
    upload(app, "semi.csv", b"prompt;lang\nHello, world;en\n")
    assert app.dataframe[0].value.columns.tolist() == ["prompt", "lang"]

    app.selectbox(key=state.READ_DELIMITER).set_value(",").run()

    assert "Line 2 of 'semi.csv' has 2 cells but the header row has 1" in joined(app, "error")
    assert not app.exception
    app.selectbox(key=state.READ_DELIMITER).set_value(";").run()
    assert not app.error
    assert app.dataframe[0].value.iloc[0].tolist() == ["Hello, world", "en"]


def test_a_korean_export_is_read_as_korean_and_named_so(app: AppTest) -> None:
    text = (
        "번호,리뷰\n1,배송이 빨라서 좋았어요. 포장도 꼼꼼해요.\n2,생각보다 작아서 조금 아쉬워요.\n"
    )
    upload(app, "reviews.csv", text.encode("cp949"))

    assert app.dataframe[0].value["리뷰"].tolist() == [
        "배송이 빨라서 좋았어요. 포장도 꼼꼼해요.",
        "생각보다 작아서 조금 아쉬워요.",
    ]
    assert "Automatic reads this file as Korean (CP949/EUC-KR)" in joined(app, "caption")
    assert "Korean (CP949/EUC-KR)" in app.selectbox(key=state.READ_ENCODING).options


def test_korean_names_read_as_chinese_can_be_switched_to_korean(app: AppTest) -> None:
    upload(app, "names.csv", "이름,도시\n김철수,서울\n".encode("cp949"))
    assert "Automatic reads this file as Chinese" in joined(app, "caption")

    app.selectbox(key=state.READ_ENCODING).set_value("cp949").run()

    assert not app.exception
    assert app.dataframe[0].value.to_dict("list") == {"이름": ["김철수"], "도시": ["서울"]}


def test_a_workbook_offers_its_sheets(app: AppTest) -> None:
    data = workbook_bytes(
        {"Notes": [["note"], ["not the prompts"]], "Prompts": [["prompt"], ["a"], ["b"]]}
    )
    upload(app, "book.xlsx", data)
    picker = app.selectbox(key=state.READ_SHEET)
    assert picker.options == ["Notes", "Prompts"]
    assert app.dataframe[0].value.columns.tolist() == ["note"]

    picker.set_value("Prompts").run()

    assert not app.exception
    assert app.dataframe[0].value["prompt"].tolist() == ["a", "b"]
    assert not app.selectbox(key=state.READ_SHEET).disabled


def test_the_id_column_comes_back_with_the_sheet_that_has_it(app: AppTest) -> None:
    data = workbook_bytes(
        {
            "Prompts": [["id", "prompt"], ["a1", "x"], ["a2", "y"]],
            "Notes": [["note"], ["n1"], ["n2"]],
        }
    )
    upload(app, "book.xlsx", data)
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()

    app.selectbox(key=state.READ_SHEET).set_value("Notes").run()
    assert app.selectbox(key=state.ID_COLUMN).value == ""  # no such column: automatic ids
    app.selectbox(key=state.READ_SHEET).set_value("Prompts").run()

    assert not app.exception
    assert app.selectbox(key=state.ID_COLUMN).value == "id"
    # A choice of automatic ids is kept as well, on the sheet that has the column.
    app.selectbox(key=state.ID_COLUMN).set_value("").run()
    app.selectbox(key=state.READ_SHEET).set_value("Notes").run()
    app.selectbox(key=state.READ_SHEET).set_value("Prompts").run()
    assert app.selectbox(key=state.ID_COLUMN).value == ""


def test_the_template_is_previewed_as_the_first_three_requests(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.SYSTEM_PROMPT).set_value("Answer in {lang}.").run()
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.number_input(key=state.TEMPERATURE).set_value(0.2).run()
    app.number_input(key=state.MAX_OUTPUT_TOKENS).set_value(50).run()

    bodies = request_previews(app)
    assert len(bodies) == 3
    assert bodies[2] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Answer in fr."},
            {"role": "user", "content": "Classify: Très bon rapport qualité-prix"},
        ],
        "max_completion_tokens": 50,
        "temperature": 0.2,
    }
    assert "Uses text, lang" in joined(app, "caption")


def test_insert_column_appends_its_placeholder(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Review:").run()

    app.menu_button(key=state.INSERT_COLUMN).click("text").run()

    assert app.text_area(key=state.TEMPLATE).value == "Review: {text}"
    assert not app.error


def test_preflight_shows_tokens_and_cost_at_both_prices(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.selectbox(key=state.MODEL).set_value("gpt-4o").run()

    shown = metrics(app)
    assert shown["Rows"] == "4"
    tokens = int(shown["Input tokens"].replace(",", ""))
    assert 4 * 10 < tokens < 4 * 30
    # gpt-4o: $2.50 per million input tokens, half of it at the batch price.
    assert float(shown["Input would cost"][1:]) == pytest.approx(tokens * 1.25 / 1e6, rel=0.01)
    normal = next(m.help for m in app.metric if m.label == "Input would cost")
    assert float(normal.rsplit("$", 1)[1].rstrip(".")) == pytest.approx(
        tokens * 2.5 / 1e6, rel=0.01
    )
    assert shown["Batches"] == "1"
    assert not app.error
    assert "No queue limit is set for gpt-4o" in joined(app, "caption")


def test_an_unknown_model_warns_that_the_cost_is_unknown(app: AppTest) -> None:
    # A typed model name (AppTest can only choose listed options, so it goes in directly).
    app.session_state[state.MODEL] = "acme-large"
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()

    assert app.selectbox(key=state.MODEL).value == "acme-large"
    assert "No price is known for the model 'acme-large'" in joined(app, "warning")
    assert metrics(app)["Input would cost"] == "unknown"
    assert not app.error


def test_a_reasoning_model_takes_an_effort_instead_of_a_temperature(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()
    app.number_input(key=state.TEMPERATURE).set_value(0.5).run()

    app.selectbox(key=state.MODEL).set_value("o4-mini").run()
    app.selectbox(key=state.REASONING_EFFORT).set_value("low").run()

    keys = {widget.key for widget in app.number_input}
    assert state.TEMPERATURE not in keys
    assert request_previews(app)[0] == {
        "model": "o4-mini",
        "messages": [{"role": "user", "content": "Arrived quickly and works well"}],
        "reasoning_effort": "low",
    }
    assert not app.error
    # Back to a plain model: the temperature typed before is still there.
    app.selectbox(key=state.MODEL).set_value("gpt-4o-mini").run()
    assert app.number_input(key=state.TEMPERATURE).value == pytest.approx(0.5)


def test_every_effort_of_the_spec_is_offered_and_sent(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()
    app.selectbox(key=state.ENDPOINT).set_value("/v1/responses").run()
    app.selectbox(key=state.MODEL).set_value("gpt-5").run()

    efforts = app.selectbox(key=state.REASONING_EFFORT)
    assert list(efforts.options) == ["Model default", *REASONING_EFFORTS]
    assert efforts.value is None
    for effort in ("none", "xhigh", "max"):
        app.selectbox(key=state.REASONING_EFFORT).set_value(effort).run()
        assert request_previews(app)[0]["reasoning"] == {"effort": effort}
        assert not app.error
    app.selectbox(key=state.REASONING_EFFORT).set_value(None).run()
    assert "reasoning" not in request_previews(app)[0]


def test_structured_fields_shape_the_request_and_the_tried_answers(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS).run()
    app.session_state[f"{state.FIELDS_EDITOR}:0"] = {
        "edited_rows": {0: {"name": "sentiment", "type": "one of", "allowed values": "good, bad"}},
        "added_rows": [{"name": "stars", "type": "integer", "description": "1 to 5"}],
        "deleted_rows": [],
    }
    app.run()

    body = request_previews(app)[0]
    schema = body["response_format"]["json_schema"]["schema"]  # type: ignore[index]
    assert schema["required"] == ["sentiment", "stars"]
    assert schema["properties"]["sentiment"]["enum"] == ["good", "bad"]

    app.button(key="try_rows").click().run()

    assert not app.exception
    answers = [
        frame.value
        for frame in app.dataframe
        if list(frame.value.columns) == ["sentiment", "stars"]
    ]
    assert len(answers) == 3
    assert all(answer["sentiment"].iloc[0] in ("good", "bad") for answer in answers)


def test_the_id_column_names_the_requests(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()

    app.selectbox(key=state.ID_COLUMN).set_value("id").run()

    jsonl = next(code.value for code in app.code if code.value.startswith('{"custom_id"'))
    assert [json.loads(line)["custom_id"] for line in jsonl.splitlines()] == [
        "001",
        "002",
        "003",
    ]
    assert app.download_button(key="download_jsonl").proto.label == "Download JSONL"


def test_the_download_is_the_jsonl_whose_first_lines_are_shown(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.number_input(key=state.TEMPERATURE).set_value(0.5).run()
    shown = next(code.value for code in app.code if code.value.startswith('{"custom_id"'))

    download = app.download_button(key="download_jsonl")
    recipe = app.session_state[state.RECIPE]
    data = part_file(app.session_state[state.SOURCE].table.frame, recipe, None, {}, 1)

    assert download.proto.label == "Download JSONL"
    lines = data.decode().splitlines()
    assert len(lines) == 4
    assert "\n".join(lines[:3]) == shown
    assert json.loads(lines[3])["body"]["temperature"] == 0.5


def test_a_model_chosen_for_an_endpoint_comes_back_with_it(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.selectbox(key=state.MODEL).set_value("gpt-4.1-mini").run()
    app.selectbox(key=state.ENDPOINT).set_value("/v1/embeddings").run()
    app.selectbox(key=state.MODEL).set_value("text-embedding-3-large").run()
    app.selectbox(key=state.ENDPOINT).set_value("/v1/moderations").run()

    app.selectbox(key=state.ENDPOINT).set_value("/v1/chat/completions").run()
    assert app.selectbox(key=state.MODEL).value == "gpt-4.1-mini"
    app.selectbox(key=state.ENDPOINT).set_value("/v1/embeddings").run()
    assert app.selectbox(key=state.MODEL).value == "text-embedding-3-large"
    # Responses takes the chat models: the model stays what it was on Chat Completions.
    app.selectbox(key=state.ENDPOINT).set_value("/v1/chat/completions").run()
    app.selectbox(key=state.ENDPOINT).set_value("/v1/responses").run()
    assert app.selectbox(key=state.MODEL).value == "gpt-4.1-mini"


def test_embeddings_switch_the_model_and_show_vectors_when_tried(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()

    app.selectbox(key=state.ENDPOINT).set_value("/v1/embeddings").run()
    assert app.selectbox(key=state.MODEL).value == "text-embedding-3-small"
    app.number_input(key=state.DIMENSIONS).set_value(8).run()
    assert request_previews(app)[0] == {
        "model": "text-embedding-3-small",
        "input": "Arrived quickly and works well",
        "dimensions": 8,
    }

    app.button(key="try_rows").click().run()

    assert not app.exception
    vectors = [code.value for code in app.code if code.value.startswith("8 numbers: [")]
    assert len(vectors) == 3


def test_try_on_three_rows_shows_the_sandbox_answers(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()

    app.button(key="try_rows").click().run()

    assert not app.exception
    answers = [code.value for code in app.code if code.language == "plaintext"]
    assert len(answers) == 3
    assert all(answer.startswith("[sandbox]") for answer in answers)
    assert "Classify: Broke after two days" in answers[1]
    assert "Row 3 · row-3" in joined(app, "caption")

    # A new template hides answers that no longer match it.
    app.text_area(key=state.TEMPLATE).set_value("Summarise: {text}").run()
    assert not [code for code in app.code if code.language == "plaintext"]
    assert "The recipe changed since the last try" in joined(app, "caption")

    # Another file: the last try was of another table, and nothing is said of it.
    upload(app, "tickets.csv", b"text\nReset my password\n")
    assert not [code for code in app.code if code.language == "plaintext"]
    assert "since the last try" not in joined(app, "caption")


def test_a_failing_row_of_the_try_shows_its_error(app: AppTest) -> None:
    data = csv_bytes(["prompt"], [["fine"], ["[[sandbox:error]] please fail"], ["fine too"]])
    upload(app, "rows.csv", data)

    app.button(key="try_rows").click().run()

    assert not app.exception
    assert len(app.error) == 1
    assert len([code for code in app.code if code.language == "plaintext"]) == 2


def test_submit_confirms_then_creates_the_job_and_opens_jobs(app: AppTest, data_dir: Path) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()

    app.button(key="submit_button").click().run()

    assert app.session_state[state.SUBMIT_OPEN]
    name = app.text_input(key=state.JOB_NAME)
    assert name.value.startswith("reviews ")
    shown = metrics(app)
    assert (shown["Rows"], shown["Batches"]) == ("4", "1")
    assert "Sandbox mode" in joined(app, "info")
    name.set_value("Review sentiment").run()

    app.button(key="submit_confirm").click().run()

    assert not app.exception
    assert app.header[0].value == "Jobs"
    job_id = app.session_state[state.SELECTED_JOB]
    assert not app.session_state[state.SUBMIT_OPEN]
    registry = Registry(default_db_url(data_dir))
    try:
        job = registry.get_job(job_id, owner_scope("sandbox", "sandbox"))
        assert job.name == "Review sentiment"
        parts = registry.parts(job_id)
        assert len(parts) == 1
        assert parts[0].batch_id
        assert registry.job_rows(job_id)["id"].tolist() == ["001", "002", "003", "004"]
    finally:
        registry.close()


def test_a_name_typed_in_the_dialog_outlives_its_closing(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.button(key="submit_button").click().run()
    app.text_input(key=state.JOB_NAME).set_value("Review sentiment").run()
    app.button(key="submit_keep").click().run()  # "Not now": the analyst thinks it over
    assert not app.session_state[state.SUBMIT_OPEN]

    app.button(key="submit_button").click().run()
    assert app.text_input(key=state.JOB_NAME).value == "Review sentiment"

    # Sent: the next job is offered a name of its own.
    app.button(key="submit_confirm").click().run()
    assert app.header[0].value == "Jobs"
    app.switch_page(NEW_JOB).run()
    app.button(key="submit_button").click().run()
    assert app.text_input(key=state.JOB_NAME).value.startswith("reviews ")

    # A name typed for one file is not offered for another, even one of the same stem.
    app.text_input(key=state.JOB_NAME).set_value("Review sentiment, take 2").run()
    app.button(key="submit_keep").click().run()
    upload(app, "reviews.tsv", b"text\tid\nGreat value\t1\nBroke in a week\t2\n")
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.button(key="submit_button").click().run()
    assert app.text_input(key=state.JOB_NAME).value.startswith("reviews ")
    assert app.text_input(key=state.JOB_NAME).value != "Review sentiment, take 2"
    app.text_input(key=state.JOB_NAME).set_value("Review sentiment, take 3").run()
    app.button(key="submit_keep").click().run()
    upload(app, "tickets.csv", b"prompt\nReset my password\nThe printer is on fire\n")
    app.text_area(key=state.TEMPLATE).set_value("Route: {prompt}").run()
    app.button(key="submit_button").click().run()
    assert app.text_input(key=state.JOB_NAME).value.startswith("tickets ")


def test_a_submitted_job_shows_on_jobs_whatever_its_filters_held(app: AppTest) -> None:
    # Filters left on Jobs from earlier would hide the new job, and the page would say only
    # that no job matches: the analyst would think the submit failed and send it again.
    app.session_state[state.JOBS_SEARCH] = "Cities"
    app.session_state[state.JOBS_STATUS_FILTER] = ["Cancelled"]
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.button(key="submit_button").click().run()
    app.text_input(key=state.JOB_NAME).set_value("Review sentiment").run()
    app.button(key="submit_confirm").click().run()

    assert app.header[0].value == "Jobs"
    assert not app.exception
    assert app.session_state[state.JOBS_SEARCH] == ""
    assert app.session_state[state.JOBS_STATUS_FILTER] == []
    assert "No job matches" not in joined(app, "info")
    assert "Submitted Review sentiment" in joined(app, "success")
    assert app.dataframe[0].value["name"].tolist() == ["Review sentiment"]
    # Said once: a visit to another page and back does not say it again.
    app.switch_page(SETTINGS).run()
    app.switch_page(JOBS).run()
    assert "Submitted Review sentiment" not in joined(app, "success")


def test_a_dismissed_dialog_stays_closed(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()
    app.button(key="submit_button").click().run()
    assert app.session_state[state.SUBMIT_OPEN]

    app.session_state[state.SUBMIT_OPEN] = False  # what the dialog's dismissal does
    app.run()

    with pytest.raises(KeyError):
        app.button(key="submit_confirm")


def test_typed_rows_and_an_added_column_make_the_table(app: AppTest) -> None:
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
    app.session_state[f"{state.COMPOSE_EDITOR}:0"] = {
        "edited_rows": {0: {"prompt": "Name a fruit"}, 2: {"prompt": "Name a tree"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    assert "2 rows** × 1 column from typed table" in joined(app, "markdown")
    assert "1 blank row was left out" in joined(app, "markdown")

    app.text_input(key=state.NEW_COLUMN).set_value("colour").run()
    next(button for button in app.button if button.proto.label == "Add column").click().run()

    assert not app.exception
    assert app.dataframe[0].value.columns.tolist() == ["prompt", "colour"]
    assert app.dataframe[0].value["prompt"].tolist() == ["Name a fruit", "", "Name a tree"]
    assert app.text_input(key=state.NEW_COLUMN).value == ""
    app.session_state[f"{state.COMPOSE_EDITOR}:1"] = {
        "edited_rows": {0: {"colour": "red"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.text_area(key=state.TEMPLATE).set_value("{prompt} that is {colour}").run()
    assert request_previews(app)[0]["messages"] == [  # type: ignore[comparison-overlap]
        {"role": "user", "content": "Name a fruit that is red"}
    ]


def test_a_repeated_column_name_is_refused(app: AppTest) -> None:
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
    app.text_input(key=state.NEW_COLUMN).set_value("prompt").run()
    next(button for button in app.button if button.proto.label == "Add column").click().run()

    assert "already has a column 'prompt'" in joined(app, "warning")
    assert app.dataframe[0].value.columns.tolist() == ["prompt"]


def test_pasted_rows_make_the_table(app: AppTest) -> None:
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_PASTE).run()
    app.text_area(key=state.PASTED_TEXT).set_value(
        "question\tlang\nWhy?\ten\nPourquoi ?\tfr\n"
    ).run()

    assert not app.exception
    assert app.dataframe[0].value.columns.tolist() == ["question", "lang"]
    assert not app.error  # the template starts from the pasted table's text column
    assert app.text_area(key=state.TEMPLATE).value == "{question}"
    app.menu_button(key=state.INSERT_COLUMN).click("lang").run()
    assert app.text_area(key=state.TEMPLATE).value == "{question} {lang}"
    assert request_previews(app)[1]["messages"][-1]["content"] == "Pourquoi ? fr"  # type: ignore[index]


def test_work_stays_put_across_pages(app: AppTest) -> None:
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.selectbox(key=state.READ_DELIMITER).set_value(",").run()
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.text_area(key=state.SYSTEM_PROMPT).set_value("One word.").run()
    app.selectbox(key=state.MODEL).set_value("gpt-4.1-nano").run()
    app.number_input(key=state.TEMPERATURE).set_value(0.7).run()
    app.number_input(key=state.MAX_OUTPUT_TOKENS).set_value(20).run()
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()
    app.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS).run()
    app.button(key="try_rows").click().run()
    before = (request_previews(app), metrics(app), [code.value for code in app.code])

    app.switch_page(SETTINGS).run()
    app.switch_page(JOBS).run()
    app.switch_page("app_pages/new_job.py").run()

    assert not app.exception
    assert (request_previews(app), metrics(app), [code.value for code in app.code]) == before
    assert app.selectbox(key=state.READ_DELIMITER).value == ","
    assert app.dataframe[0].value["id"].tolist() == ["001", "002", "003", "004"]
    assert "reviews.csv** (135 bytes), uploaded earlier" in joined(app, "caption")


def test_typed_and_pasted_rows_stay_put_across_pages(app: AppTest) -> None:
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
    app.session_state[f"{state.COMPOSE_EDITOR}:0"] = {
        "edited_rows": {1: {"prompt": "kept"}},
        "added_rows": [{"prompt": "added"}],
        "deleted_rows": [],
    }
    app.run()
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_PASTE).run()
    app.text_area(key=state.PASTED_TEXT).set_value("prompt\nfirst\nsecond\n").run()

    app.switch_page(SETTINGS).run()
    app.switch_page("app_pages/new_job.py").run()

    assert app.dataframe[0].value["prompt"].tolist() == ["first", "second"]
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
    assert app.dataframe[0].value["prompt"].tolist() == ["", "kept", "", "added"]
    assert "2 rows** × 1 column" in joined(app, "markdown")


def test_a_failed_submission_is_reported_and_resumed_not_repeated(
    app: AppTest, refusing_api: str, data_dir: Path
) -> None:
    key = "sk-test-refused-key-0003"
    app.switch_page(SETTINGS).run()
    app.text_input(key=state.API_KEY).set_value(key).run()
    app.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    app.text_input(key=state.CUSTOM_BASE_URL).set_value(refusing_api).run()
    app.switch_page("app_pages/new_job.py").run()
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()
    app.button(key="submit_button").click().run()

    app.button(key="submit_confirm").click().run()
    assert "refused" in joined(app, "error")
    assert "The job is saved: Submit again" in joined(app, "caption")
    app.button(key="submit_confirm").click().run()

    assert not app.exception
    assert app.header[0].value == "New job"
    registry = Registry(default_db_url(data_dir))
    try:
        jobs = registry.list_jobs(owner_scope(key, refusing_api))
        assert len(jobs) == 1
        assert [part.batch_id for part in registry.parts(jobs[0].id)] == [None]
    finally:
        registry.close()
