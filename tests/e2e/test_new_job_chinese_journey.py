"""New job in a browser set to Chinese: the page chooses 简体中文 from the browser's language,
from the upload to the submit dialog; the sidebar picker switches it to English and back.
A screenshot of every step, for people to look at (test-artifacts/e2e/zh-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.app.files import REVIEWS_CSV
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def chinese_page(browser: Browser) -> Iterator[Page]:
    """A page of a browser whose language is Simplified Chinese."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def pick_language(page: Page, wanted: str) -> None:
    """Choose `wanted` in the sidebar's language picker."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=wanted).click()
    wait_idle(page)


def test_new_job_in_chinese_from_upload_to_submit_dialog(
    chinese_page: Page, served_app: ServedApp
) -> None:
    page = chinese_page
    open_page(page, served_app)
    expect(page.get_by_role("heading", name="新建任务")).to_be_visible()
    screenshot(page, "zh-01-new-job-empty")

    page.locator("input[type=file]").set_input_files(
        files=[{"name": "reviews.csv", "mimeType": "text/csv", "buffer": REVIEWS_CSV}]
    )
    expect(page.get_by_text("4 行", exact=False).first).to_be_visible(timeout=STEP_TIMEOUT)
    box = page.get_by_role("textbox", name="提示词模板")
    box.fill("请判断这条评论的情感：{text}")
    box.press("Control+Enter")
    wait_idle(page)
    metrics = page.get_by_test_id("stMetric")
    expect(metrics.filter(has_text="输入费用（模拟）")).to_contain_text(re.compile(r"\$0\.0000\d"))
    screenshot(page, "zh-02-recipe-and-preflight")

    page.get_by_role("button", name="试运行 3 行").click()
    expect(page.get_by_test_id("stCode").filter(has_text="[sandbox] Reply")).to_have_count(
        3, timeout=STEP_TIMEOUT
    )
    screenshot(page, "zh-03-tried")

    page.get_by_role("button", name="提交任务…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(dialog.get_by_text("提交任务", exact=True)).to_be_visible()
    expect(dialog.get_by_role("textbox", name="任务名称")).to_be_visible()
    wait_idle(page)
    screenshot(page, "zh-04-submit-dialog")
    dialog.get_by_role("button", name="暂不").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)

    pick_language(page, "English")
    expect(page.get_by_role("heading", name="New job")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_role("button", name="Try on 3 rows")).to_be_visible()
    expect(page.get_by_text("Row 3 · row-3")).to_be_visible()
    screenshot(page, "zh-05-switched-to-english")

    pick_language(page, "简体中文")
    expect(page.get_by_role("heading", name="新建任务")).to_be_visible(timeout=STEP_TIMEOUT)
    screenshot(page, "zh-06-switched-back-to-chinese")
    expect(page.get_by_role("textbox", name="提示词模板")).to_have_value(
        "请判断这条评论的情感：{text}"
    )
    expect(page.get_by_text("第 3 行 · row-3")).to_be_visible()


def test_a_typed_table_and_pasted_rows_with_structured_fields_in_chinese(
    chinese_page: Page, served_app: ServedApp
) -> None:
    page = chinese_page
    open_page(page, served_app)
    choose(page, "直接输入表格")
    expect(page.get_by_role("button", name="添加列")).to_be_visible()
    screenshot(page, "zh-07-typed-table")

    choose(page, "粘贴行")
    rows = page.get_by_role("textbox", name="从电子表格复制的行")
    rows.fill("评论\n物流很快，包装完好\n用了两天就坏了")
    rows.press("Control+Enter")
    expect(page.get_by_text("2 行", exact=False).first).to_be_visible(timeout=STEP_TIMEOUT)
    choose(page, "结构化字段")
    screenshot(page, "zh-08-pasted-rows-structured-fields")


def choose(page: Page, choice: str) -> None:
    """Click one of the page's segmented choices."""
    page.get_by_test_id("stButtonGroup").get_by_text(choice, exact=True).click()
    wait_idle(page)
