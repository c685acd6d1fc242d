"""Browser tests: the real app served by `streamlit run`, driven in Debian's Chromium.

Playwright cannot download a browser here, so the launch points at /usr/bin/chromium (which
`make test` installs). The app runs in Sandbox mode: no API key, its data in a temporary
directory, bound to 127.0.0.1 on a free port, stopped when the session ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
#: Screenshots of every page under test, for people to look at (gitignored).
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
STARTUP_SECONDS = 90
#: Milliseconds a step of the page may take (a rerun, a try, a submission).
STEP_TIMEOUT = 60_000
#: Milliseconds a rerun the browser just asked for may take to show that it runs.
RERUN_START_MS = 400
#: Milliseconds any expectation waits unless it says otherwise: a page just opened may still be
#: importing on a loaded machine (Playwright's 5 s failed a first look at Settings in CI). A
#: met expectation returns at once, so this only lengthens a failure.
expect.set_options(timeout=15_000)


#: Chromium's flags: headless, without the sandbox root cannot use, and quiet on the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium, headless and without the sandbox root cannot use."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A desktop-sized window, so screenshots show the page as an analyst sees it."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@dataclass(frozen=True)
class ServedApp:
    """The app under test."""

    #: Its address, e.g. http://127.0.0.1:40123.
    url: str
    #: Its BATCHDASH_DATA_DIR (registry and sandbox files).
    data_dir: Path
    #: Where its console output goes.
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Streamlit exited while starting:\n{log.read_text()}")
        try:
            if httpx2.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Streamlit did not answer /_stcore/health in {STARTUP_SECONDS} s.")


def app_command(port: int) -> list[str]:
    """`streamlit run` of the app (run it from a tree's root), headless on 127.0.0.1:`port`."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard/streamlit_app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        # Source files edited while the tests run must not rerun or reload the app under test.
        "--server.fileWatcherType",
        "none",
    ]


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop a server started here: terminate it, kill it if it does not end within 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextmanager
def serving(base: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[ServedApp]:
    """`streamlit run dashboard/streamlit_app.py` in Sandbox mode on a free 127.0.0.1 port,
    its data under `base`, its sandbox at full speed, with `extra_env` added to its
    environment; stopped afterwards."""
    data_dir = base / "data"
    log = base / "streamlit.log"
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name
        not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHDASH_DB_URL", "BATCHDASH_SANDBOX_RATE")
    }
    env["BATCHDASH_DATA_DIR"] = str(data_dir)
    # The bundled sandbox at full speed unless `extra_env` or a journey's pick in Settings
    # says otherwise (the app's own default is slow enough to watch a job run).
    env["BATCHDASH_SANDBOX_RATE"] = "unlimited"
    env.update(extra_env or {})
    with log.open("wb") as output:
        server = subprocess.Popen(
            app_command(port), cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, log)
        yield ServedApp(url, data_dir, log)
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app in Sandbox mode, its sandbox answering as fast as it can."""
    with serving(tmp_path_factory.mktemp("e2e")) as app:
        yield app


#: Requests per second per batch of the sandbox behind `slow_app`: slow enough to watch a
#: batch run (and cancel it half-way), quick enough to finish a small one in seconds.
SLOW_SANDBOX_RATE = 4.0


@pytest.fixture(scope="session")
def slow_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app in Sandbox mode with its sandbox answering SLOW_SANDBOX_RATE requests a second."""
    environment = {"BATCHDASH_SANDBOX_RATE": str(SLOW_SANDBOX_RATE)}
    with serving(tmp_path_factory.mktemp("e2e-slow"), environment) as app:
        yield app


#: The tallest screenshot taken, in pixels.
MAX_SCREENSHOT_HEIGHT = 8_000


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/e2e/<name>.png once Streamlit is idle.

    Streamlit scrolls its main area inside the window, so the window is made as tall as the
    content for the shot, then put back.
    """
    wait_idle(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    content = int(
        page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
            "[data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 0)"
        )
    )
    height = min(max(viewport["height"], content + 80), MAX_SCREENSHOT_HEIGHT)
    page.set_viewport_size({"width": viewport["width"], "height": height})
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
    return path


def wait_idle(page: Page) -> None:
    """Wait until the script has finished running and the page has loaded what it draws with.

    Streamlit's status widget shows while the script runs; some elements (tables, code) load
    their scripts on first use, which the network going quiet tells. The status widget shows
    only once a rerun has started, so a rerun just asked for is given a moment to start.
    """
    page.wait_for_timeout(RERUN_START_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=STEP_TIMEOUT)
    page.wait_for_load_state("networkidle", timeout=STEP_TIMEOUT)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=STEP_TIMEOUT)


def open_page(page: Page, app: ServedApp, path: str = "") -> None:
    """Load one page of the app and wait until it is drawn."""
    page.goto(f"{app.url}/{path}")
    expect(page.get_by_test_id("stApp")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
