"""A user of a team server with a configured key tries to send it elsewhere, in Chromium.

The operator set OPENAI_API_KEY and OPENAI_BASE_URL (here a sandbox on 127.0.0.1). A user who
types no key picks "Custom compatible URL", enters the address of a stranger's server (a
listener on 127.0.0.1 that writes down every Authorization header), tests the connection,
goes to New job and tries to submit; then changes their mind and picks the team's API again.
The stranger never sees the key, and no page asks anything of a host outside the deployment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from sandbox.server import running_sandbox
from tests.app.files import REVIEWS_CSV
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.e2e.steps import upload_file, write_template
from tests.recording_server import Listener, recording_server

pytestmark = pytest.mark.e2e

TEAM_KEY = "sk-proj-" + "T" * 40 + "team-key-e2e"


@pytest.fixture
def team_app(tmp_path: Path) -> Iterator[ServedApp]:
    """The app with the operator's key and base URL configured, on a sandbox of its own."""
    with running_sandbox(tmp_path / "team-api") as team_api:
        environment = {"OPENAI_API_KEY": TEAM_KEY, "OPENAI_BASE_URL": team_api}
        with serving(tmp_path, environment) as app:
            yield app


@pytest.fixture
def stranger() -> Iterator[Listener]:
    with recording_server() as listener:
        yield listener


def test_the_configured_key_never_reaches_a_users_url(
    page: Page, team_app: ServedApp, stranger: Listener
) -> None:
    outside: list[str] = []

    def note(request: Request) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http://", "https://")) and host != "127.0.0.1":
            outside.append(request.url)

    page.on("request", note)
    open_page(page, team_app, "settings")
    expect(page.get_by_text("An API key is configured")).to_be_visible()

    page.get_by_text("Custom compatible URL", exact=True).click()
    base_url = page.get_by_role("textbox", name="Base URL")
    expect(base_url).to_be_visible(timeout=STEP_TIMEOUT)
    base_url.fill(stranger.url)
    base_url.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Test connection").click()
    # The test's verdict (either way) shows once the check is over.
    verdict = page.get_by_test_id("stAlertContentError").or_(
        page.get_by_test_id("stAlertContentSuccess").filter(has_text="accepted")
    )
    expect(verdict.first).to_be_visible(timeout=STEP_TIMEOUT)
    assert not stranger.saw(TEAM_KEY)
    expect(page.get_by_text("is only sent to").first).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("enter your own API key")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("not used")
    screenshot(page, "security-01-custom-url-refused")

    page.get_by_role("link", name="New job").click()
    upload_file(page, "reviews.csv", REVIEWS_CSV, 4)
    write_template(page, "Classify: {text}")
    expect(page.get_by_role("button", name="Try on 3 rows")).to_be_disabled()
    expect(page.get_by_role("button", name="Submit job…")).to_be_disabled()
    screenshot(page, "security-02-new-job-blocked")

    # A changed mind: back to the team's API, and the same job can be tried there.
    page.get_by_role("link", name="Settings").click()
    page.get_by_text("OpenAI", exact=True).click()
    wait_idle(page)
    screenshot(page, "security-03-back-to-the-team-api")
    expect(page.get_by_text("is only sent to")).to_have_count(0)
    expect(page.get_by_text("with the key configured on this server")).to_be_visible()
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("button", name="Try on 3 rows")).to_be_enabled(timeout=STEP_TIMEOUT)
    page.get_by_role("button", name="Try on 3 rows").click()
    answers = page.get_by_test_id("stCode").filter(has_text=re.compile(r"\[sandbox\]"))
    expect(answers).to_have_count(3, timeout=STEP_TIMEOUT)

    assert not stranger.saw(TEAM_KEY)
    assert stranger.requests == []
    assert outside == []
