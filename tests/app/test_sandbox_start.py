"""The bundled sandbox starts in the background: its URL is handed out at once (the first page
never waits for it), a request sent while it starts is answered, and one stopped before anything
asked it anything never starts at all."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
import streamlit as st

from ui import resources


@pytest.fixture(autouse=True)
def _own_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(resources.SANDBOX_URL, raising=False)


def test_a_request_sent_while_the_sandbox_starts_is_answered(tmp_path: Path) -> None:
    url = resources.sandbox_url(tmp_path)
    running = resources._sandbox(tmp_path, resources.sandbox_rate())
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")

    # The request itself starts the server (it waits in the socket's backlog meanwhile).
    answer = httpx2.get(url.removesuffix("/v1") + "/health", timeout=60)

    assert answer.status_code == 200
    assert (tmp_path / "sandbox").is_dir()
    st.cache_resource.clear()
    assert not running.thread.is_alive()


def test_a_sandbox_nobody_asked_stops_without_starting(tmp_path: Path) -> None:
    resources.sandbox_url(tmp_path)
    running = resources._sandbox(tmp_path, resources.sandbox_rate())

    st.cache_resource.clear()

    assert not running.thread.is_alive()
    assert not (tmp_path / "sandbox").exists()
