"""The core's sentences in Simplified Chinese: a sample per module family, and a result computed
in one language that shows in the language of the moment it is shown."""

from __future__ import annotations

import pandas as pd
import pytest

from batchdash.api.gateway import Gateway
from batchdash.api.retry_policy import seconds_text
from batchdash.display.status_words import BATCH_MEANINGS, BATCH_WORDS, JOB_WORDS, batch_word
from batchdash.errors import BatchdashError, InputError, KeyRefused, RateLimited, ResultsError
from batchdash.i18n import _l, english, use_language
from batchdash.inputs.reading import read_pasted, read_table
from batchdash.jobs.repair import refused_warning
from batchdash.money import usd
from batchdash.preflight.plan import plan_batch
from batchdash.providers.profiles import AZURE
from batchdash.recipe import Recipe
from batchdash.registry.engine import parse_db_url
from batchdash.results.parse import parse_result_lines
from batchdash.wording import describe_rows

REVIEWS = pd.DataFrame({"review": ["Great", "", "Slow"]})


def _chinese(text: object) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in str(text))


@pytest.mark.parametrize(
    ("rows", "english_words", "chinese"),
    [
        ([3], "row 3", "第 3 行"),
        ([3, 7, 9], "rows 3, 7 and 9", "第 3、7 和 9 行"),
        (list(range(1, 9)), "rows 1, 2, 3, 4, 5 and 3 more", "第 1、2、3、4、5 行及另外 3 行"),
    ],
)
def test_rows_are_listed_as_each_language_writes_them(
    rows: list[int], english_words: str, chinese: str
) -> None:
    described = describe_rows(rows)
    assert str(described) == english_words
    with use_language("zh-CN"):
        assert str(described) == chinese


def test_a_plan_made_in_english_shows_its_problems_in_chinese_after_a_switch() -> None:
    plan = plan_batch(REVIEWS, Recipe(template="{revew}", system_prompt="Be {"))
    before = [problem.message for problem in plan.problems]
    with use_language("zh-CN"):
        after = [problem.message for problem in plan.problems]

    assert before[0].startswith("The template uses the placeholder '{revew}'")
    assert before[1].startswith("The system prompt has a '{' that is never closed")
    assert after[0].startswith("提示词模板使用了占位符“{revew}”（是否想写“{review}”？）")
    assert after[1].startswith("系统提示词中有一个未闭合的“{”")
    assert all(not _chinese(text) for text in before)


def test_an_empty_prompt_names_its_row_in_chinese() -> None:
    with use_language("zh-CN"):
        plan = plan_batch(REVIEWS, Recipe(template="{review}"))
        [problem] = [p for p in plan.problems if p.rows]
        assert problem.message == "第 2 行的提示词为空。请填写模板用到的单元格，或删除这些行。"


def test_an_input_error_raised_in_english_reads_in_chinese_when_shown() -> None:
    with pytest.raises(InputError) as raised:
        read_table(b"", "empty.csv")
    assert str(raised.value).startswith("'empty.csv' is empty.")
    with use_language("zh-CN"):
        assert str(raised.value) == "“empty.csv”是空的。请上传一个包含表头行和至少一行数据的文件。"


def test_reading_notes_follow_the_language_they_are_read_in() -> None:
    table = read_pasted("Great value\nArrived broken\n")
    assert table.notes == (
        "The pasted lines have no header, so Batchdash named the column 'prompt'.",
    )
    with use_language("zh-CN"):
        assert table.notes == ("粘贴的内容没有表头，因此 Batchdash 把这一列命名为“prompt”。",)


def test_gateway_errors_and_retry_reasons_in_chinese() -> None:
    with pytest.raises(KeyRefused) as refused:
        Gateway("", None)
    gateway = Gateway("sk-test-not-a-key-000000", "https://api.openai.com/v1")
    reason = gateway.retry_reason(RateLimited("busy"))
    wait = seconds_text(19.2)
    assert (str(reason), str(wait)) == ("OpenAI is busy (rate limit)", "20 s")
    with use_language("zh-CN"):
        assert str(refused.value) == "尚未设置 API 密钥。请在“设置”中填写。"
        assert (str(reason), str(wait)) == ("OpenAI 繁忙（速率限制）", "20 秒")


def test_the_sandbox_is_named_in_chinese() -> None:
    gateway = Gateway("sandbox", "http://127.0.0.1:9/v1", name="The sandbox")
    with use_language("zh-CN"):
        assert str(gateway._unreachable_message()).startswith("无法连接到")
        assert "沙盒" in gateway._unreachable_message()
    assert gateway._unreachable_message() == (
        "Cannot reach the sandbox. Check the network or the base URL."
    )


def test_status_words_translate_their_explanation_and_keep_status_values() -> None:
    with use_language("zh-CN"):
        assert batch_word("in_progress") == "运行中"
        assert BATCH_WORDS["validating"] == "正在检查文件"
        assert BATCH_MEANINGS["failed"].startswith("文件没有通过检查")
        assert "已完成（有错误）" in JOB_WORDS
    assert batch_word("in_progress") == "Running"
    assert "Completed with errors" in JOB_WORDS


def test_repair_warning_has_one_form_in_chinese_and_two_in_english() -> None:
    one, many = refused_warning(1, 5), refused_warning(3, 5)
    assert "it will fail again" in str(one) and "they will fail again" in str(many)
    with use_language("zh-CN"):
        assert str(one).startswith("这些行中有 1 行被 API 当作错误请求拒绝")
        assert str(many).startswith("这些行中有 3 行被 API 当作错误请求拒绝")


def test_a_results_error_names_the_line_in_chinese() -> None:
    with pytest.raises(ResultsError) as raised:
        parse_result_lines([b"not json\n"], recipe=Recipe(), source_name="out.jsonl")
    with use_language("zh-CN"):
        text = str(raised.value)
    assert text.startswith("out.jsonl 的第 1 行不是 JSON 行")
    assert text.endswith("请把 Batch API 返回的输出文件和错误文件原样交给 Batchdash。")


def test_registry_errors_in_chinese() -> None:
    with pytest.raises(BatchdashError) as raised:
        parse_db_url("sqlite://")
    with use_language("zh-CN"):
        assert str(raised.value).startswith("BATCHDASH_DB_URL 指向内存中的 SQLite 数据库")


def test_money_words_in_chinese_and_amounts_unchanged() -> None:
    with use_language("zh-CN"):
        assert (usd(None), usd(1e-9), usd(0.0012)) == ("未知", "低于 $0.000001", "$0.0012")
    assert (usd(None), usd(1e-9)) == ("unknown", "under $0.000001")


def test_provider_notes_are_translated_for_people_and_english_as_data() -> None:
    with use_language("zh-CN"):
        assert str(AZURE.notes).startswith("模型名称填写 Global Batch 部署的名称")
        assert AZURE.describe()["notes"].startswith("The model is the name of a Global Batch")


def test_a_message_reads_like_its_text_in_the_language_in_use() -> None:
    message = _l("The template")
    assert message == "The template" and "template" in message and message.startswith("The")
    with use_language("zh-CN"):
        assert message == "提示词模板" and len(message) == 5 and message[:3] == "提示词"
        assert english(message) == "The template"
    assert message == _l("The template") and message != _l("The system prompt")
