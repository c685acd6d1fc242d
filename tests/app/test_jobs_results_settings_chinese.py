"""Jobs, Results and Settings in Simplified Chinese: every page with jobs and without, each
dialog of the Jobs page, and statuses computed in English then shown after a switch to Chinese.

The texts the core says (status words and their meanings, a job's problems, the waiting and
keeping help) and the cost labels of ui.cost_views are checked where they are made; here they
count as given, in whatever language they come, and everything else must be Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.display import status_words
from batchdash.i18n import use_language
from batchdash.jobs.repair import refused_warning
from batchdash.providers.profiles import OPENAI
from batchdash.results.merge import LINEAGE_COLUMNS
from batchdash.settings import DEFAULT_BASE_URL
from tests.app.conftest import JOBS, RESULTS, SETTINGS, MakeApp, joined
from tests.app.job_pages import Pages, pages
from tests.app.shown_words import chinese_texts, english_words, shown_texts
from tests.app.test_jobs import table
from tests.app.test_jobs_actions import made_elsewhere
from tests.jobs_kit import BASE_URL, RECIPE, reviews
from ui import state
from ui.job_actions import Dialog
from ui.remote_batches import VIEW_REMOTE

__all__ = ["pages"]

ZH = "zh-CN"
#: The language picker's own names (in both languages on purpose), the names OpenAI's console
#: gives its Limits page and the enqueued-token limit (kept so that the analyst finds them
#: there), the cost labels of ui.cost_views, the sandbox pace of ui.sandbox_pace, and UTC (the
#: budgets' month is the calendar month in UTC, written so in Chinese too).
OTHER_WORDS = (
    "UTC",
    "Language English",
    "Limits enqueued-token limit",
    "Estimate Estimated Actual cost Would used est.",
    "As this server is set Instant About a minute per job Several minutes Sandbox pace",
    "How long the sandbox takes to answer each job you submit from now on, whatever its "
    "number of rows: slow enough to watch the progress and try Cancel, or instant. Jobs "
    "already running keep their pace.",
    # Notifications: product names, commands, the plain JSON body's fields, and placeholders.
    "Webhook URL Slack Microsoft Teams Lark JSON SMTP make watch status",
    "event job_id name state counts cost_usd https://hooks.slack.com/services/… ann@example.com",
)
#: The jobs' names and their rows, and the base URL of the tests' API: the analyst's data.
NAMES = ("Nightly reviews", "Still running", "Never sent", "Two parts", "row", "review", BASE_URL)


def core_words(*problems: str) -> list[str]:
    """What the core says on these pages, in Chinese as far as the core translates it."""
    with use_language(ZH):
        return [
            str(status_words.waiting_help(OPENAI)),
            str(status_words.KEEPING_HELP),
            *(str(word) for word in status_words.BATCH_WORDS.values()),
            *(str(meaning) for meaning in status_words.BATCH_MEANINGS.values()),
            *(str(word) for word in status_words.JOB_WORDS),
            *problems,
        ]


def column_labels(at: AppTest) -> list[str]:
    """The labels and help of every table's columns (their configuration, sent as JSON)."""
    found = []
    for frame in at.dataframe:
        for column in json.loads(frame.proto.columns or "{}").values():
            found += [column[key] for key in ("label", "help") if column.get(key)]
    return found


def assert_chinese(at: AppTest, *data: str) -> None:
    """The run drew Chinese and no English word of its own."""
    assert not at.exception
    texts = [*shown_texts(at), *column_labels(at)]
    assert chinese_texts(texts)
    left = english_words(texts, [*data, *OTHER_WORDS, *NAMES, *core_words()])
    assert left == [], [text for text in texts if any(word in text for word in left)]


@pytest.fixture
def chinese(pages: Pages) -> Iterator[Pages]:
    """The Jobs and Results pages' app, in Chinese (AppTest formats the options it sends back
    in the test's thread, as the browser shows them: hence the language here too)."""
    pages.at.session_state[state.LANGUAGE] = ZH
    with use_language(ZH):
        yield pages


@pytest.fixture
def chinese_app(make_app: MakeApp) -> Iterator[AppTest]:
    """The app in Sandbox mode, in Chinese, run once."""
    at = make_app()
    at.session_state[state.LANGUAGE] = ZH
    with use_language(ZH):
        at.run()
        yield at


def test_jobs_and_results_without_a_job(chinese_app: AppTest) -> None:
    at = chinese_app
    at.switch_page(JOBS).run()
    assert at.header[0].value == "任务"
    assert "还没有任务：请在“新建任务”中提交一个，或关联在别处创建的批处理。" in joined(at, "info")
    assert "没有正在运行的任务，因此页面不会自动刷新。" in joined(at, "caption")
    assert_chinese(at)

    at.button(key="attach_batch").click().run()
    assert at.session_state[state.JOBS_DIALOG] == Dialog("attach")
    assert {"关联", "暂不", "批处理 ID", "任务名称（可选）"} <= set(shown_texts(at))
    at.button(key="attach_confirm").click().run()
    assert "请输入批处理的 ID，例如 batch_abc123。" in joined(at, "error")
    assert_chinese(at, "batch_…", "batch_abc123")
    at.session_state[state.JOBS_DIALOG] = None

    at.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()
    assert "此密钥下还没有批处理。" in joined(at, "info")
    assert_chinese(at)

    at.switch_page(RESULTS).run()
    assert at.header[0].value == "结果"
    assert "还没有任务：请先在“新建任务”中提交一个，再回到这里。" in joined(at, "info")
    assert_chinese(at)


def test_settings(chinese_app: AppTest) -> None:
    at = chinese_app
    at.switch_page(SETTINGS).run()
    assert at.header[0].value == "设置"
    assert [header.value for header in at.subheader] == [
        "API 密钥与接口",
        "队列中最多可等待多少",
        "自定义价格",
        "通知",
        "预算",
        "服务商处的文件",
        "数据存放位置",
    ]
    assert "沙盒（不计费，模拟回答）" in joined(at, "markdown")
    presets = at.segmented_control(key=state.BASE_URL_PRESET).options
    assert_chinese(at, *presets, DEFAULT_BASE_URL, "sk-…", "BATCHDASH_DATA_DIR BATCHDASH_DB_URL")

    at.button(key="test_connection").click().run()
    assert "沙盒有响应。" in joined(at, "success")


def test_jobs_with_jobs_and_each_dialog(chinese: Pages) -> None:
    finished = chinese.finished_job("Nightly reviews", markers={1: "[[sandbox:error]]"})
    running = chinese.running_job("Two parts", parts=2)
    never = chinese.service.create_job("Never sent", reviews(2), RECIPE)
    at = chinese.open()
    statuses = {job: chinese.service.status(job) for job in (finished, running, never)}
    batches = [batch.id for status in statuses.values() for batch in status.batches]
    data = [
        *statuses,
        *batches,
        RECIPE.model,
        *core_words(*(problem for s in statuses.values() for problem in s.problems)),
        *(s.unsent_note for s in statuses.values()),
    ]
    assert {"名称", "创建时间", "状态", "进度", "已完成", "剩余时间"} <= set(column_labels(at))
    assert_chinese(at, *data)

    plan = chinese.service.plan_repair(finished, ["error"])
    data.append(str(refused_warning(plan.refused, plan.rows)))
    for job, dialog, title in (
        (running, Dialog("cancel", running), "取消任务"),
        (running, Dialog("cancel", running, batches[-1]), "取消一个批处理"),
        (finished, Dialog("repair", finished), "修复行"),
        (finished, Dialog("archive", finished), "归档任务"),
        (never, Dialog("discard", never), "丢弃未发送的部分"),
        (finished, Dialog("discard", finished), "丢弃未发送的部分"),
    ):
        at.session_state[state.SELECTED_JOB] = job
        at.session_state[state.JOBS_DIALOG] = dialog
        at.run()
        assert title in shown_texts(at), dialog
        assert_chinese(at, *data)

    at.session_state[state.SELECTED_JOB] = running
    at.session_state[state.JOBS_DIALOG] = Dialog("cancel", running)
    at.run()
    assert "**放弃**：4 个尚未运行的请求将不再运行。" in joined(at, "markdown")
    at.button(key="cancel_confirm").click().run()
    assert "已请求取消任务 Two parts；已生成的回答会保留。" in joined(at, "success")


def test_all_batches_of_the_key_and_a_batch_made_elsewhere(chinese: Pages) -> None:
    chinese.restart(rate=0.001)
    outside = made_elsewhere(chinese)
    at = chinese.open()
    at.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()
    assert "共 1 个批处理，列出于" in joined(at, "caption")
    assert {"批处理", "状态", "对应任务", "接口"} <= set(column_labels(at))
    assert_chinese(at, outside, "/v1/chat/completions", "made_by")

    at.button(key="remote_cancel").click().run()
    assert "取消在别处创建的批处理" in shown_texts(at)
    assert_chinese(at, outside)
    at.session_state[state.JOBS_DIALOG] = None
    at.run()
    at.button(key="remote_attach").click().run()
    assert "关联批处理" in shown_texts(at)
    assert_chinese(at, outside, "batch_…")


def test_results_of_a_finished_job(chinese: Pages) -> None:
    job_id = chinese.finished_job("Nightly reviews", markers={1: "[[sandbox:error]]"})
    at = chinese.open(RESULTS)
    status = chinese.service.status(job_id)
    assert {metric.label for metric in at.metric} >= {"ok 行数", "error 行数", "输入 Token"}
    labels = {button.label for button in at.get("download_button")}
    assert labels == {
        "合并后的 CSV",
        "合并后的 XLSX",
        "供程序使用的 CSV",
        "原始输出 JSONL",
        "原始错误 JSONL",
        "运行清单 JSON",
    }
    chart = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert {"状态", "行数"} <= set(json.dumps(chart, ensure_ascii=False).split('"'))
    # The download and column names and Python, named as they are.
    named = ["Python JSON", *LINEAGE_COLUMNS]
    assert_chinese(at, job_id, *(batch.id for batch in status.batches), RECIPE.model, *named)


def test_statuses_computed_in_english_are_shown_in_chinese_after_a_switch(pages: Pages) -> None:
    finished = pages.finished_job("Nightly reviews", markers={1: "[[sandbox:error]]"})
    running = pages.running_job("Still running")
    at = pages.open()
    rows = {row["name"]: row for row in table(at)}
    assert rows["Still running"]["answered"] == "0 of 4"
    assert str(rows["Still running"]["time_left"]).endswith(" min")
    at.toggle(key=state.JOBS_SHOW_ARCHIVED).set_value(True).run()
    english = str(status_words.job_word(pages.service.status(running)))
    at.pills(key=state.JOBS_STATUS_FILTER).set_value([english]).run()
    assert [row["name"] for row in table(at)] == ["Still running"]
    at.button(key="archive_job").click().run()
    at.button(key="archive_confirm").click().run()
    assert "Archived Still running." in joined(at, "success")

    at.session_state[state.LANGUAGE] = ZH
    at.run()  # the switch (AppTest sends back the English page's options, formatted in English)
    with use_language(ZH):
        chinese_word = str(status_words.job_word(pages.service.status(running)))
        rows = {row["name"]: row for row in table(at)}
        # The status filter picked in English still applies, its option now in Chinese; the
        # job archived in English is marked so in Chinese.
        archived = "Still running（已归档）"
        assert list(rows) == [archived]
        assert rows[archived]["status"] == chinese_word
        assert rows[archived]["answered"] == "0 / 4"
        assert str(rows[archived]["time_left"]).endswith(" 分")
        assert at.pills(key=state.JOBS_STATUS_FILTER).format_func(english) == chinese_word
        # The notice of the action done in English is said in Chinese.
        assert "已归档 Still running。" in joined(at, "success")

        at.switch_page(RESULTS).run()
        at.session_state[state.SELECTED_JOB] = finished
        at.run()
        assert {metric.label for metric in at.metric} >= {"ok 行数", "error 行数", "not_run 行数"}
        assert "合并后的 CSV" in {button.label for button in at.get("download_button")}
