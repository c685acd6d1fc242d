"""Settings > Files on the provider: an analyst lists the files Batchdash left on the provider,
changes their mind twice (Cancel, then the ×), then cleans up and sees the list shrink to the
one file a running batch still needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from openai import OpenAI
from playwright.sync_api import Page, expect

from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from sandbox.pace import PACE_TAG
from sandbox.server import running_sandbox
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, serving, wait_idle
from tests.jobs_kit import RECIPE, reviews, run_to_end

pytestmark = pytest.mark.e2e

OPENER = "Delete the file no longer needed"
TITLE = "Delete the files no longer needed"


@dataclass(frozen=True)
class Served:
    app: ServedApp
    url: str
    #: The output file of the finished job, the input file of the running one, and a file
    #: that is not Batchdash's.
    finished_output: str
    running_input: str
    other: str


def _files(url: str) -> set[str]:
    client = OpenAI(api_key="sandbox", base_url=url, max_retries=0)
    return {found.id for found in client.files.list()}


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app on a sandbox of its own holding a finished job (its input file already deleted
    by the refresh, its output file left), a job whose batch runs for an hour, and a file
    some other program uploaded."""
    base = tmp_path_factory.mktemp("e2e-files")
    with running_sandbox(base / "sandbox") as url:
        registry = Registry(default_db_url(base / "data"))
        scope = owner_scope("sandbox", "sandbox")
        try:
            done = JobService(registry, Gateway("sandbox", url), scope)
            finished = done.create_job("Finished reviews", reviews(3), RECIPE)
            done.submit(finished)
            run_to_end(done, finished)
            output = registry.parts(finished)[0].batch_id
            slow = Gateway("sandbox", url, batch_metadata={PACE_TAG: "3600"})
            running_service = JobService(registry, slow, scope)
            running = running_service.create_job("Running reviews", reviews(3), RECIPE)
            running_service.submit(running)
            running_input = registry.parts(running)[0].input_file_id
        finally:
            registry.close()
        assert output is not None and running_input is not None
        client = OpenAI(api_key="sandbox", base_url=url, max_retries=0)
        finished_output = client.batches.retrieve(output).output_file_id
        other = client.files.create(file=("mine.jsonl", b"{}\n"), purpose="batch").id
        assert finished_output is not None
        assert _files(url) == {finished_output, running_input, other}
        with serving(base, {"BATCHDASH_SANDBOX_URL": url}) as app:
            yield Served(app, url, finished_output, running_input, other)


def _open_dialog(page: Page) -> None:
    page.get_by_role("button", name=OPENER).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(TITLE, timeout=STEP_TIMEOUT)
    expect(dialog).to_contain_text("Delete 1 file Batchdash no longer needs")
    wait_idle(page)


def _dismiss(page: Page, button: str) -> None:
    page.get_by_role("dialog").get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_the_analyst_cleans_up_the_files_batchdash_no_longer_needs(
    page: Page, served: Served
) -> None:
    open_page(page, served.app, "settings")
    page.get_by_role("button", name="List the files").click()
    wait_idle(page)
    before = page.get_by_text("2 files are Batchdash's; 1 of them no longer needed")
    expect(before).to_be_visible(timeout=STEP_TIMEOUT)
    expect(
        page.get_by_text("1 other file of this key is not Batchdash's and is left alone.")
    ).to_be_visible()
    screenshot(page, "file-cleanup-listed")

    # A changed mind: Cancel, then the ×; nothing is deleted either way.
    _open_dialog(page)
    screenshot(page, "file-cleanup-dialog")
    _dismiss(page, "Cancel")
    _open_dialog(page)
    _dismiss(page, "Close")
    expect(before).to_be_visible()
    assert _files(served.url) == {served.finished_output, served.running_input, served.other}

    _open_dialog(page)
    page.get_by_role("dialog").get_by_role("button", name="Delete them").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=STEP_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_text("Deleted 1 file from the provider.")).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    expect(page.get_by_text("1 file is Batchdash's, and it is still needed.")).to_be_visible()
    expect(page.get_by_role("button", name="Nothing to delete")).to_be_disabled()
    screenshot(page, "file-cleanup-done")
    # The running batch keeps its input file; the other program's file is left alone.
    assert _files(served.url) == {served.running_input, served.other}
