"""Providers in the pages: a Settings preset picks a profile, New job offers its endpoints and
completion windows, and a job is sent by its rules (in Sandbox mode, to a sandbox imitating it)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from streamlit.testing.v1 import AppTest

from batchdash.providers.profiles import BY_NAME
from batchdash.recipe import ENDPOINTS
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.app.conftest import JOBS, NEW_JOB, SETTINGS, MakeApp, joined, sidebar_text
from tests.app.files import REVIEWS_CSV
from tests.app.test_new_job_bad_inputs import upload
from ui import state
from ui.connection import sandbox_scope
from ui.remote_batches import VIEW_REMOTE


def pick(at: AppTest, label: str) -> None:
    at.switch_page(SETTINGS).run()
    at.segmented_control(key=state.BASE_URL_PRESET).set_value(label).run()
    assert not at.exception


def new_job(at: AppTest) -> None:
    at.switch_page(NEW_JOB).run()
    assert not at.exception


def test_a_preset_brings_its_endpoints_windows_and_sandbox(app: AppTest, data_dir: Path) -> None:
    pick(app, "SiliconFlow")
    assert "in_queue" in joined(app, "caption") and "336h" in joined(app, "caption")
    assert "Imitating SiliconFlow" in sidebar_text(app)

    new_job(app)
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    assert list(app.selectbox(key=state.ENDPOINT).options) == ["Chat Completions"]
    window = app.selectbox(key=state.COMPLETION_WINDOW)
    assert list(window.options) == ["24h", "48h", "72h", "168h", "336h"]
    window.set_value("72h").run()
    app.selectbox(key=state.MODEL).set_value("deepseek-ai/DeepSeek-V3").run()
    # No tokenizer of DeepSeek ships with Batchdash: the count says it is an estimate.
    labels = [metric.label for metric in app.metric]
    assert "Input tokens (estimate)" in labels
    assert "SiliconFlow's prices are not in the packaged price list" in joined(app, "warning")

    app.button(key="submit_button").click().run()
    app.button(key="submit_confirm").click().run()
    assert not app.exception and app.header[0].value == "Jobs"
    job_id = app.session_state[state.SELECTED_JOB]
    registry = Registry(default_db_url(data_dir))
    try:
        registry.get_job(job_id, sandbox_scope(None, BY_NAME["siliconflow"]))
        batch_id = registry.parts(job_id)[0].batch_id
        assert batch_id
        snapshot = registry.snapshot(batch_id)
    finally:
        registry.close()
    # The batch asked the imitated SiliconFlow for the window picked.
    assert snapshot is not None and snapshot.info["completion_window"] == "72h"


def test_a_changed_mind_keeps_what_the_next_provider_offers(app: AppTest) -> None:
    pick(app, "Groq")
    new_job(app)
    upload(app, "reviews.csv", REVIEWS_CSV)
    app.selectbox(key=state.COMPLETION_WINDOW).set_value("72h").run()
    assert app.selectbox(key=state.COMPLETION_WINDOW).options[-1] == "168h"

    pick(app, "DeepInfra")
    new_job(app)
    endpoints = list(app.selectbox(key=state.ENDPOINT).options)
    assert endpoints == ["Chat Completions", "Completions (legacy)", "Embeddings"]
    window = app.selectbox(key=state.COMPLETION_WINDOW)
    assert list(window.options) == ["24h"] and window.value == "24h" and window.disabled

    pick(app, "OpenAI")
    new_job(app)
    assert len(app.selectbox(key=state.ENDPOINT).options) == len(ENDPOINTS)
    assert app.session_state[state.COMPLETION_WINDOW] == "24h"


def test_an_unknown_provider_name_is_said_in_settings(make_app: MakeApp) -> None:
    at = make_app(BATCHDASH_PROVIDER="openrouter")
    at.run()
    at.switch_page(SETTINGS).run()
    assert not at.exception
    error = joined(at, "error")
    assert "BATCHDASH_PROVIDER is 'openrouter'" in error and "siliconflow" in error


def test_a_preset_is_an_address_the_configured_key_does_not_go_to(
    make_app: MakeApp, refusing_api: str
) -> None:
    at = make_app(OPENAI_API_KEY="sk-configured-0123456789abcdef", OPENAI_BASE_URL=refusing_api)
    at.run()
    pick(at, "Groq")
    assert "only sent to" in joined(at, "warning")
    assert "https://api.groq.com/openai/v1" in joined(at, "warning")
    new_job(at)
    upload(at, "reviews.csv", REVIEWS_CSV)
    assert at.button(key="submit_button").disabled
    assert at.button(key="try_rows").disabled


class _Models(http.server.BaseHTTPRequestHandler):
    """GET /v1/models answers the server's current list; anything else is not there."""

    listed: ClassVar[list[str]] = []
    asked: ClassVar[int] = 0

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self.send_error(404)
            return
        type(self).asked += 1
        data = [{"id": m, "object": "model", "created": 1, "owned_by": "x"} for m in self.listed]
        body = json.dumps({"object": "list", "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def models_api() -> Iterator[type[_Models]]:
    """A provider on 127.0.0.1 that only lists models."""
    handler = type("Models", (_Models,), {"listed": ["llama-3.1-8b-instant"], "asked": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/v1"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_model_picker_lists_the_keys_models_and_refreshes_on_demand(
    make_app: MakeApp, models_api: type[_Models]
) -> None:
    at = make_app(
        OPENAI_API_KEY="sk-groq-0123456789abcdef",
        OPENAI_BASE_URL=models_api.url,  # type: ignore[attr-defined]
        BATCHDASH_PROVIDER="groq",
    )
    at.run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    assert list(at.selectbox(key=state.MODEL).options) == ["llama-3.1-8b-instant", "gpt-4o-mini"]
    assert "1 model offered by Groq for this key" in joined(at, "caption")
    at.text_area(key=state.TEMPLATE).set_value("Classify: {text}").run()
    assert models_api.asked == 1  # cached across reruns

    models_api.listed = [
        "llama-3.1-8b-instant",
        "llama-3.3-70b-versatile",
        "whisper-embed-x",
        "whisper-large-v3",
        "playai-tts",
    ]
    at.button(key="refresh_models").click().run()
    offered = list(at.selectbox(key=state.MODEL).options)
    assert offered[:2] == ["llama-3.1-8b-instant", "llama-3.3-70b-versatile"]
    # An embedding, a transcription and a speech model: none answers Chat Completions.
    assert not {"whisper-embed-x", "whisper-large-v3", "playai-tts"} & set(offered)
    assert models_api.asked == 2


def test_without_a_list_the_usual_names_are_offered(make_app: MakeApp, refusing_api: str) -> None:
    at = make_app(
        OPENAI_API_KEY="sk-groq-0123456789abcdef",
        OPENAI_BASE_URL=refusing_api,
        BATCHDASH_PROVIDER="groq",
    )
    at.run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    assert "The model list could not be fetched" in joined(at, "caption")
    assert "llama-3.3-70b-versatile" in at.selectbox(key=state.MODEL).options


def test_a_provider_without_a_batch_list_says_so_on_jobs(app: AppTest) -> None:
    pick(app, "Google Gemini")
    app.switch_page(JOBS).run()
    app.segmented_control(key=state.JOBS_VIEW).set_value(VIEW_REMOTE).run()
    assert not app.exception
    assert "Google Gemini does not list batches" in joined(app, "info")


def test_geminis_listed_models_are_offered_by_their_bare_names(app: AppTest) -> None:
    pick(app, "Google Gemini")
    new_job(app)
    upload(app, "reviews.csv", REVIEWS_CSV)
    offered = list(app.selectbox(key=state.MODEL).options)
    assert "gemini-2.5-pro" in offered
    assert not [model for model in offered if model.startswith("models/")]
