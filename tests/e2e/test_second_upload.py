"""New job's second try in a real browser: another file uploaded over the first, in another
encoding, and the source switched back and forth, with the recipe kept through all of it.

Replacing a file makes the uploader run the page twice (once empty, once with the new file);
the uploads here are slowed down so that the empty run always comes first, as it does on a slow
network, which is when the page used to lose its reading options and the template.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle

pytestmark = pytest.mark.e2e

#: Milliseconds each upload is held back, so the uploader's empty run finishes first.
UPLOAD_DELAY_MS = 1_500

TEMPLATE = "Summarise this review in one line: {review}"
SYSTEM_PROMPT = "Answer in English."

#: Airline tweets as exported in UTF-8: emoji, a comma and a line break inside quoted cells.
TWEETS_CSV = (
    "id,review,airline\n"
    '1,"@united flight delayed again ✈️😡, 3 hours on the tarmac",United\n'
    '2,"Great crew 🙌\nsmooth landing",Delta\n'
    "3,Lost my bag 🧳 #fail,American\n"
).encode()

#: Hotel reviews saved by Excel as GBK: the same review column, a Chinese column besides.
HOTEL_ROWS = [
    ["1", "房间很干净，服务员态度也很好，下次还会再来。", "北京"],
    ["2", "位置不错，离地铁站很近，但是隔音太差了。", "上海"],
    ["3", "早餐种类少，性价比一般。", "广州"],
    ["4", "前台办理入住很快，床很舒服。", "成都"],
]
HOTEL_GBK_CSV = ("id,review,城市\n" + "".join(",".join(row) + "\n" for row in HOTEL_ROWS)).encode(
    "gbk"
)


def hotel_xlsx() -> bytes:
    """The hotel reviews as a workbook."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "review", "城市"])
    for row in HOTEL_ROWS:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def slow_uploads(page: Page) -> Iterator[None]:
    """Hold every file upload back a moment, as a slow network does."""

    def hold(route: Route) -> None:
        page.wait_for_timeout(UPLOAD_DELAY_MS)
        route.continue_()

    page.route("**/_stcore/upload_file/**", hold)
    yield
    page.unroute("**/_stcore/upload_file/**")


def put_file(page: Page, name: str, data: bytes, rows: int) -> None:
    """Choose `name` in the uploader (replacing the file there) and wait for its table."""
    kind = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    page.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": kind, "buffer": data}]
    )
    expect(page.get_by_text(f"{rows} rows × ")).to_contain_text(name, timeout=STEP_TIMEOUT)
    wait_idle(page)


def choose_source(page: Page, mode: str) -> None:
    """Click one of the "Where are the rows?" choices."""
    page.get_by_test_id("stButtonGroup").get_by_text(mode, exact=True).click()
    wait_idle(page)


def type_into(box: Locator, text: str) -> None:
    box.fill(text)
    box.press("Control+Enter")


def errors(page: Page) -> Locator:
    return page.get_by_test_id("stAlertContentError")


def assert_recipe_kept(page: Page, first_prompt: str, temperature: str) -> None:
    """The recipe is on screen as typed, and the requests are made from the new table with it,
    also after the next change to the recipe (a rerun that sends every widget's value)."""
    type_into(page.get_by_role("spinbutton", name="Temperature"), temperature)
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(TEMPLATE)
    expect(page.get_by_role("textbox", name="System prompt")).to_have_value(SYSTEM_PROMPT)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(errors(page)).to_have_count(0)
    request = page.get_by_test_id("stCode").filter(has_text='"model": "gpt-4o-mini"').first
    expect(request).to_contain_text(
        f"Summarise this review in one line: {first_prompt}", timeout=STEP_TIMEOUT
    )
    expect(request).to_contain_text(f'"temperature": {temperature}')


def test_another_file_in_another_encoding_keeps_the_recipe(
    page: Page, served_app: ServedApp, slow_uploads: None
) -> None:
    open_page(page, served_app)
    put_file(page, "tweets.csv", TWEETS_CSV, 3)
    # The first upload greets with requests made from its text column, not with an error.
    expect(errors(page)).to_have_count(0)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value("{review}")
    screenshot(page, "second-upload-00-first-upload")
    # The analyst looks at the encodings offered and keeps the automatic one.
    page.get_by_test_id("stSelectbox").filter(has_text="Encoding").click()
    page.get_by_role("option").first.click()
    wait_idle(page)
    type_into(page.get_by_role("textbox", name="Prompt template"), TEMPLATE)
    type_into(page.get_by_role("textbox", name="System prompt"), SYSTEM_PROMPT)
    wait_idle(page)
    assert_recipe_kept(page, "@united flight delayed again ✈️😡", "0.1")

    # UTF-8, then GBK.
    put_file(page, "hotels-gbk.csv", HOTEL_GBK_CSV, 4)
    expect(page.get_by_text("Automatic reads this file as Chinese simplified")).to_be_visible()
    assert_recipe_kept(page, HOTEL_ROWS[0][1], "0.2")
    screenshot(page, "second-upload-01-gbk-after-utf8")

    # GBK, then UTF-8 again.
    put_file(page, "tweets.csv", TWEETS_CSV, 3)
    assert_recipe_kept(page, "@united flight delayed again ✈️😡", "0.3")
    expect(page.get_by_text("Automatic reads this file as UTF-8")).to_be_visible()

    # And a workbook, then back to the GBK file.
    put_file(page, "hotels.xlsx", hotel_xlsx(), 4)
    assert_recipe_kept(page, HOTEL_ROWS[0][1], "0.4")
    put_file(page, "hotels-gbk.csv", HOTEL_GBK_CSV, 4)
    assert_recipe_kept(page, HOTEL_ROWS[0][1], "0.5")
    # The same file saved again under a better name: the page names it by its new name.
    put_file(page, "hotels-march.csv", HOTEL_GBK_CSV, 4)
    expect(page.get_by_text("4 rows × ")).not_to_contain_text("hotels-gbk.csv")
    assert_recipe_kept(page, HOTEL_ROWS[0][1], "0.6")

    # Tried, each answer comes with the review it answers.
    page.get_by_role("button", name="Try on 3 rows").click()
    answers = page.get_by_test_id("stCode").filter(has_text="[sandbox]")
    expect(answers).to_have_count(3, timeout=STEP_TIMEOUT)
    blocks = page.get_by_test_id("stVerticalBlock")
    card = blocks.filter(has=page.get_by_text("Row 2 · row-2")).filter(has=answers.nth(1)).last
    # (The sandbox's answer quotes the prompt: the cell must be shown as a cell, not in it.)
    expect(card.get_by_test_id("stMarkdown").filter(has_text=HOTEL_ROWS[1][1])).to_have_count(1)
    screenshot(page, "second-upload-02-back-to-gbk-tried")


def test_switching_the_source_back_and_forth_keeps_the_recipe(
    page: Page, served_app: ServedApp
) -> None:
    open_page(page, served_app)
    template = page.get_by_role("textbox", name="Prompt template")
    put_file(page, "tweets.csv", TWEETS_CSV, 3)

    # Untouched, the template follows each table to its text column: no error on any switch.
    choose_source(page, "Paste rows")
    pasted = page.get_by_role("textbox", name="Rows copied from a spreadsheet")
    type_into(pasted, "question\tstars\nWhy was my flight late?\t1\nCan I bring a pet?\t4\n")
    expect(page.get_by_text("2 rows × ")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(template).to_have_value("{question}")
    expect(errors(page)).to_have_count(0)
    choose_source(page, "Upload a file")
    expect(template).to_have_value("{review}")
    expect(errors(page)).to_have_count(0)

    # Written by the analyst, it stays, and survives the recipe being hidden and shown again.
    type_into(template, TEMPLATE)
    type_into(page.get_by_role("textbox", name="System prompt"), SYSTEM_PROMPT)
    wait_idle(page)
    assert_recipe_kept(page, "@united flight delayed again ✈️😡", "0.1")
    choose_source(page, "Type a table")  # still empty: no recipe to show
    expect(page.get_by_text("Type at least one prompt into the table.")).to_be_visible()
    expect(template).to_have_count(0)
    choose_source(page, "Upload a file")
    expect(page.get_by_text("uploaded earlier")).to_be_visible()
    assert_recipe_kept(page, "@united flight delayed again ✈️😡", "0.2")

    # The pasted rows have no review column: the template stays as written, the page names
    # the placeholder that is missing; the analyst adds the column and the error goes.
    choose_source(page, "Paste rows")
    expect(template).to_have_value(TEMPLATE)
    expect(errors(page)).to_contain_text(
        "The template uses the placeholder '{review}', which matches no column of the table."
    )
    screenshot(page, "second-upload-03-pasted-rows-lack-the-column")
    type_into(pasted, "review\tstars\nGreat service\t5\nRude staff\t1\n")
    assert_recipe_kept(page, "Great service", "0.3")

    # A template without a column: allowed, with a warning that says how to put one in.
    type_into(template, "Write a haiku about airports.")
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="same prompt")
    expect(warning).to_contain_text("all 2 rows get the same prompt", timeout=STEP_TIMEOUT)
    expect(warning).to_contain_text("(such as {review})")
    expect(page.get_by_role("button", name="Submit job…")).to_be_enabled()
    screenshot(page, "second-upload-04-same-prompt-warning")
