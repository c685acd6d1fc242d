"""The whole path in a real browser, on a sandbox slow enough to watch batches run.

Upload a CSV, submit it, watch the Jobs page follow the batch by itself until it completes,
open Results and download the merged CSV; cancel a batch half-way and download what it
answered; repair `[[sandbox:flaky]]` rows until every row is ok. Screenshots of each page go to
test-artifacts/e2e/.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import submit_job, upload_file
from ui.remote_batches import VIEW_REMOTE

pytestmark = pytest.mark.e2e

#: Milliseconds a batch of the slow sandbox may take to finish (the guard against a hang).
BATCH_TIMEOUT = 90_000


def prompts_csv(texts: list[str]) -> bytes:
    """A CSV with an `id` column (leading zeros) and the `prompt` column New job starts with."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "prompt"])
    writer.writerows([f"{n:03d}", text] for n, text in enumerate(texts, start=1))
    return out.getvalue().encode()


def click_live_button(page: Page, name: str) -> None:
    """Click the one enabled button `name` of the self-refreshing job view.

    While the view reruns, Streamlit can still show the previous run's copy of a button (for
    example disabled while the job ran) beside the new one; wait until only the live one is left.
    """
    button = page.get_by_role("button", name=name, disabled=False)
    expect(button).to_have_count(1, timeout=STEP_TIMEOUT)
    button.click()


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a downloaded CSV (UTF-8 with BOM)."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def submit(
    page: Page, app: ServedApp, name: str, data: bytes, *, same_session: bool = False
) -> None:
    """Upload `data` on New job and submit it as job `name`; the page lands on Jobs.

    New job opens in a new session, or with `same_session` through the sidebar, keeping what
    the session set (a pace picked in Settings)."""
    if same_session:
        page.get_by_role("link", name="New job").click()
        expect(page.get_by_role("heading", name="New job")).to_be_visible(timeout=STEP_TIMEOUT)
        wait_idle(page)
    else:
        open_page(page, app)
    upload_file(page, f"{name}.csv", data, data.count(b"\n") - 1)
    submit_job(page, name)


def job_heading(page: Page, name: str, word: str) -> Locator:
    """The opened job's line: its name and its status in words."""
    return page.get_by_text(f"{name} · {word}", exact=True)


def download(page: Page, label: str) -> Path:
    """Click a download button; the file the browser saved."""
    with page.expect_download(timeout=STEP_TIMEOUT) as started:
        page.get_by_role("button", name=label).click()
    return Path(started.value.path())


def open_results(page: Page) -> None:
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)


#: Elements of the page as the latest run drew them: while a run goes on, Streamlit keeps the
#: previous run's elements on the page, marked stale, until the run replaces them.
CURRENT = '[data-testid="stElementContainer"]:not([data-stale="true"])'


def metric(page: Page, label: str) -> Locator:
    return page.locator(CURRENT).get_by_test_id("stMetric").filter(has_text=label)


def test_upload_submit_watch_it_complete_and_download_the_merged_csv(
    page: Page, slow_app: ServedApp
) -> None:
    texts = [f"Review {n}: arrived on time, works as described." for n in range(1, 21)]
    submit(page, slow_app, "Whole path", prompts_csv(texts))

    # The page follows the batch by itself: running first, completed later, no click between.
    running = page.get_by_text(re.compile(r"^\d+ of 20 requests finished$"))
    expect(running).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.get_by_text("Refreshing every 3 s while batches run.", exact=False)).to_be_visible()
    screenshot(page, "10-jobs-running")
    expect(job_heading(page, "Whole path", "Completed")).to_be_visible(timeout=BATCH_TIMEOUT)
    expect(page.get_by_text("Finished: 20 ok", exact=True)).to_be_visible()
    expect(
        page.get_by_text("Nothing is running, so the page does not refresh by itself.", exact=False)
    ).to_be_visible(timeout=STEP_TIMEOUT)
    screenshot(page, "11-jobs-completed")

    open_results(page)
    expect(metric(page, "Rows ok")).to_contain_text("20")
    expect(metric(page, "Rows error")).to_contain_text("0")
    screenshot(page, "12-results")

    rows = read_csv(download(page, "Merged CSV"))
    assert [row["id"] for row in rows] == [f"{n:03d}" for n in range(1, 21)]
    assert [row["prompt"] for row in rows] == texts
    assert {row["status"] for row in rows} == {"ok"}
    assert all(row["response"].startswith("[sandbox]") for row in rows)
    assert [row["custom_id"] for row in rows] == [f"row-{n}" for n in range(1, 21)]


def test_cancel_a_batch_half_way_and_download_what_it_answered(
    page: Page, slow_app: ServedApp
) -> None:
    texts = [f"Ticket {n}: the parcel came late and the box was torn." for n in range(1, 121)]
    submit(page, slow_app, "Cancelled half way", prompts_csv(texts))
    some_done = page.get_by_text(re.compile(r"^([1-9]\d*) of 120 requests finished$"))
    expect(some_done).to_be_visible(timeout=BATCH_TIMEOUT)

    click_live_button(page, "Cancel the job…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(dialog).to_contain_text("Lost:")
    expect(dialog).to_contain_text("that have not run yet will not run")
    expect(dialog).to_contain_text("Kept:")
    screenshot(page, "13-cancel-dialog")
    dialog.get_by_role("button", name="Cancel the job", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    expect(page.get_by_text("Asked to cancel the job Cancelled half way")).to_be_visible()
    expect(job_heading(page, "Cancelled half way", "Cancelled")).to_be_visible(
        timeout=BATCH_TIMEOUT
    )
    screenshot(page, "14-jobs-cancelled")

    open_results(page)
    expect(metric(page, "Rows cancelled")).not_to_contain_text(re.compile(r"^Rows cancelled\s*0$"))
    screenshot(page, "15-results-cancelled")
    rows = read_csv(download(page, "Merged CSV"))
    statuses = [row["status"] for row in rows]
    assert [row["prompt"] for row in rows] == texts
    assert set(statuses) == {"ok", "cancelled"}
    answered = statuses.count("ok")
    assert 0 < answered < 120
    assert statuses == ["ok"] * answered + ["cancelled"] * (120 - answered)  # in input order
    assert all(row["response"] for row in rows[:answered])
    assert not any(row["response"] for row in rows[answered:])


def test_repair_flaky_rows_until_every_row_is_ok(page: Page, slow_app: ServedApp) -> None:
    texts = [
        "Summarise: fast delivery.",
        "Summarise: broke after a day. [[sandbox:flaky]]",
        "Summarise: good value.",
        "Summarise: wrong colour sent. [[sandbox:flaky]]",
    ]
    submit(page, slow_app, "Flaky rows", prompts_csv(texts))
    expect(job_heading(page, "Flaky rows", "Completed with errors")).to_be_visible(
        timeout=BATCH_TIMEOUT
    )
    expect(
        page.get_by_text("2 rows failed; the error column says why.", exact=False)
    ).to_be_visible()

    click_live_button(page, "Repair rows…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    expect(dialog.get_by_test_id("stMetric").filter(has_text="Rows")).to_contain_text("2")
    expect(
        dialog.get_by_test_id("stMetric").filter(has_text="Would cost (estimate)")
    ).to_contain_text("$")
    screenshot(page, "16-repair-dialog")
    dialog.get_by_role("button", name="Repair 2 rows").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)

    expect(job_heading(page, "Flaky rows", "Completed")).to_be_visible(timeout=BATCH_TIMEOUT)
    screenshot(page, "17-jobs-repaired")
    open_results(page)
    expect(metric(page, "Rows ok")).to_contain_text("4")
    rows = read_csv(download(page, "Merged CSV"))
    assert [row["status"] for row in rows] == ["ok"] * 4
    assert [row["id"] for row in rows] == ["001", "002", "003", "004"]
    assert rows[1]["batch_id"] != rows[0]["batch_id"]  # answered by the repair batch

    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=STEP_TIMEOUT)
    page.get_by_role("radio", name=VIEW_REMOTE).click()
    expect(page.get_by_text(re.compile(r"^\d+ batches, listed at"))).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    screenshot(page, "18-every-batch")
