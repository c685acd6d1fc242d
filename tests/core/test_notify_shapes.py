"""Notifications' bodies for each service, their words in English and Chinese, the addresses
refused, and BATCHDASH_SMTP_URL read."""

from __future__ import annotations

import json

import pytest

from batchdash.errors import InputError
from batchdash.i18n import use_language
from batchdash.notify.addresses import NOTIFY_ALLOW, shown, url_problem
from batchdash.notify.mail import read_smtp_url
from batchdash.notify.shapes import PLAIN_FIELDS, body_for, service_of
from batchdash.notify.wording import body, text

FINISHED = {
    "event": "finished",
    "job_id": "job_0123456789ab",
    "name": "Reviews",
    "state": "finished",
    "counts": {"ok": 3, "error": 0, "expired": 0, "cancelled": 0, "not_run": 0, "pending": 0},
    "cost_usd": 0.0125,
    "expires_at": None,
}
FAILED = {
    **FINISHED,
    "event": "failed",
    "counts": {"ok": 5, "error": 2, "expired": 1, "cancelled": 0, "not_run": 0, "pending": 0},
}
EXPIRING = {
    **FINISHED,
    "event": "expiring",
    "state": "active",
    "counts": {"ok": 1, "error": 0, "expired": 0, "cancelled": 0, "not_run": 0, "pending": 9},
    "expires_at": 1_800_000_000,
}
SENTENCE = (
    "Batchdash: job Reviews finished\n"
    "Job Reviews (job_0123456789ab) finished: all 3 rows are answered. Cost: $0.01."
)


@pytest.mark.parametrize(
    ("url", "service"),
    [
        ("https://hooks.slack.com/services/T1/B2/xyz", "slack"),
        ("https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def", "teams"),
        ("https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual", "teams"),
        ("https://default1.environment.api.powerplatform.com/powerautomate/x", "teams"),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/abc", "feishu"),
        ("https://open.larksuite.com/open-apis/bot/v2/hook/abc", "feishu"),
        ("https://oapi.dingtalk.com/robot/send?access_token=abc", "dingtalk"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "wecom"),
        ("https://example.com/hooks/batchdash", "plain"),
        ("https://hooks.slack.com.evil.example/x", "plain"),
        ("https://notwebhook.office.com.example/x", "plain"),
    ],
)
def test_a_url_is_recognised_by_its_host(url: str, service: str) -> None:
    assert service_of(url) == service


def test_slack_gets_text() -> None:
    assert body_for("https://hooks.slack.com/services/T/B/x", FINISHED) == {"text": SENTENCE}


def test_teams_gets_one_adaptive_card_with_the_sentence() -> None:
    sent = body_for("https://contoso.webhook.office.com/webhookb2/x", FINISHED)
    (attachment,) = sent["attachments"]
    card = attachment["content"]
    assert sent["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["type"] == "AdaptiveCard"
    assert "\n".join(block["text"] for block in card["body"]) == SENTENCE


def test_feishu_dingtalk_and_wecom_get_their_text_messages() -> None:
    assert body_for("https://open.feishu.cn/open-apis/bot/v2/hook/x", FINISHED) == {
        "msg_type": "text",
        "content": {"text": SENTENCE},
    }
    expected = {"msgtype": "text", "text": {"content": SENTENCE}}
    assert body_for("https://oapi.dingtalk.com/robot/send?access_token=x", FINISHED) == expected
    assert body_for("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x", FINISHED) == expected


def test_any_other_url_gets_exactly_the_plain_fields() -> None:
    sent = body_for("https://example.com/hook", EXPIRING)
    assert list(sent) == list(PLAIN_FIELDS)
    assert sent == {
        "event": "expiring",
        "job_id": "job_0123456789ab",
        "name": "Reviews",
        "state": "active",
        "counts": EXPIRING["counts"],
        "cost_usd": 0.0125,
    }
    json.dumps(sent)  # a JSON body as it is


def test_failed_and_expiring_say_what_is_left_and_what_to_do() -> None:
    failed = str(body(FAILED))
    assert "3 of 8 rows unanswered (error 2, expired 1)" in failed
    assert "cli.py repair job_0123456789ab" in failed
    expiring = str(body(EXPIRING))
    assert "9 rows running" in expiring and "2027-01-15 08:00 UTC" in expiring


def test_the_text_follows_the_servers_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHDASH_LANG", "zh-CN")
    with use_language("en"):  # a page's language does not decide a notification's
        chinese = text(FAILED)
    assert "Reviews" in chinese and "error 2" in chinese
    assert "ended with" not in chinese and "行" in chinese
    monkeypatch.delenv("BATCHDASH_LANG")
    with use_language("zh-CN"):
        assert text(FINISHED) == SENTENCE


def test_only_scheme_and_host_are_shown() -> None:
    assert shown("https://hooks.slack.com/services/T1/B2/secret?x=1") == "https://hooks.slack.com"
    assert shown("http://127.0.0.1:8080/hook/token") == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "file:///etc/passwd", "hooks.slack.com/services/x", "https://"],
)
def test_only_http_and_https_are_accepted(url: str) -> None:
    problem = url_problem(url, guarded=False, environ={})
    assert problem is not None and "http://" in str(problem)


@pytest.mark.parametrize("url", ["http://[::1/hook", "https://example.com:port/hook"])
def test_an_unreadable_address_is_told_not_raised(url: str) -> None:
    problem = url_problem(url, guarded=False, environ={})
    assert problem is not None and "cannot be read" in str(problem)
    assert shown(url) in ("?", "https://example.com")


def test_an_open_server_accepts_its_own_network() -> None:
    assert url_problem("http://127.0.0.1:9/hook", guarded=False, environ={}) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
    ],
)
def test_with_sign_in_the_servers_own_network_is_refused(url: str) -> None:
    problem = url_problem(url, guarded=True, environ={})
    assert problem is not None and "own network" in str(problem) and NOTIFY_ALLOW in str(problem)


def test_with_sign_in_and_a_list_only_listed_hosts_pass() -> None:
    environ = {NOTIFY_ALLOW: "hooks.slack.com, *.webhook.office.com, 127.0.0.1"}
    assert url_problem("https://hooks.slack.com/services/x", guarded=True, environ=environ) is None
    assert url_problem("https://a.webhook.office.com/x", guarded=True, environ=environ) is None
    assert url_problem("http://127.0.0.1:5000/x", guarded=True, environ=environ) is None
    problem = url_problem("https://example.com/x", guarded=True, environ=environ)
    assert problem is not None and "example.com is not among the hosts" in str(problem)


def test_the_smtp_url_is_read_and_its_password_never_shown() -> None:
    server = read_smtp_url(
        "smtp://ann%40example.com:p%40ss@mail.example.com?from=bd@example.com&to=a@x.org,b@y.org"
    )
    assert server is not None
    assert (server.host, server.port, server.tls) == ("mail.example.com", 587, False)
    assert (server.user, server.password, server.sender) == (
        "ann@example.com",
        "p@ss",
        "bd@example.com",
    )
    assert server.recipients == ("a@x.org", "b@y.org")
    assert "p@ss" not in server.described() and "p@ss" not in repr(server)
    tls = read_smtp_url("smtps://mail.example.com?from=bd@example.com")
    assert tls is not None and (tls.port, tls.tls) == (465, True)
    assert read_smtp_url("") is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mail.example.com?from=a@b.org", "smtp://"),
        ("smtp://mail.example.com", "?from="),
        ("smtp://mail.example.com?from=a@b.org&to=nobody", "nobody is not an e-mail address"),
    ],
)
def test_an_unreadable_smtp_url_says_what_to_write(url: str, words: str) -> None:
    with pytest.raises(InputError, match="BATCHDASH_SMTP_URL cannot be read") as raised:
        read_smtp_url(url)
    assert words in str(raised.value)
