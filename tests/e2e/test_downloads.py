"""The downloads of a finished job, opened as the programs an analyst would open them with.

Thirty tweets with a numeric 编号 column, a code with leading zeros, prices, emoji, line breaks
and texts that start like formulas (`@united ...`, `=cmd`, `-`, `+`) go through the sandbox.
The Results page says how many cells the merged CSV changed and why; the CSV for spreadsheets,
the CSV for programs and the XLSX are downloaded through the browser and compared cell by cell
with the input: the CSV for spreadsheets changes exactly the cells it says, the one for programs
none, and the XLSX keeps every text while numbers arrive as numbers. On screen the answer comes
right after the short leading columns, and the technical columns show only when asked for.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import submit_job, upload_file, write_template
from tests.e2e.test_whole_path import BATCH_TIMEOUT, download, job_heading, open_results

pytestmark = pytest.mark.e2e

ROWS = 30
#: Texts a spreadsheet would run as a formula start with one of these (DESIGN.md contract 6).
FORMULA_SIGNS = ("=", "+", "-", "@", "\t", "\r")
INPUT_COLUMNS = ["编号", "code", "tweet", "price"]
TECHNICAL = ["custom_id", "finish_reason", "input_tokens", "output_tokens", "cost_usd", "batch_id"]


def tweet(n: int) -> str:
    """Mostly `@united ...` as in real airline tweets, with the awkward cases mixed in."""
    if n == ROWS:
        return "@united lost my bag [[sandbox:error]]"  # an error row
    return {
        3: f"=cmd|' /C calc'!A{n}",
        5: f"-{n} stars, never again",
        6: f"+1 to the crew of flight {n}",
        7: f"Line one of {n}\nline two ✈️😀",
        9: f"Great crew 😀 on flight {n}, 好评",
    }.get(n % 10, f"@united flight {n} was late again")


def input_rows() -> list[list[str]]:
    return [[str(n), f"{n:03d}", tweet(n), f"{n * 2.5:.2f}"] for n in range(1, ROWS + 1)]


def input_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INPUT_COLUMNS)
    writer.writerows(input_rows())
    return out.getvalue().encode("utf-8")


def read_text_csv(path: Path, encoding: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)


def submit_tweets(page: Page, app: ServedApp, name: str) -> None:
    open_page(page, app)
    upload_file(page, "tweets.csv", input_csv(), ROWS)
    write_template(page, "Write a short reply to this tweet: {tweet}")
    submit_job(page, name)
    expect(job_heading(page, name, "Completed with errors")).to_be_visible(timeout=BATCH_TIMEOUT)


def results_grid(page: Page) -> Locator:
    return page.get_by_test_id("stDataFrame").last


def expect_leading_headers(page: Page, names: list[str]) -> None:
    """The results table's first column headers, left to right (the grid's accessible table,
    which holds the columns in view)."""
    headers = results_grid(page).locator("th[role=columnheader]")
    for position, name in enumerate(names):
        expect(headers.nth(position)).to_have_text(name, timeout=STEP_TIMEOUT)


def column_visibility(page: Page) -> dict[str, bool]:
    """Every column of the results table and whether it shows, from the table's own menu."""
    # The table's toolbar shows while the pointer is over the table.
    results_grid(page).hover()
    page.get_by_role("button", name="Show/hide columns: Your rows with their answers").click()
    menu = page.get_by_test_id("stDataFrameColumnVisibilityMenu")
    expect(menu).to_be_visible(timeout=STEP_TIMEOUT)
    shown = {
        label.inner_text().strip(): label.locator("input").is_checked()
        for label in menu.locator("label").all()
    }
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0, timeout=STEP_TIMEOUT)
    return shown


def test_download_every_table_and_compare_it_with_the_input(
    page: Page, served_app: ServedApp
) -> None:
    submit_tweets(page, served_app, "Airline tweets")
    open_results(page)

    # On screen: the short leading columns, then the answer, its status and, as rows failed,
    # the error; the technical columns only when asked for.
    expect_leading_headers(page, ["", "编号", "code", "response", "status", "error"])
    columns = column_visibility(page)
    assert not any(columns[name] for name in TECHNICAL), columns
    assert all(columns[name] for name in ["tweet", "price", "response", "status", "error"])
    screenshot(page, "downloads-results")

    # What the page says about the CSV for spreadsheets, and the count it gives.
    note = page.get_by_test_id("stCaptionContainer").filter(has_text="put in front of")
    expect(note).to_have_count(1, timeout=STEP_TIMEOUT)
    expect(note).to_contain_text("XLSX")
    count = re.search(r"([\d,]+) cells?", note.inner_text())
    assert count, note.inner_text()
    stated = int(count[1].replace(",", ""))

    programs = read_text_csv(download(page, "CSV for programs"), "utf-8")
    assert programs.columns[0] == "编号"  # no byte-order mark glued to the first name
    assert programs[INPUT_COLUMNS].values.tolist() == input_rows()
    assert programs["status"].tolist() == ["ok"] * (ROWS - 1) + ["error"]

    spreadsheets = read_text_csv(download(page, "Merged CSV"), "utf-8-sig")
    assert list(spreadsheets.columns) == list(programs.columns)
    changed = 0
    for name in programs.columns:
        for before, after in zip(programs[name], spreadsheets[name], strict=True):
            if before.startswith(FORMULA_SIGNS):
                assert after == "'" + before
                changed += 1
            else:
                assert after == before
    assert changed == stated
    assert changed == sum(tweet(n).startswith(FORMULA_SIGNS) for n in range(1, ROWS + 1))

    book = openpyxl.load_workbook(io.BytesIO(download(page, "Merged XLSX").read_bytes()))
    sheet = book["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(programs.columns)
    for got, (number, code, text, price) in zip(rows[1:], input_rows(), strict=True):
        assert got[0] == int(number) and isinstance(got[0], int)  # a number, SUM works
        assert got[1] == code  # leading zeros kept
        assert got[2] == text
        assert got[3] == float(price) and isinstance(got[3], int | float)
    assert sheet.cell(2, 4).number_format == "0.00"  # 2.50 shows as written
    assert [row[4] or "" for row in rows[1:]] == programs["response"].tolist()  # blank: ""

    # The second look: technical columns on, then off; only failed rows, downloads still whole.
    technical = page.get_by_text("Show technical columns")
    technical.click()
    wait_idle(page)
    assert all(column_visibility(page)[name] for name in TECHNICAL)
    # In view, not beyond the right edge: the grid's accessible table holds the columns shown.
    headers = results_grid(page).locator("th[role=columnheader]")
    expect(headers.filter(has_text="custom_id")).to_have_count(1, timeout=STEP_TIMEOUT)
    screenshot(page, "downloads-results-technical")
    technical.click()
    wait_idle(page)
    assert not any(column_visibility(page)[name] for name in TECHNICAL)
    page.get_by_test_id("stButtonGroup").get_by_role("button", name="error").click()
    wait_idle(page)
    expect(results_grid(page).locator("tbody tr")).to_have_count(1, timeout=STEP_TIMEOUT)
    screenshot(page, "downloads-results-errors")
    assert len(read_text_csv(download(page, "CSV for programs"), "utf-8")) == ROWS
