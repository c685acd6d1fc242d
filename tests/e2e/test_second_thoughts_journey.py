"""Second thoughts on New job and Jobs, as an analyst has them: an endpoint tried and left,
every reasoning effort within reach, a search left on Jobs before the next submit, and another
sheet of the workbook looked at and left."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import go_to, submit_job, upload_file, write_template
from tests.e2e.test_provider_journey import choose
from tests.e2e.test_whole_path import prompts_csv

pytestmark = pytest.mark.e2e

NAME = "Second thoughts"


def test_second_thoughts_keep_what_was_chosen(page: Page, served_app: ServedApp) -> None:
    open_page(page, served_app)
    upload_file(page, "thoughts.csv", prompts_csv(["Tea or coffee?", "Cats or dogs?"]), 2)
    write_template(page, "Answer in one word: {prompt}")
    model = page.get_by_role("combobox", name="Model")

    # Embeddings tried and left: the chat model picked before comes back with Chat Completions.
    choose(page, "Model", "gpt-4.1-mini")
    choose(page, "Endpoint", "Embeddings")
    expect(model).to_have_value("text-embedding-3-small", timeout=STEP_TIMEOUT)
    choose(page, "Endpoint", "Chat Completions")
    expect(model).to_have_value("gpt-4.1-mini", timeout=STEP_TIMEOUT)

    # A reasoning model: every effort can be picked, the last one included, at this width;
    # and the model's default once more.
    choose(page, "Model", "gpt-5")
    choose(page, "Reasoning effort", "max")
    preview = page.get_by_test_id("stCode").first
    expect(preview).to_contain_text('"reasoning_effort": "max"', timeout=STEP_TIMEOUT)
    screenshot(page, "second-thoughts-effort")
    choose(page, "Reasoning effort", "Model default")
    expect(preview).not_to_contain_text("reasoning_effort", timeout=STEP_TIMEOUT)

    # A search typed on Jobs, and forgotten: the next submit still shows its job.
    go_to(page, "Jobs")
    search = page.get_by_label("Search by name")
    search.fill("tickets of March")
    search.press("Enter")
    wait_idle(page)
    go_to(page, "New job")
    submit_job(page, NAME)
    expect(page.get_by_text(f"Submitted {NAME}. It is opened below.")).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    expect(page.get_by_label("Search by name")).to_have_value("")
    expect(page.get_by_text(re.compile(f"^{NAME} · "))).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_text("No job matches")).to_have_count(0)
    screenshot(page, "second-thoughts-submitted")


def two_sheets() -> bytes:
    """A workbook whose prompts are on its first sheet and notes on its second."""
    book = openpyxl.Workbook()
    prompts = book.active
    prompts.title = "Prompts"
    for row in (["id", "prompt"], ["T-17", "Tea or coffee?"], ["T-18", "Cats or dogs?"]):
        prompts.append(row)
    notes = book.create_sheet("Notes")
    for row in (["note"], ["asked in March"], ["asked in May"]):
        notes.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_look_at_another_sheet_keeps_the_id_column(page: Page, served_app: ServedApp) -> None:
    open_page(page, served_app)
    upload_file(page, "asked.xlsx", two_sheets(), 2, "application/octet-stream")
    write_template(page, "Answer in one word: {prompt}")
    choose(page, "ID column", "id")
    page.get_by_text("The first lines of the JSONL file").click()
    lines = page.get_by_test_id("stExpander").get_by_test_id("stCode")
    first_id = re.compile(r'"custom_id":\s?"T-17"')
    expect(lines).to_contain_text(first_id, timeout=STEP_TIMEOUT)
    id_column = page.get_by_role("combobox", name="ID column")

    # The notes sheet looked at: it has no such column, so the ids are automatic there.
    choose(page, "Worksheet", "Notes")
    expect(id_column).to_have_value("Automatic (row-1, row-2, …)", timeout=STEP_TIMEOUT)
    # Back on the prompts: the ID column chosen for them is chosen again.
    choose(page, "Worksheet", "Prompts")
    expect(id_column).to_have_value("id", timeout=STEP_TIMEOUT)
    expect(lines).to_contain_text(first_id, timeout=STEP_TIMEOUT)
    screenshot(page, "second-thoughts-sheet-and-back")
