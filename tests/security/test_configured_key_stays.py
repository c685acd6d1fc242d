"""The key configured on the server goes only to the base URL configured beside it.

A user with no key of their own who picks a custom URL (a stranger's server, here a listener on
127.0.0.1) and then tests the connection, tries rows and submits must never hand the
configured key to that server; with their own key they may use it, and an address outside the
operator's list is refused whatever the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sandbox.server import running_sandbox
from tests.app.conftest import JOBS, NEW_JOB, SETTINGS, MakeApp, joined, sidebar_text
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from tests.recording_server import Listener, recording_server
from ui import state

CONFIGURED_KEY = "sk-proj-" + "C" * 40 + "team-key"
OWN_KEY = "sk-proj-" + "D" * 40 + "own-key"


@pytest.fixture
def team_api(tmp_path: Path) -> Iterator[str]:
    """The API the operator configured (OPENAI_BASE_URL)."""
    with running_sandbox(tmp_path / "team-api") as url:
        yield url


@pytest.fixture
def stranger() -> Iterator[Listener]:
    with recording_server() as listener:
        yield listener


def _custom_url(at: AppTest, url: str) -> None:
    at.switch_page(SETTINGS).run()
    at.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    at.text_input(key=state.CUSTOM_BASE_URL).set_value(url).run()
    assert not at.exception


def test_a_custom_url_never_gets_the_configured_key(
    make_app: MakeApp, team_api: str, stranger: Listener
) -> None:
    at = make_app(OPENAI_API_KEY=CONFIGURED_KEY, OPENAI_BASE_URL=team_api)
    at.run()
    _custom_url(at, stranger.url)
    at.button(key="test_connection").click().run()
    assert not stranger.saw(CONFIGURED_KEY)

    # Settings says where the configured key goes, and that this address needs another key.
    assert "only sent to" in joined(at, "warning")
    assert "enter your own API key" in joined(at, "warning")
    assert "only sent to" in joined(at, "error")
    assert "accepted the key" not in joined(at, "success")
    assert "not used" in sidebar_text(at)

    # New job: nothing can be tried or sent while the chosen address is refused.
    at.switch_page(NEW_JOB).run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    assert at.button(key="try_rows").disabled
    assert at.button(key="submit_button").disabled
    at.session_state[state.SUBMIT_OPEN] = True
    at.run()
    assert "only sent to" in joined(at, "error")
    assert at.session_state[state.SELECTED_JOB] is None
    # Jobs and Results still follow the team's own API.
    at.switch_page(JOBS).run()
    assert not at.exception

    assert not stranger.saw(CONFIGURED_KEY)
    assert stranger.requests == []


def test_the_users_own_key_may_go_to_a_custom_url(
    make_app: MakeApp, team_api: str, stranger: Listener
) -> None:
    at = make_app(OPENAI_API_KEY=CONFIGURED_KEY, OPENAI_BASE_URL=team_api)
    at.run()
    at.switch_page(SETTINGS).run()
    at.text_input(key=state.API_KEY).set_value(OWN_KEY).run()
    _custom_url(at, stranger.url)
    assert "with the key you entered for this session" in joined(at, "caption")

    at.button(key="test_connection").click().run()

    assert stranger.saw(OWN_KEY)
    assert not stranger.saw(CONFIGURED_KEY)


def test_the_configured_pair_still_works_and_says_so(make_app: MakeApp, team_api: str) -> None:
    at = make_app(OPENAI_API_KEY=CONFIGURED_KEY, OPENAI_BASE_URL=team_api)
    at.run()
    at.switch_page(SETTINGS).run()

    assert "with the key configured on this server" in joined(at, "caption")
    at.button(key="test_connection").click().run()
    assert "accepted the key" in joined(at, "success")


def test_an_address_outside_the_operators_list_is_refused_even_with_an_own_key(
    make_app: MakeApp, team_api: str, stranger: Listener
) -> None:
    at = make_app(
        OPENAI_API_KEY=CONFIGURED_KEY,
        OPENAI_BASE_URL=team_api,
        BATCHDASH_ALLOWED_BASE_URLS=f"{team_api}, https://*.openai.azure.com",
    )
    at.run()
    at.switch_page(SETTINGS).run()
    at.text_input(key=state.API_KEY).set_value(OWN_KEY).run()
    _custom_url(at, stranger.url)

    assert "operator approved" in joined(at, "warning")
    assert "*.openai.azure.com" in joined(at, "caption")
    at.button(key="test_connection").click().run()
    assert "BATCHDASH_ALLOWED_BASE_URLS" in joined(at, "error").replace("\\", "")
    assert stranger.requests == []

    # An approved address (an Azure resource) is accepted with the user's own key.
    at.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_AZURE).run()
    at.text_input(key=state.AZURE_RESOURCE).set_value("contoso-eu").run()
    assert "operator approved" not in joined(at, "warning")
