"""The bundled sandbox starts in the background: its URL is handed out at once (the first page
never waits for it), a request sent while it starts is answered, and one stopped before anything
asked it anything never starts at all. A start that cannot or did not succeed is one plain
sentence on every page, never an exception."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
import streamlit as st

from tests.app.conftest import SETTINGS, MakeApp, joined
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


@contextmanager
def _held(folder: Path) -> Iterator[None]:
    """`folder` held as a running sandbox holds it (its engine lock taken)."""
    folder.mkdir(parents=True)
    with (folder / "engine.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def test_a_data_directory_that_cannot_be_written_is_said_at_once(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    data_dir = tmp_path / "file" / "data"

    url = resources.sandbox_url(data_dir)
    failure = resources.sandbox_failure(data_dir)

    assert url.startswith("http://127.0.0.1:")  # handed out, but nothing is sent to it
    assert failure is not None
    assert "cannot be written" in str(failure) and "BATCHDASH_DATA_DIR" in str(failure)
    assert str(data_dir / "sandbox") in str(failure)
    st.cache_resource.clear()


def test_the_app_says_why_the_sandbox_cannot_start_in_its_first_run_and_after(
    make_app: MakeApp, data_dir: Path
) -> None:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.write_text("a file where the data directory should be")
    at = make_app()

    at.run()

    assert not at.exception
    assert "cannot be written" in joined(at, "error")
    assert "BATCHDASH_DATA_DIR" in joined(at, "error")
    at.run()
    assert not at.exception
    assert "cannot be written" in joined(at, "error")


def test_a_sandbox_already_running_on_the_folder_is_named(
    make_app: MakeApp, data_dir: Path
) -> None:
    with _held(data_dir / "sandbox"):
        at = make_app()
        at.run()

        assert not at.exception
        error = joined(at, "error")
        assert "another sandbox is already running" in error
        assert "BATCHDASH_SANDBOX_URL" in error


def test_a_start_that_fails_later_is_a_sentence_not_an_exception(
    make_app: MakeApp, data_dir: Path
) -> None:
    at = make_app()
    at.run()
    assert not at.exception and not at.error
    url = resources.sandbox_url(data_dir)
    running = resources._sandbox(data_dir, resources.sandbox_rate(), "openai")
    # The folder turns into a file before the sandbox starts: its start fails in its thread.
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.rmdir()
    data_dir.write_text("not a folder any more")

    with pytest.raises(httpx2.TransportError):
        httpx2.get(url.removesuffix("/v1") + "/health", timeout=60)
    running.thread.join(timeout=60)

    at.run()
    assert not at.exception
    assert "cannot be written" in joined(at, "error")
    at.switch_page(SETTINGS).run()
    assert not at.exception
    assert "cannot be written" in joined(at, "error")
