"""New job in Simplified Chinese: every step from the upload to the submit dialog, chosen by
the sidebar or the browser, and a switch of language in the middle of the work."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from batchdash.i18n import use_language
from batchdash.recipe import FIELD_TYPES, MODERATION_CATEGORIES, REASONING_EFFORTS
from tests.app.conftest import MakeApp, joined
from tests.app.files import REVIEWS_CSV
from tests.app.shown_words import chinese_texts, english_words, shown_texts
from tests.app.test_new_job_bad_inputs import upload
from ui import state

#: Words of the language picker, in both languages on purpose, and of the row IDs Batchdash makes.
PICKER_AND_IDS = ("Language", "English", "row-1")


def data_words(at: AppTest) -> list[str]:
    """The analyst's table and the model names: data, shown as they are in any language."""
    return [REVIEWS_CSV.decode(), "reviews.csv", *at.selectbox(key=state.MODEL).options]


def test_new_job_speaks_chinese_from_the_upload_to_the_submit_dialog(make_app: MakeApp) -> None:
    at = make_app()
    at.session_state[state.LANGUAGE] = "zh-CN"
    # AppTest formats the options it sends back in this thread, as the browser shows them.
    with use_language("zh-CN"):
        at.run()
        assert at.header[0].value == "新建任务"
        assert "请上传文件，或改为直接输入、粘贴行。" in joined(at, "caption")
        assert english_words(shown_texts(at), PICKER_AND_IDS) == []

        upload(at, "reviews.csv", REVIEWS_CSV)
        at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
        assert "**4 行** × 3 列，来源：reviews.csv、UTF-8、逗号分隔。" in joined(at, "markdown")
        assert "自动识别结果：UTF-8、逗号分隔。" in joined(at, "caption")
        assert {metric.label for metric in at.metric} >= {"行数", "输入 Token", "批处理数"}

        at.button(key="try_rows").click().run()
        assert not at.exception
        assert "第 3 行 · row-3" in joined(at, "caption")
        assert "输入 16 个 Token" in joined(at, "caption")

        at.button(key="submit_button").click().run()
        assert not at.exception
        assert at.session_state[state.SUBMIT_OPEN]
        texts = shown_texts(at)
        assert {"提交任务", "任务名称", "提交"} <= set(texts)
        assert "沙盒模式：任务在本地模拟器上运行" in joined(at, "info")
        assert english_words(texts, [*data_words(at), *PICKER_AND_IDS]) == []


def test_the_browser_language_chooses_chinese(make_app: MakeApp) -> None:
    at = make_app()
    at.context["locale"] = "zh-CN"
    with use_language("zh-CN"):
        at.run()
        upload(at, "reviews.csv", REVIEWS_CSV)

    assert at.header[0].value == "新建任务"
    assert at.selectbox(key=state.LANGUAGE).value == "zh-CN"
    assert english_words(shown_texts(at), [*data_words(at), *PICKER_AND_IDS]) == []


def test_switching_language_mid_session_redraws_every_text_and_keeps_the_work(
    make_app: MakeApp,
) -> None:
    at = make_app()
    with use_language("en"):
        at.run()
        upload(at, "reviews.csv", REVIEWS_CSV)
        at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
        at.button(key="try_rows").click().run()
        assert "Row 3 · row-3" in joined(at, "caption")
        english = shown_texts(at)
        assert chinese_texts(english) == ["Language · 语言", "简体中文"]

        at.selectbox(key=state.LANGUAGE).set_value("zh-CN").run()
    assert not at.exception
    chinese = shown_texts(at)
    assert at.header[0].value == "新建任务"
    assert english_words(chinese, [*data_words(at), *PICKER_AND_IDS]) == []
    # The work and the try's answers (kept from the English run) are all still there.
    assert at.text_area(key=state.TEMPLATE).value == "Classify: {text}"
    assert "第 3 行 · row-3" in joined(at, "caption")
    assert at.session_state[state.READ_ENCODING] == ""  # still "automatic", not a typed codec

    with use_language("zh-CN"):
        at.selectbox(key=state.LANGUAGE).set_value("en").run()
    assert not at.exception
    assert shown_texts(at) == english


def test_a_kept_message_is_said_in_the_language_of_the_moment(make_app: MakeApp) -> None:
    """Why the last "Add column" did nothing is kept in the session: it follows the language."""
    at = make_app()
    with use_language("en"):
        at.run()
        at.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_COMPOSE).run()
        at.text_input(key=state.NEW_COLUMN).set_value("prompt").run()
        next(button for button in at.button if button.label == "Add column").click().run()
        assert "The table already has a column 'prompt'." in joined(at, "warning")

        at.selectbox(key=state.LANGUAGE).set_value("zh-CN").run()
    assert "表格中已有名为“prompt”的列。" in joined(at, "warning")
    assert "The table already has" not in joined(at, "warning")


def test_every_recipe_the_page_offers_is_explained_in_chinese(make_app: MakeApp) -> None:
    at = make_app()
    at.session_state[state.LANGUAGE] = "zh-CN"
    with use_language("zh-CN"):
        at.run()
        upload(at, "reviews.csv", REVIEWS_CSV)
        steps = [
            lambda: at.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS),
            lambda: at.selectbox(key=state.MODEL).set_value("o3"),  # a reasoning model
            lambda: at.selectbox(key=state.ENDPOINT).set_value("/v1/embeddings"),
            lambda: at.selectbox(key=state.ENDPOINT).set_value("/v1/moderations"),
            lambda: at.selectbox(key=state.ENDPOINT).set_value("/v1/completions"),
        ]
        for step in steps:
            step().run()
            assert not at.exception
            shown = shown_texts(at)
            # The API's own values (efforts, field types) are offered as the API spells them.
            api_values = [*REASONING_EFFORTS, *FIELD_TYPES, *MODERATION_CATEGORIES]
            # "under $0.000001" is written by the core's money formatting (batchdash.money),
            # which this page shows as the core says it.
            api_values.append("under")
            assert english_words(shown, [*data_words(at), *PICKER_AND_IDS, *api_values]) == []
    assert at.selectbox(key=state.ENDPOINT).value == "/v1/completions"
    assert "Completions（旧版）" in shown


def test_a_job_split_by_the_queue_limit_is_explained_in_chinese(make_app: MakeApp) -> None:
    at = make_app()
    at.session_state[state.LANGUAGE] = "zh-CN"
    at.session_state[state.TOKEN_LIMITS] = {"gpt-4o-mini": 40}
    with use_language("zh-CN"):
        at.run()
        upload(at, "reviews.csv", REVIEWS_CSV)
        at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()

    assert not at.exception
    assert "这个任务需要 59 个输入 Token，超过了你所在组织在 gpt-4o-mini 上可排队的 40 个" in (
        joined(at, "warning")
    )
    assert at.download_button[0].label == "下载第 1 个分片（共 2 个）"
    assert at.selectbox(key=state.DOWNLOAD_PART).options == ["分片 1", "分片 2"]
    assert english_words(shown_texts(at), [*data_words(at), *PICKER_AND_IDS]) == []
