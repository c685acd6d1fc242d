"""Settings: the key kept in the session only, base URL presets, the connection test, the
enqueued-token limits and price overrides used by New job, and where the data lives."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from sandbox.server import running_sandbox
from tests.app.conftest import NEW_JOB, SETTINGS, MakeApp, joined, sidebar_text
from tests.app.files import REVIEWS_CSV, many_rows_csv
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.connection import SANDBOX_LABEL


def settings_page(at: AppTest) -> AppTest:
    at.switch_page(SETTINGS).run()
    assert not at.exception
    return at


def files_holding(needle: bytes, roots: list[Path], since: float) -> list[Path]:
    """Files (once each) under `roots` changed after `since` whose bytes contain `needle`.

    Other programs create and delete files under the temporary directory meanwhile; what
    vanishes or cannot be read while the walk runs is skipped (os.walk skips such folders).
    """
    found: set[Path] = set()
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder, name)
                try:
                    fresh = path.is_file() and path.stat().st_mtime >= since
                    if fresh and needle in path.read_bytes():
                        found.add(path)
                except OSError:
                    continue
    return sorted(found)


@pytest.fixture
def sandbox_api(tmp_path: Path) -> Iterator[str]:
    """A sandbox of the test's own, standing in for a compatible API behind a custom URL."""
    with running_sandbox(tmp_path / "sandbox-api") as url:
        yield url


def test_without_a_key_the_app_is_in_sandbox_mode(app: AppTest) -> None:
    settings_page(app)

    assert "Sandbox mode" in joined(app, "caption")
    assert SANDBOX_LABEL in sidebar_text(app)
    app.button(key="test_connection").click().run()
    assert "The sandbox answers." in joined(app, "success")


def test_the_key_round_trip_never_writes_the_key(
    app: AppTest, sandbox_api: str, data_dir: Path, tmp_path: Path
) -> None:
    started = time.time() - 1
    key = f"sk-test-{uuid.uuid4().hex}"
    settings_page(app)

    app.text_input(key=state.API_KEY).set_value(key).run()
    app.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    app.text_input(key=state.CUSTOM_BASE_URL).set_value(sandbox_api).run()
    assert "Key not tested yet" in sidebar_text(app)
    app.button(key="test_connection").click().run()

    assert "accepted the key" in joined(app, "success")
    assert sandbox_api in sidebar_text(app)
    assert "The key works." in sidebar_text(app)

    # The key carries a whole job: a try and a submission through the custom URL.
    app.switch_page(NEW_JOB).run()
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    app.button(key="try_rows").click().run()
    assert not app.error
    app.button(key="submit_button").click().run()
    assert "billed to your API key" in joined(app, "warning")
    app.button(key="submit_confirm").click().run()
    assert app.header[0].value == "Jobs"
    job_id = app.session_state[state.SELECTED_JOB]

    # Back in Settings the key is still there for this session, and shown masked.
    settings_page(app)
    field = app.text_input(key=state.API_KEY)
    assert field.value == key
    assert field.proto.type == field.proto.PASSWORD

    registry = Registry(default_db_url(data_dir))
    try:
        assert registry.get_job(job_id, owner_scope(key, sandbox_api)).name.startswith("reviews")
    finally:
        registry.close()
    # The scan finds a copy where there is one (this planted file), and no other.
    planted = tmp_path / "planted.txt"
    planted.write_text(f"key={key}")
    roots = [data_dir, tmp_path, Path(tempfile.gettempdir())]
    assert files_holding(key.encode(), roots, started) == [planted]


def test_a_configured_key_is_only_said_to_be_configured(make_app: MakeApp) -> None:
    key = f"sk-test-{uuid.uuid4().hex}"
    app = make_app(OPENAI_API_KEY=key)
    app.run()
    settings_page(app)

    assert "An API key is configured" in joined(app, "success")
    assert app.text_input(key=state.API_KEY).value == ""
    assert "OpenAI (api.openai.com)" in sidebar_text(app)
    assert "Key not tested yet" in sidebar_text(app)
    assert not app.info  # no Sandbox banner
    shown = "\n".join(str(element.proto) for element in app.main)
    assert key not in shown
    assert key[-8:] not in shown


def test_a_refused_key_is_reported_in_the_page_and_the_sidebar(
    app: AppTest, refusing_api: str
) -> None:
    settings_page(app)
    app.text_input(key=state.API_KEY).set_value("sk-test-wrong-key-000").run()
    app.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    app.text_input(key=state.CUSTOM_BASE_URL).set_value(refusing_api).run()

    app.button(key="test_connection").click().run()

    assert not app.exception
    errors = joined(app, "error")
    assert "refused" in errors
    assert "sk-test-wrong-key-000" not in errors
    assert "refused" in sidebar_text(app)
    # Another key is another scope: the old verdict no longer shows.
    app.text_input(key=state.API_KEY).set_value("sk-test-another-key-1").run()
    assert "Key not tested yet" in sidebar_text(app)


def test_the_azure_preset_builds_the_v1_url_from_the_resource_name(app: AppTest) -> None:
    settings_page(app)
    app.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_AZURE).run()
    assert "Enter the Azure resource name" in joined(app, "error")

    app.text_input(key=state.AZURE_RESOURCE).set_value("my resource!").run()
    assert "is not valid" in joined(app, "error")

    app.text_input(key=state.AZURE_RESOURCE).set_value("contoso-eu").run()
    assert not app.error
    assert "https://contoso-eu.openai.azure.com/openai/v1/" in joined(app, "caption")


def test_a_custom_url_must_be_http(app: AppTest) -> None:
    settings_page(app)
    app.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    app.text_input(key=state.CUSTOM_BASE_URL).set_value("gateway.example.com").run()

    assert "must start with http:// or https://" in joined(app, "error")
    assert not app.exception


def test_enqueued_token_limits_split_and_warn_on_new_job(app: AppTest) -> None:
    settings_page(app)
    app.session_state[f"{state.LIMITS_EDITOR}:0"] = {
        "edited_rows": {},
        "added_rows": [{"model": "gpt-4o-mini", "enqueued tokens": 20_000}],
        "deleted_rows": [],
    }
    app.run()
    assert app.session_state[state.TOKEN_LIMITS] == {"gpt-4o-mini": 20_000}

    app.switch_page(NEW_JOB).run()
    upload(app, "many.csv", many_rows_csv(2_000))
    app.text_area(key=state.TEMPLATE).set_value("{prompt}").run()

    assert (
        "more than the 20,000 your organisation may have waiting in the queue for gpt-4o-mini"
        in joined(app, "warning")
    )
    parts = app.dataframe[-1].value
    assert len(parts) > 1
    assert parts["input tokens"].max() <= 20_000
    assert parts["requests"].sum() == 2_000

    # The table is still filled in when Settings opens again.
    settings_page(app)
    limits = app.data_editor[0].value
    assert limits.to_dict("records") == [{"model": "gpt-4o-mini", "enqueued tokens": 20_000}]


def test_a_price_override_prices_an_unlisted_model(app: AppTest) -> None:
    settings_page(app)
    app.session_state[f"{state.PRICES_EDITOR}:0"] = {
        "edited_rows": {},
        "added_rows": [
            {"model": "acme-large", "input USD per 1M": 4.0, "output USD per 1M": 8.0},
            {"model": "gpt-4o", "input USD per 1M": 1.0, "output USD per 1M": 2.0},
            {"model": "half-typed", "input USD per 1M": 1.0},
        ],
        "deleted_rows": [],
    }
    app.run()
    overrides = app.session_state[state.PRICE_OVERRIDES]
    assert sorted(overrides) == ["acme-large", "gpt-4o"]
    assert "gpt-4o is in the price list at $2.50 / $10.00" in joined(app, "caption")

    app.session_state[state.MODEL] = "acme-large"
    app.switch_page(NEW_JOB).run()
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("{text}").run()

    shown = {metric.label: metric.value for metric in app.metric}
    tokens = int(shown["Input tokens"])
    assert float(shown["Input would cost"][1:]) == pytest.approx(tokens * 2.0 / 1e6, rel=0.01)
    assert "No price is known" not in joined(app, "warning")


def test_where_the_data_lives_hides_the_database_password(
    make_app: MakeApp, data_dir: Path
) -> None:
    app = make_app(BATCHDASH_DB_URL="postgresql://analyst:s3cret-pw@db.example.com/batchdash")
    app.run()
    settings_page(app)

    shown = [code.value for code in app.code]
    assert str(data_dir) in shown
    assert "postgresql://analyst:***@db.example.com/batchdash" in shown
    assert "s3cret-pw" not in "\n".join(str(element.proto) for element in app.main)


def test_a_local_server_preset_takes_any_key_and_says_where_requests_go(app: AppTest) -> None:
    settings_page(app)
    app.segmented_control(key=state.BASE_URL_PRESET).set_value("Ollama").run()
    captions = joined(app, "caption")
    # No key: the sandbox imitates the server; its batch windows and file limits are not told.
    assert "Ollama: No Batch API: run the job directly, or export it for vLLM" in captions
    assert "Windows:" not in captions
    assert "With a key, requests go to http://localhost:11434/v1." in captions
    assert "Imitating Ollama" in sidebar_text(app)

    app.text_input(key=state.API_KEY).set_value("anything").run()
    assert (
        "Requests go to http://localhost:11434/v1 with the key you entered for this session."
        in joined(app, "caption")
    )
    assert not app.error and not app.exception
