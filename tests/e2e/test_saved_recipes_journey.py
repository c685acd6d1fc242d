"""Saved recipes in a real browser: save a recipe, upload a second file, load the recipe onto
it (a column it lacks said plainly), save a second version, go back to the first, submit, and
delete the name.

The names carry a run-unique suffix: the served app and its registry are shared by every
journey of the test run.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.e2e.conftest import STEP_TIMEOUT, ServedApp, open_page, screenshot, wait_idle
from tests.e2e.steps import submit_job, upload_file, write_template
from tests.e2e.test_provider_journey import open_select

pytestmark = pytest.mark.e2e

REVIEWS_CSV = b"id,review,lang\n1,Arrived quickly,en\n2,Broke after two days,en\n"
TICKETS_CSV = b"ticket,review\nT-1,The printer is on fire\nT-2,Password reset\nT-3,VPN down\n"
FIRST = "Classify ({lang}): {review}"
SECOND = "Classify in one word: {review}"


def save_recipe(page: Page, name: str) -> None:
    box = page.get_by_role("textbox", name="Save this recipe as")
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Save recipe").click()
    wait_idle(page)


def pick(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    open_select(page, label)
    page.get_by_role("option", name=option).click()
    wait_idle(page)


def test_save_load_on_a_second_file_version_and_submit(page: Page, served_app: ServedApp) -> None:
    name = f"Triage {uuid.uuid4().hex[:6]}"
    open_page(page, served_app)
    upload_file(page, "reviews.csv", REVIEWS_CSV, 2)
    write_template(page, FIRST)

    # A refused name first: nothing typed is lost.
    page.get_by_role("button", name="Save recipe").click()
    wait_idle(page)
    expect(page.get_by_text("Give the recipe a name to save it under.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(FIRST)
    save_recipe(page, name)
    expect(page.get_by_text(f"Saved {name}, version 1.")).to_be_visible(timeout=STEP_TIMEOUT)
    screenshot(page, "saved-recipes-1-saved")

    # A second file, with a template of its own, then the recipe loaded onto it.
    upload_file(page, "tickets.csv", TICKETS_CSV, 3)
    write_template(page, "Route: {review}")
    pick(page, "Load a saved recipe", name)
    page.get_by_role("button", name="Load onto this table").click()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(FIRST)
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="Loaded")
    expect(warning).to_contain_text("This table has no column lang, which the recipe uses")
    screenshot(page, "saved-recipes-2-loaded-missing-column")

    # The analyst edits the template, and saves it as the next version.
    write_template(page, SECOND)
    expect(warning).to_have_count(0)
    page.get_by_role("textbox", name="Save this recipe as").fill(name)
    page.get_by_role("textbox", name="Save this recipe as").press("Enter")
    wait_idle(page)
    expect(page.get_by_text("is saved already: saving adds version 2")).to_be_visible()
    page.get_by_role("button", name="Save recipe").click()
    wait_idle(page)
    expect(page.get_by_text(f"Saved {name}, version 2.")).to_be_visible(timeout=STEP_TIMEOUT)

    # A changed mind: version 1 loaded, then put back, then version 1 after all.
    pick(page, "Version", re.compile(r"^Version 1,"))
    page.get_by_role("button", name="Load onto this table").click()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(FIRST)
    page.get_by_role("button", name="Put back the recipe I had").click()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(SECOND)
    pick(page, "Version", re.compile(r"^Version 1,"))
    page.get_by_role("button", name="Load onto this table").click()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Prompt template")).to_have_value(FIRST)
    write_template(page, "Classify ({ticket}): {review}")
    screenshot(page, "saved-recipes-3-first-version-edited")

    submit_job(page, f"{name} tickets")
    registry = Registry(default_db_url(served_app.data_dir))
    try:
        scope = owner_scope("sandbox", "sandbox")
        jobs = registry.list_jobs(scope)
        job = next(job for job in jobs if job.name == f"{name} tickets")
        assert job.recipe.template == "Classify ({ticket}): {review}"
        assert registry.saved_recipe(scope, name, 1).recipe.template == FIRST
        assert registry.saved_recipe(scope, name).recipe.template == SECOND
    finally:
        registry.close()

    # Back on New job, the name deleted with both its versions.
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible(timeout=STEP_TIMEOUT)
    wait_idle(page)
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name=f"Delete {name}").click()
    wait_idle(page)
    expect(page.get_by_text(f"Deleted {name} and its 2 versions.")).to_be_visible()
    expect(page.get_by_test_id("stSelectbox").filter(has_text=name)).to_have_count(0)
    screenshot(page, "saved-recipes-4-deleted")
