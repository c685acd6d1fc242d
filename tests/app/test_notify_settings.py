"""Settings' Notifications section in AppTest: webhooks and addresses saved per scope, refused
ones told in the language in use, and the operator's allow-list applied with sign-in on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from batchdash.notify.targets import saved_emails, saved_urls
from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url
from tests.app.conftest import SETTINGS, MakeApp, joined
from ui import notify_settings, state
from ui.connection import sandbox_scope

SLACK = "https://hooks.slack.com/services/T0/B0/very-secret-token"


def _settings(at: AppTest) -> AppTest:
    at.switch_page(SETTINGS).run()
    assert not at.exception
    return at


def _type(at: AppTest, key: str, text: str, button: str) -> None:
    at.text_input(key=key).input(text)
    at.button(key=button).click().run()
    assert not at.exception


def _saved(data_dir: Path) -> tuple[list[str], list[bool], list[str]]:
    registry = Registry(default_db_url(data_dir))
    try:
        scope = sandbox_scope(None)
        urls = saved_urls(registry, scope)
        return [u.url for u in urls], [u.guarded for u in urls], saved_emails(registry, scope)
    finally:
        registry.close()


def test_a_refused_url_is_told_in_chinese_and_kept_in_the_field(make_app: MakeApp) -> None:
    at = make_app()
    at.session_state[state.LANGUAGE] = "zh-CN"
    at.run()
    _settings(at)
    assert "通知" in [str(h.value) for h in at.subheader]
    _type(at, notify_settings.URL_INPUT, "ftp://example.com/hook", "notify_add_url")
    assert "只能通知以 http:// 或 https:// 开头的网址" in joined(at, "error")
    assert at.text_input(key=notify_settings.URL_INPUT).value == "ftp://example.com/hook"


def test_with_sign_in_only_allowed_hosts_are_saved_and_shown_by_host(
    make_app: MakeApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify_settings, "sign_in_required", lambda: True)
    at = make_app(BATCHDASH_NOTIFY_ALLOW="hooks.slack.com")
    at.run()
    _settings(at)
    _type(at, notify_settings.URL_INPUT, "http://127.0.0.1:8/hook", "notify_add_url")
    assert "127.0.0.1 is not among the hosts this server may notify (hooks.slack.com)" in joined(
        at, "error"
    )
    _type(at, notify_settings.URL_INPUT, SLACK, "notify_add_url")
    assert "Webhook https://hooks.slack.com added." in joined(at, "success")
    assert "Slack · `https://hooks.slack.com/…`" in joined(at, "markdown")
    page = "\n".join(joined(at, kind) for kind in ("markdown", "caption", "success", "error"))
    assert "very-secret-token" not in page
    assert _saved(data_dir) == ([SLACK], [True], [])

    at.button(key="notify_remove_url_0").click().run()
    assert "Webhook https://hooks.slack.com removed." in joined(at, "success")
    assert _saved(data_dir) == ([], [], [])


def test_addresses_are_checked_saved_and_told_when_no_mail_server_is_set(
    make_app: MakeApp, data_dir: Path
) -> None:
    at = make_app()
    at.run()
    _settings(at)
    _type(at, notify_settings.EMAIL_INPUT, "ann at example", "notify_add_email")
    assert "ann at example is not an e-mail address" in joined(at, "error")
    _type(at, notify_settings.EMAIL_INPUT, "ann@example.com", "notify_add_email")
    assert "ann@example.com added." in joined(at, "success")
    assert "the operator has not set BATCHDASH_SMTP_URL" in joined(at, "warning")
    assert _saved(data_dir) == ([], [], ["ann@example.com"])
    at.button(key="notify_send_test").click().run()
    assert "There is nowhere to send a test yet" in joined(at, "warning")


def test_a_notification_that_failed_is_told_with_its_reason(
    make_app: MakeApp, data_dir: Path
) -> None:
    at = make_app()
    at.run()
    _settings(at)  # the registry exists once a page has opened it
    registry = Registry(default_db_url(data_dir))
    try:
        frame = pd.DataFrame({"review": ["good"]}, dtype=str)
        scope = sandbox_scope(None)
        job = registry.create_job(
            scope, "Reviews", Recipe(model="gpt-4o-mini", template="{review}"), frame
        )
        payload = {"event": "finished", "job_id": job.id, "name": "Reviews"}
        registry.record_notification(job.id, scope, "finished", payload)
        claimed = registry.claim_notification()
        assert claimed is not None
        registry.mark_failed(claimed, "http://127.0.0.1:9 answered HTTP 500.", timedelta(minutes=1))
    finally:
        registry.close()
    at.run()
    assert "1 notification waits to be sent." in joined(at, "caption")
    assert (
        "A notification about job Reviews could not be sent yet and will be tried again: "
        "http://127.0.0.1:9 answered HTTP 500." in joined(at, "warning")
    )
