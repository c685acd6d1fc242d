"""An analyst who tried Batchdash in Sandbox mode enters an API key, finds the Jobs page empty
and told where the Sandbox jobs went, removes the key and finds them again.

The key points at a closed port on 127.0.0.1: nothing is sent anywhere else.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, screenshot, wait_idle
from tests.e2e.steps import go_to
from tests.e2e.test_whole_path import BATCH_TIMEOUT, job_heading, prompts_csv, submit

pytestmark = pytest.mark.e2e

NAME = "Tried in the sandbox"
#: Where the key's requests would go: a closed port, so nothing leaves the machine.
NOWHERE = "http://127.0.0.1:9/v1"


def type_into(page: Page, label: str, text: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Enter")
    wait_idle(page)


def test_a_key_entered_and_removed_again_keeps_the_sandbox_jobs(
    page: Page, served_app: ServedApp
) -> None:
    submit(page, served_app, NAME, prompts_csv(["Hello.", "Thanks.", "Bye."]))
    expect(job_heading(page, NAME, "Completed")).to_be_visible(timeout=BATCH_TIMEOUT)

    go_to(page, "Settings")
    page.get_by_role("radio", name="Custom compatible URL").click()
    wait_idle(page)
    type_into(page, "Base URL", NOWHERE)
    type_into(page, "API key", f"sk-test-{uuid.uuid4().hex}")
    expect(page.get_by_text(f"Requests go to {NOWHERE} with the key you entered")).to_be_visible(
        timeout=STEP_TIMEOUT
    )

    go_to(page, "Jobs")
    expect(page.get_by_text("No job yet", exact=False)).to_be_visible(timeout=STEP_TIMEOUT)
    kept = page.get_by_text(re.compile(r"Your ([\d,]+ )?Sandbox jobs? (is|are) kept"))
    expect(kept).to_be_visible(timeout=STEP_TIMEOUT)
    expect(kept).to_contain_text("when you remove the key in Settings")
    expect(page.get_by_text(NAME)).to_have_count(0)
    screenshot(page, "50-jobs-with-a-key")

    go_to(page, "Settings")
    type_into(page, "API key", "")
    expect(page.get_by_text("Without a key Batchdash runs in Sandbox mode")).to_be_visible(
        timeout=STEP_TIMEOUT
    )

    go_to(page, "Jobs")
    expect(job_heading(page, NAME, "Completed")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_text("No job yet", exact=False)).to_have_count(0)
    screenshot(page, "51-jobs-key-removed")
