"""Steps many journeys take: upload a file, write the template, submit from the dialog."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from playwright.sync_api import FilePayload, Locator, Page, Request, Route, expect

from tests.e2e.conftest import STEP_TIMEOUT, wait_idle

#: Where the browser sends the files picked in a file uploader (PUT) and removes them (DELETE).
UPLOADS = "**/_stcore/upload_file/**"


def go_to(page: Page, link: str) -> None:
    """Open the page called `link` from the sidebar; done once its heading shows."""
    page.get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=link)).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)


def upload_file(page: Page, name: str, data: bytes, rows: int, mime: str = "text/csv") -> None:
    """Put `data` in New job's uploader as `name`; done once the table of `rows` rows shows."""
    payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    page.locator("input[type=file]").set_input_files(files=[payload])
    expect(page.get_by_text(f"{rows:,} rows", exact=False).first).to_be_visible(
        timeout=STEP_TIMEOUT
    )
    wait_idle(page)


def write_template(page: Page, template: str) -> None:
    """Type the prompt template and apply it (Ctrl+Enter), as an analyst does."""
    box = page.get_by_role("textbox", name="Prompt template")
    box.fill(template)
    box.press("Control+Enter")
    wait_idle(page)


def open_submit_dialog(page: Page, name: str) -> Locator:
    """Open the submit dialog and name the job; the dialog."""
    page.get_by_role("button", name="Submit job…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=STEP_TIMEOUT)
    field = dialog.get_by_role("textbox", name="Job name")
    field.fill(name)
    field.press("Enter")
    wait_idle(page)
    return dialog


def submit_job(page: Page, name: str) -> None:
    """Open the submit dialog, name the job and submit it; done once the Jobs page shows."""
    dialog = open_submit_dialog(page, name)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_TIMEOUT)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=STEP_TIMEOUT)


def is_upload(request: Request) -> bool:
    """Whether the browser sends a picked file's bytes with `request`."""
    return request.method == "PUT" and "/_stcore/upload_file/" in request.url


@contextmanager
def uploads_held(page: Page) -> Iterator[Callable[[], None]]:
    """Hold the files the page uploads until the block calls the function it is given (or
    ends), as a slow connection would: the page runs on while a picked file is on its way."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if is_upload(route.request):
            held.append(route)
        else:
            route.continue_()

    def release() -> None:
        while held:
            held.pop(0).continue_()

    page.route(UPLOADS, hold)
    try:
        yield release
    finally:
        release()
        page.unroute(UPLOADS, hold)
