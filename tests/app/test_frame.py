"""The frame: four pages, the connection in the sidebar, and the Sandbox mode banner."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from streamlit.testing.v1 import AppTest

from batchdash.settings import owner_scope
from tests.app.conftest import JOBS, NEW_JOB, RESULTS, SETTINGS, MakeApp, sidebar_text
from ui import state
from ui.connection import SANDBOX_LABEL
from ui.resources import sandbox_url

PAGES = {NEW_JOB: "New job", JOBS: "Jobs", RESULTS: "Results", SETTINGS: "Settings"}


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_opens_in_sandbox_mode_with_the_banner(app: AppTest, page: str) -> None:
    app.switch_page(page).run()

    assert not app.exception
    assert app.header[0].value == PAGES[page]
    assert SANDBOX_LABEL in sidebar_text(app)
    assert "Sandbox mode" in app.info[0].value


def test_the_sandbox_runs_on_a_local_port(app: AppTest, data_dir: Path) -> None:
    url = sandbox_url(data_dir)  # the server the app started, from the resource cache

    assert url.startswith("http://127.0.0.1:")
    assert httpx2.get(url.removesuffix("/v1") + "/health", timeout=5).status_code == 200
    assert (data_dir / "sandbox").is_dir()


def test_a_configured_key_shows_the_api_and_no_banner(make_app: MakeApp) -> None:
    app = make_app(
        OPENAI_API_KEY="sk-test-configured-0001", OPENAI_BASE_URL="https://llm.example.com/v1"
    )
    app.run()

    assert not app.exception
    assert "https://llm.example.com/v1" in sidebar_text(app)
    assert "Key not tested yet" in sidebar_text(app)
    assert not app.info


def test_the_sidebar_shows_the_test_of_the_key_in_use_only(make_app: MakeApp) -> None:
    app = make_app(OPENAI_API_KEY="sk-test-configured-0002")
    scope = owner_scope("sk-test-configured-0002", None)
    app.session_state[state.CONNECTION_CHECK] = {"scope": scope, "ok": True, "message": ""}
    app.run()
    assert "The key works." in sidebar_text(app)

    app.session_state[state.CONNECTION_CHECK] = {
        "scope": "another-scope",
        "ok": True,
        "message": "",
    }
    app.run()
    assert "The key works." not in sidebar_text(app)
    assert "Key not tested yet" in sidebar_text(app)
