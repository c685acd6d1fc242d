"""AppTest fixtures: the whole app (entry script and navigation) on a private data directory.

Every test gets its own BATCHDASH_DATA_DIR through `at.secrets`, no API key from the
environment, and afterwards the process-wide caches are cleared, which stops the sandbox
server the app started and closes its registry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.recording_server import recording_server

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"
NEW_JOB = "app_pages/new_job.py"
JOBS = "app_pages/jobs.py"
RESULTS = "app_pages/results.py"
SETTINGS = "app_pages/settings.py"
#: Seconds one run may take: the first imports pandas, openai and the tokenizer.
RUN_TIMEOUT = 120

MakeApp = Callable[..., AppTest]


@pytest.fixture(autouse=True)
def _no_configured_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key, base URL or registry from the developer's environment; empty caches after."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHDASH_DB_URL", "BATCHDASH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("BATCHDASH_UI_CACHE", raising=False)
    # The bundled sandbox at full speed unless a test picks a pace (the app's own default is
    # slow enough for an analyst to watch a job run).
    monkeypatch.setenv("BATCHDASH_SANDBOX_RATE", "unlimited")
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The app's data directory for this test."""
    return tmp_path / "data"


@pytest.fixture
def make_app(data_dir: Path) -> MakeApp:
    """An AppTest of the whole app with the given secrets (BATCHDASH_DATA_DIR always set)."""

    def make(**secrets: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)
        at.secrets["BATCHDASH_DATA_DIR"] = str(data_dir)
        for name, value in secrets.items():
            at.secrets[name] = value
        return at

    return make


@pytest.fixture
def app(make_app: MakeApp) -> AppTest:
    """The app in Sandbox mode, run once (New job is the first page)."""
    at = make_app()
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def refusing_api() -> Iterator[str]:
    """A server on 127.0.0.1 that refuses every key (HTTP 401), as OpenAI does a wrong one."""
    with recording_server() as server:
        yield server.url


def texts(at: AppTest, kind: str) -> list[str]:
    """The values of every element of `kind` (error, warning, caption, markdown, ...)."""
    return [str(element.value) for element in getattr(at, kind)]


def joined(at: AppTest, kind: str) -> str:
    """Every `kind` element's text in one string, Markdown escapes removed."""
    return "\n".join(texts(at, kind)).replace("\\", "")


def sidebar_text(at: AppTest) -> str:
    """The sidebar's captions and Markdown, escapes removed."""
    texts = [str(element.value) for element in [*at.sidebar.caption, *at.sidebar.markdown]]
    return "\n".join(texts).replace("\\", "")


def rerun_until(at: AppTest, done: Callable[[], bool], *, within: float = 90.0) -> None:
    """Run the page again until `done()`, failing after `within` seconds. A Jobs page run
    shares a refresh another run began moments before (`JobBoard.refresh`), so it is time that
    moves a job on, not the number of runs."""
    deadline = time.monotonic() + within
    while True:
        at.run()
        assert not at.exception, at.exception
        if done():
            return
        assert time.monotonic() < deadline, f"not done after {within:g} s"
        time.sleep(0.2)


def until_counted(at: AppTest, *, within: float = 90.0) -> None:
    """Run New job again (as its polling fragment makes the browser do) until every row of a
    big table is counted: no estimate (≈) left on the input tokens."""

    def counted() -> bool:
        tokens = [str(metric.value) for metric in at.metric if metric.label == "Input tokens"]
        return bool(tokens) and not tokens[0].startswith("≈")

    rerun_until(at, counted, within=within)
