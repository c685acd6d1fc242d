"""Every page in a browser set to Chinese, before a job and with one: at most five English
words outside data, names and code (the issue's measure), and what they are.

The words counted are those of the page's visible text (main area and sidebar) that are
neither the analyst's data nor product, format or model names, ids, paths or numbers; the
only ones expected are Streamlit's own (the uploader's "Upload" and "per file"), which no app
can change. The counts go to test-artifacts/e2e/zh-english-words.json for the notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from batchdash.i18n import _, use_language
from tests.app.visible_text import unmarked_words
from tests.e2e.conftest import (
    ARTIFACTS,
    STEP_TIMEOUT,
    ServedApp,
    open_page,
    screenshot,
    serving,
    wait_idle,
)

pytestmark = pytest.mark.e2e

#: The most English words a Chinese page may show outside data and names (issue 14).
MOST_ENGLISH_WORDS = 5
ROWS = ["这款耳机音质很好，物流也快。", "用了两天就坏了，非常失望。", "性价比一般，包装还不错。"]
TABLE = ("编号,评论\n" + "".join(f"00{n},{t}\n" for n, t in enumerate(ROWS, 1))).encode()
JOB = "耳机评论"
DATA = ["reviews-zh.csv", "编号", "评论", JOB, *ROWS, "001", "002", "003"]


# The text a person reads in the main area and the sidebar: not the names of Material icons
# (drawn as ligatures), nor code (the request previews are JSON).
_SHOWN_TEXT = """() => {
    const lines = [];
    for (const id of ['stMain', 'stSidebar']) {
        const root = document.querySelector(`[data-testid=${id}]`);
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const parent = node.parentElement;
            if (!parent || parent.closest('pre, code, [data-testid=stCode]')) continue;
            const style = getComputedStyle(parent);
            if (style.fontFamily.includes('Material') || style.display === 'none'
                || style.visibility === 'hidden') continue;
            lines.push(node.textContent);
        }
    }
    return lines.join('\\n');
}"""


def zh(english: str, **fields: Any) -> str:
    """What the page says for `english` in Chinese (the catalog the app reads)."""
    with use_language("zh-CN"):
        return _(english, **fields)


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[ServedApp]:
    """An app of its own: the pages "before a job" must have none, whichever journeys ran
    before this one in the same worker."""
    with serving(tmp_path) as app:
        yield app


@pytest.fixture
def chinese_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(**browser_context_args, locale="zh-CN")
    yield context.new_page()
    context.close()


def english_on(page: Page, name: str, counts: dict[str, list[str]]) -> None:
    wait_idle(page)
    screenshot(page, f"zh-words-{name}")
    text = page.evaluate(_SHOWN_TEXT)
    # The answers are data too: the sandbox's begin with its name.
    shown = [line for line in text.splitlines() if not line.startswith("[sandbox]")]
    counts[name] = unmarked_words(shown, DATA)


def go(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebar").get_by_role("link", name=zh(title), exact=True).click()
    expect(page.get_by_role("heading", name=zh(title), exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT
    )


def test_every_chinese_page_shows_at_most_five_english_words(
    chinese_page: Page, empty_app: ServedApp
) -> None:
    page = chinese_page
    counts: dict[str, list[str]] = {}
    open_page(page, empty_app)
    expect(page.get_by_role("heading", name=zh("New job"))).to_be_visible()
    english_on(page, "new-job-empty", counts)
    for title, name in (("Jobs", "jobs-empty"), ("Results", "results-empty")):
        go(page, title)
        english_on(page, name, counts)
    go(page, "Settings")
    english_on(page, "settings", counts)

    go(page, "New job")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "reviews-zh.csv", "mimeType": "text/csv", "buffer": TABLE}]
    )
    box = page.get_by_role("textbox", name=zh("Prompt template"))
    expect(box).to_be_visible(timeout=STEP_TIMEOUT)
    box.fill("请判断这条评论的情感：{评论}")
    box.press("Control+Enter")
    wait_idle(page)
    english_on(page, "new-job-with-table", counts)

    page.get_by_role("button", name=zh("Submit job…")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    english_on(page, "submit-dialog", counts)
    field = dialog.get_by_role("textbox", name=zh("Job name"))
    field.fill(JOB)
    field.press("Enter")
    wait_idle(page)
    dialog.get_by_role("button", name=zh("Submit"), exact=True).click()
    expect(page.get_by_role("heading", name=zh("Jobs"), exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    expect(page.get_by_text(f"{JOB} · {zh('Completed')}", exact=True)).to_be_visible(timeout=90_000)
    english_on(page, "jobs-with-job", counts)
    go(page, "Results")
    english_on(page, "results-with-job", counts)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "zh-english-words.json").write_text(
        json.dumps(counts, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    over = {name: words for name, words in counts.items() if len(words) > MOST_ENGLISH_WORDS}
    assert over == {}
