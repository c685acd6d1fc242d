"""Jobs, Results and Settings in a browser set to Chinese: every page and dialog, screenshot
for people to look at, and the parts Streamlit reruns on their own stay Chinese.

The live part of the Jobs page reruns alone on its timer, and a dialog alone when a widget in it
is used, each maybe in a new script thread: they must speak the session's language as the
whole page does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.preflight.plan import plan_batch
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from sandbox.server import running_sandbox
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.e2e.test_jobs_dialogs import _make_elsewhere
from tests.jobs_kit import RECIPE, reviews, run_to_end

pytestmark = pytest.mark.e2e

FINISHED = "客户评论 三月"
RUNNING = "Two parts 两个分片"
NEVER_SENT = "Never sent 未发送"
#: Words of the page's own English, any of which on a Chinese page is a string left behind.
ENGLISH = re.compile(
    r"Refresh now|Attach a batch|Open a job|Search by name|Show archived|Last checked|"
    r"Refreshing|Nothing is running|Keep it as it is|Not now|Pick at least|requests finished"
)
_CHECKED = re.compile(r"上次检查于 (\d\d:\d\d:\d\d)。")


def _service(url: str, registry: Registry) -> JobService:
    return JobService(registry, Gateway("sandbox", url), owner_scope("sandbox", "sandbox"))


def _make_jobs(data_dir: Path, slow: str, scratch: Path) -> None:
    """A finished job with a failed row, a job of two running parts, one never sent."""
    registry = Registry(default_db_url(data_dir))
    try:
        with running_sandbox(scratch) as fast:
            done = _service(fast, registry)
            finished = done.create_job(FINISHED, reviews(6, {1: "[[sandbox:error]]"}), RECIPE)
            done.submit(finished)
            run_to_end(done, finished)
        service = _service(slow, registry)
        service.create_job(NEVER_SENT, reviews(3), RECIPE)
        frame = reviews(6)
        limit = int(sum(plan_batch(frame, RECIPE).row_input_tokens[:3]))
        running = service.create_job(RUNNING, frame, RECIPE, enqueued_token_limit=limit)
        service.submit(running)
    finally:
        registry.close()


@pytest.fixture
def chinese_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    base = tmp_path_factory.mktemp("e2e-chinese-jobs")
    with running_sandbox(base / "slow", rate=0.05) as slow:
        _make_jobs(base / "data", slow, base / "fast")
        _make_elsewhere(slow)
        with serving(base, {"BATCHDASH_SANDBOX_URL": slow}) as app:
            yield app


@pytest.fixture
def chinese_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    """A page of a browser set to Simplified Chinese, in Shanghai's time zone."""
    context = browser.new_context(
        **browser_context_args, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    yield context.new_page()
    context.close()


def _no_english(page: Page) -> None:
    assert ENGLISH.findall(page.inner_text("body")) == []


def _open_dialog(page: Page, button: str, title: str, shot: str) -> None:
    live = page.get_by_role("button", name=button, disabled=False)
    expect(live).to_have_count(1, timeout=STEP_TIMEOUT)
    live.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(title, timeout=STEP_TIMEOUT)
    wait_idle(page)
    screenshot(page, shot)
    _no_english(page)


def _close(page: Page, button: str = "保持不变") -> None:
    page.get_by_role("dialog").get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    wait_idle(page)


def _pick_job(page: Page, name: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text="打开任务").click()
    page.get_by_role("option", name=re.compile(re.escape(name))).click()
    wait_idle(page)


def test_jobs_results_and_settings_speak_chinese(
    chinese_page: Page, chinese_app: ServedApp
) -> None:
    page = chinese_page
    open_page(page, chinese_app, "jobs")
    expect(page.get_by_text(f"{RUNNING} ·", exact=False)).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    screenshot(page, "zh-40-jobs")
    _no_english(page)

    # The timer reruns only the live part of the page: it stays Chinese.
    first = _CHECKED.search(page.inner_text("body"))
    assert first is not None
    expect(page.get_by_text(_CHECKED).filter(has_not_text=first.group(1))).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    wait_idle(page)
    _no_english(page)

    _open_dialog(page, "取消任务…", "取消任务", "zh-41-cancel-dialog")
    _close(page)
    _open_dialog(page, "归档…", "归档任务", "zh-42-archive-dialog")
    _close(page)
    _open_dialog(page, "关联批处理…", "关联批处理", "zh-43-attach-dialog")
    _close(page, "暂不")

    _pick_job(page, NEVER_SENT)
    _open_dialog(page, "丢弃…", "丢弃未发送的部分", "zh-44-discard-dialog")
    _close(page)

    _pick_job(page, FINISHED)
    _open_dialog(page, "修复行…", "修复行", "zh-45-repair-dialog")
    # A widget of the dialog reruns only the dialog: it stays Chinese.
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=re.compile("^error")).click()
    expect(dialog.get_by_text("请至少选择一类行。")).to_be_visible(timeout=STEP_TIMEOUT)
    _no_english(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    wait_idle(page)

    page.get_by_role("radio", name="全部批处理（包括在别处创建的）").click()
    expect(page.get_by_text(re.compile(r"^共 3 个批处理，列出于"))).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    wait_idle(page)
    screenshot(page, "zh-46-all-batches")
    _no_english(page)

    page.get_by_role("link", name="结果", exact=True).click()
    expect(page.get_by_role("button", name="运行清单 JSON")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    screenshot(page, "zh-47-results")
    _no_english(page)

    page.get_by_role("link", name="设置").click()
    expect(page.get_by_role("heading", name="数据存放位置")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    screenshot(page, "zh-48-settings")
    _no_english(page)
