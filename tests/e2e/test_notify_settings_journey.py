"""An analyst sets up notifications in Settings: sees the operator's webhook without its
token, types an address that is refused and corrects it, sends a test notification to a
receiver on 127.0.0.1, removes the webhook and tests again.

Both receivers are local: nothing leaves the machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import STEP_TIMEOUT, screenshot, serving, wait_idle
from tests.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.e2e


def _add(page: Page, url: str) -> None:
    page.get_by_label("Webhook URL", exact=True).fill(url)
    page.get_by_role("button", name="Add webhook").click()
    wait_idle(page)


def test_a_webhook_added_refused_tested_and_removed(page: Page, tmp_path: Path) -> None:
    with webhook_receiver() as operator, webhook_receiver() as mine:
        environment = {"BATCHDASH_NOTIFY_URLS": operator.url}
        with serving(tmp_path, environment) as app:
            page.goto(app.url)
            page.get_by_role("link", name="Settings").click()
            section = page.get_by_role("heading", name="Notifications")
            expect(section).to_be_visible(timeout=STEP_TIMEOUT)
            wait_idle(page)
            operator_host = operator.url.split("/hook")[0]
            expect(page.get_by_text(f"told about every job too: {operator_host}")).to_be_visible()
            expect(page.get_by_text("token-0123456789")).to_have_count(0)

            refused = "ftp://127.0.0.1/hook"
            _add(page, refused)
            expect(
                page.get_by_text("Only web addresses starting with http:// or https://")
            ).to_be_visible(timeout=STEP_TIMEOUT)
            expect(page.get_by_label("Webhook URL", exact=True)).to_have_value(refused)
            screenshot(page, "notify-10-refused")

            _add(page, mine.url)
            mine_host = mine.url.split("/hook")[0]
            expect(page.get_by_text(f"Webhook {mine_host} added.")).to_be_visible(
                timeout=STEP_TIMEOUT
            )
            expect(page.get_by_text(f"{mine_host}/…")).to_be_visible()
            expect(page.get_by_label("Webhook URL", exact=True)).to_have_value("")
            expect(page.get_by_text("token-0123456789")).to_have_count(0)

            page.get_by_role("button", name="Send a test notification").click()
            expect(page.get_by_text(f"Test sent to {mine_host}.")).to_be_visible(
                timeout=STEP_TIMEOUT
            )
            expect(page.get_by_text(f"Test sent to {operator_host}.")).to_be_visible()
            screenshot(page, "notify-20-tested")
            assert [body["event"] for body in mine.bodies] == ["test"]
            assert set(mine.bodies[0]) == {"event", "job_id", "name", "state", "counts", "cost_usd"}

            page.get_by_role("button", name="Remove").click()
            wait_idle(page)
            expect(page.get_by_text(f"Webhook {mine_host} removed.")).to_be_visible(
                timeout=STEP_TIMEOUT
            )
            expect(page.get_by_text(f"{mine_host}/…")).to_have_count(0)
            page.get_by_role("button", name="Send a test notification").click()
            expect(page.get_by_text(f"Test sent to {operator_host}.")).to_be_visible(
                timeout=STEP_TIMEOUT
            )
            expect(page.get_by_text(f"Test sent to {mine_host}.")).to_have_count(0)
            screenshot(page, "notify-30-removed")
            assert len(mine.bodies) == 1 and len(operator.bodies) == 2
