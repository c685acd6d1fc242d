"""Optional sign-in: with `[auth]` in secrets.toml every page waits for `st.login()`, and each
signed-in user sees only their own jobs.

`at.secrets` carries the `[auth]` section the app reads; Streamlit's own login code reads the
secrets file, so the tests that press "Sign in" also point Streamlit at a secrets.toml holding
the same section. `at.user` plays the identity provider's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit.user_info
from streamlit import config
from streamlit.runtime.secrets import secrets_singleton
from streamlit.testing.v1 import AppTest

from batchdash.errors import InputError
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.conftest import JOBS, NEW_JOB, RESULTS, SETTINGS, MakeApp, joined
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from ui import sign_in, state
from ui.remote_batches import VIEW_JOBS, VIEW_REMOTE

AUTH: dict[str, Any] = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-secret-for-signing-the-identity-cookie",
    "client_id": "batchdash-test",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}
PAGES = (NEW_JOB, JOBS, RESULTS, SETTINGS)
ADA = {"is_logged_in": True, "email": "ada@example.com", "name": "Ada"}
BOB = {"is_logged_in": True, "email": "bob@example.com", "name": "Bob"}


@pytest.fixture
def auth_file(tmp_path: Path) -> Iterator[Path]:
    """A secrets.toml with the [auth] section, read by Streamlit's login code."""
    path = tmp_path / "secrets.toml"
    lines = ["[auth]", *(f'{name} = "{value}"' for name, value in AUTH.items())]
    path.write_text("\n".join(lines) + "\n")
    previous = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    secrets_singleton._reset()
    yield path
    config.set_option("secrets.files", previous)
    secrets_singleton._reset()


def signed_app(make_app: MakeApp, user: dict[str, Any] | None, auth: Any = AUTH) -> AppTest:
    at = make_app()
    at.secrets["auth"] = auth
    if user is not None:
        at.user = dict(user)
    return at


def assert_sign_in_screen_only(at: AppTest) -> None:
    assert not at.exception
    assert [title.value for title in at.title] == ["Batchdash"]
    assert "Sign in to see your jobs" in joined(at, "markdown")
    assert [button.label for button in at.button] == ["Sign in"]
    # Nothing of any page: no header, no uploader, no table, no sidebar, no sandbox banner.
    assert not at.header and not at.subheader
    assert not at.file_uploader and not at.dataframe and not at.info
    assert len(at.sidebar) == 0


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_only_the_sign_in_screen_before_sign_in(
    make_app: MakeApp, page: str
) -> None:
    at = signed_app(make_app, {"is_logged_in": False})
    at.run()
    assert_sign_in_screen_only(at)

    at.switch_page(page).run()

    assert_sign_in_screen_only(at)


def test_the_sign_in_button_starts_the_login_of_the_provider(
    make_app: MakeApp, auth_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redirects: list[str] = []
    original = streamlit.user_info.generate_login_redirect_url

    def spy(provider: str) -> str:
        redirects.append(provider)
        return original(provider)

    monkeypatch.setattr(streamlit.user_info, "generate_login_redirect_url", spy)
    at = signed_app(make_app, None)  # the identity cookie is missing: not signed in
    at.run()
    assert_sign_in_screen_only(at)

    at.button(key="sign_in_default").click().run()

    assert redirects == ["default"]
    assert not at.exception
    assert_sign_in_screen_only(at)


def test_named_providers_each_get_a_button(make_app: MakeApp) -> None:
    shared = {key: AUTH[key] for key in ("redirect_uri", "cookie_secret")}
    provider = {key: AUTH[key] for key in ("client_id", "client_secret", "server_metadata_url")}
    at = signed_app(
        make_app, {"is_logged_in": False}, {**shared, "google": provider, "microsoft": provider}
    )
    at.run()

    assert [button.label for button in at.button] == [
        "Sign in with Google",
        "Sign in with Microsoft",
    ]
    assert not at.header


def test_without_auth_there_is_no_sign_in_screen(make_app: MakeApp) -> None:
    at = make_app()
    at.user = {"is_logged_in": False}
    at.run()

    assert not at.exception
    assert at.header[0].value == "New job"
    assert not any(button.label.startswith("Sign in") for button in at.button)


def submit_reviews(at: AppTest) -> str:
    """Upload, write a template and submit a job in the sandbox; its id."""
    upload(at, "reviews.csv", REVIEWS_CSV)
    at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    at.button(key="submit_button").click().run()
    at.button(key="submit_confirm").click().run()
    assert not at.exception
    assert at.header[0].value == "Jobs"
    job_id: str = at.session_state[state.SELECTED_JOB]
    return job_id


def test_signed_in_users_see_only_their_own_jobs(make_app: MakeApp, data_dir: Path) -> None:
    ada = signed_app(make_app, ADA)
    ada.run()
    assert ada.header[0].value == "New job"
    assert "Signed in as ada@example.com" in joined(ada, "caption").replace("\\", "")
    ada_job = submit_reviews(ada)

    bob = signed_app(make_app, BOB)
    bob.run()
    bob.switch_page(JOBS).run()
    assert "No job yet" in joined(bob, "info")
    bob.switch_page(RESULTS).run()
    assert "No job yet" in joined(bob, "info")
    # Nor does Bob see the batch of Ada's job among the batches of the shared key.
    bob.switch_page(JOBS).run()
    bob.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()
    assert bob.session_state[state.REMOTE_LISTING].batches == ()
    bob.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_JOBS).run()
    bob.switch_page(NEW_JOB).run()
    bob_job = submit_reviews(bob)

    # Each sees one job, their own, on both pages.
    for at, own, other in ((ada, ada_job, bob_job), (bob, bob_job, ada_job)):
        at.switch_page(JOBS).run()
        listed = " ".join(str(frame.value.to_dict()) for frame in at.dataframe)
        assert own in str(at.session_state[state.SELECTED_JOB])
        assert other not in listed
        at.switch_page(RESULTS).run()
        assert not at.exception
        picker = at.selectbox(key=state.RESULTS_PICKER)
        assert picker.options == [picker.format_func(own)]
    # The registry files each job under the sandbox key's fingerprint and its user's e-mail.
    registry = Registry(default_db_url(data_dir))
    try:
        for job, owner, stranger in ((ada_job, ADA, BOB), (bob_job, BOB, ADA)):
            assert registry.get_job(job, owner_scope("sandbox", "sandbox", owner["email"]))
            with pytest.raises(InputError, match="There is no job"):
                registry.get_job(job, owner_scope("sandbox", "sandbox", stranger["email"]))
            with pytest.raises(InputError, match="There is no job"):
                registry.get_job(job, owner_scope("sandbox", "sandbox"))
    finally:
        registry.close()


def test_sign_out_returns_to_the_sign_in_screen(make_app: MakeApp, auth_file: Path) -> None:
    at = signed_app(make_app, ADA)
    at.run()
    at.switch_page(SETTINGS).run()
    assert at.header[0].value == "Settings"

    at.sidebar.button(key="sign_out").click().run()

    assert at.user == {"is_logged_in": False}
    at.run()
    assert_sign_in_screen_only(at)


def test_with_sign_in_the_sign_in_client_loads_before_any_job_runs(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It brings the older httpx, which the SDK looks up on every request: loaded on the page's
    # first run, not on the server's thread while another analyst's direct run is sending.
    loaded: list[str] = []
    monkeypatch.setattr(sign_in.importlib, "import_module", loaded.append)
    sign_in._load_sign_in_client.cache_clear()

    make_app().run()
    assert loaded == []

    signed_app(make_app, {"is_logged_in": False}).run()
    assert loaded == ["authlib.integrations.starlette_client"]
    sign_in._load_sign_in_client.cache_clear()
