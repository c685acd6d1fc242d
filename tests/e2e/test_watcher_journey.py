"""An analyst submits a job and leaves; a watcher moves it while no page is open, in Chromium.

The team server has a configured key (its API: a slow sandbox on 127.0.0.1). The analyst opens
Jobs (no watcher yet: the page says nothing of one), submits a job from New job and leaves the
app. The operator has mistyped the watcher's pace (refused in one line) and now starts
`cli.py watch --every 1` with the server's key and registry. The browser only comes back to
load the page: the job is done by then, moved by the watcher alone, and the Jobs page says that
jobs move on their own. Once the watcher is stopped, a reload no longer says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import running_sandbox
from tests.app.files import REVIEWS_CSV
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving
from tests.e2e.steps import submit_job, upload_file, write_template
from tests.e2e.test_whole_path import job_heading
from tests.test_cli_watch import CLI, start_watcher

pytestmark = pytest.mark.e2e

TEAM_KEY = "sk-proj-watcher-e2e"
WATCHING = "A watcher moves these jobs on its own, even with this page closed"


@pytest.fixture
def team_app(tmp_path: Path) -> Iterator[tuple[ServedApp, dict[str, str]]]:
    """The app with the team's key on a sandbox answering a request every 2 s per batch; the
    environment a watcher of the same key and registry runs in."""
    with running_sandbox(tmp_path / "team-api", rate=0.5) as team_api:
        environment = {"OPENAI_API_KEY": TEAM_KEY, "OPENAI_BASE_URL": team_api}
        with serving(tmp_path, environment) as app:
            watcher_env = {
                **{k: v for k, v in os.environ.items() if k != "BATCHDASH_DB_URL"},
                **environment,
                "BATCHDASH_DATA_DIR": str(app.data_dir),
                "PYTHONUNBUFFERED": "1",
            }
            yield app, watcher_env


def _rounds_until_finished(stdout: IO[str], job_name: str) -> list[dict[str, Any]]:
    """The watcher's JSON lines until one shows the job finished."""
    deadline = time.monotonic() + 120  # guards against a hang only
    lines = []
    for line in stdout:
        lines.append(json.loads(line))
        moved = {status["name"]: status for status in lines[-1]["moved"]}
        if job_name in moved and moved[job_name]["state"] == "finished":
            return lines
        assert time.monotonic() < deadline, lines[-1]
    raise AssertionError(f"the watcher stopped before {job_name} finished: {lines[-1:]}")


def test_a_watcher_moves_the_job_while_the_page_is_closed(
    page: Page, team_app: tuple[ServedApp, dict[str, str]]
) -> None:
    app, watcher_env = team_app
    open_page(page, app, "jobs")
    expect(page.get_by_text(WATCHING)).to_have_count(0)  # no watcher: the page as before

    refused = subprocess.run(
        [sys.executable, CLI, "watch", "--every", "0.1"],
        env=watcher_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("--every is 0.1; give the seconds between two rounds")
    assert refused.stderr.count("\n") == 1

    page.get_by_role("link", name="New job").click()
    upload_file(page, "reviews.csv", REVIEWS_CSV, 4)
    write_template(page, "Classify: {text}")
    submit_job(page, "Watched reviews")
    page.goto("about:blank")  # the analyst leaves: no page follows the job any more

    watcher = start_watcher(watcher_env, "watch", "--every", "1")
    try:
        assert watcher.stdout is not None
        rounds = _rounds_until_finished(watcher.stdout, "Watched reviews")
        first_status = next(s for s in rounds[0]["moved"] if s["name"] == "Watched reviews")
        assert first_status["state"] == "active"  # it was still running when the page closed
        finished = rounds[-1]["moved"][0]
        assert finished["counts"]["ok"] == 4 and finished["counts"]["pending"] == 0

        open_page(page, app, "jobs")
        expect(page.get_by_text(WATCHING)).to_be_visible(timeout=STEP_TIMEOUT)
        expect(page.get_by_text("process ").first).to_be_visible()
        heading = job_heading(page, "Watched reviews", "Completed")
        expect(heading).to_be_visible(timeout=STEP_TIMEOUT)
        screenshot(page, "watcher-01-moved-with-the-page-closed")

        page.reload()
        expect(page.get_by_text(WATCHING)).to_be_visible(timeout=STEP_TIMEOUT)
    finally:
        watcher.terminate()
        _out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    assert "Traceback" not in err and err.splitlines()[-1] == "The watcher stopped."

    # The operator stopped the watcher: the page no longer promises that jobs move alone.
    open_page(page, app, "jobs")
    expect(page.get_by_text(WATCHING)).to_have_count(0, timeout=STEP_TIMEOUT)
    screenshot(page, "watcher-02-watcher-stopped")
