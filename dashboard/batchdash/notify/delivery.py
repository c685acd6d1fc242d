"""Sending the outbox: each notification claimed in the registry, sent to every target, then
marked sent, so several watchers, pages and restarts send it once.

A target that fails keeps the notification pending (the targets it reached are remembered and
skipped) until `retry_delay` has passed; after `MAX_ATTEMPTS` it is given up, its last error
kept. Webhooks get short timeouts and no redirects; nothing sent carries the API key.
"""

from __future__ import annotations

import json
import os
import smtplib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any

import httpx2

from batchdash.errors import BatchdashError, InputError
from batchdash.i18n import _l
from batchdash.notify.addresses import shown, url_problem
from batchdash.notify.mail import SMTP_URL, SmtpServer, read_smtp_url, send_mail
from batchdash.notify.shapes import body_for
from batchdash.notify.targets import digest as target_digest
from batchdash.notify.targets import operator_urls, saved_emails, saved_urls
from batchdash.notify.wording import body, in_server_language, title
from batchdash.registry.notifications import Notification
from batchdash.registry.store import Registry

#: Sends of one notification before it is given up.
MAX_ATTEMPTS = 5
#: Seconds to connect to a webhook, and for the whole exchange.
CONNECT_TIMEOUT = 5.0
WEBHOOK_TIMEOUT = 10.0

#: The test notification's payload: no job.
TEST_PAYLOAD: dict[str, Any] = {
    "event": "test",
    "job_id": None,
    "name": None,
    "state": None,
    "counts": {},
    "cost_usd": None,
}


class DeliveryError(BatchdashError):
    """A webhook or the mail server did not take a notification."""


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed send: 1, 4, 16, 64 minutes."""
    return timedelta(minutes=4 ** (attempts - 1))


@dataclass(frozen=True)
class Target:
    """One place a notification goes."""

    #: The outbox's digest of it.
    key: str
    #: As it may be shown (no token, no password).
    label: str
    #: Sends a payload; raises DeliveryError.
    send: Callable[[dict[str, Any]], None]


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """Post the payload, shaped for the URL's service; raises DeliveryError."""
    where = shown(url)
    problem = url_problem(url, guarded=False, environ={})
    if problem is not None:  # an operator's URL is not checked when it is set
        raise DeliveryError(problem)
    try:
        response = httpx2.post(
            url.strip(),
            json=body_for(url, payload),
            timeout=httpx2.Timeout(WEBHOOK_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            headers={"User-Agent": "Batchdash"},
        )
    except (httpx2.HTTPError, httpx2.InvalidURL, ValueError, UnicodeError) as error:
        # The exception's text may quote the URL, token and all: only its kind is told.
        raise DeliveryError(
            _l("{where} could not be reached ({reason}).", where=where, reason=type(error).__name__)
        ) from None
    if response.is_redirect:
        raise DeliveryError(
            _l(
                "{where} answered with a redirect, which is not followed; use the address it "
                "redirects to.",
                where=where,
            )
        )
    if response.status_code >= 400:
        raise DeliveryError(
            _l("{where} answered HTTP {code}.", where=where, code=response.status_code)
        )
    refused = _refusal_in(response)
    if refused:
        raise DeliveryError(_l("{where} refused it: {reason}", where=where, reason=refused))


def _refusal_in(response: httpx2.Response) -> str:
    """The error a service reports with HTTP 200 (DingTalk, WeCom: errcode; Feishu: code)."""
    try:
        answer = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if not isinstance(answer, dict):
        return ""
    for code, reason in (("errcode", "errmsg"), ("code", "msg")):
        if answer.get(code) not in (None, 0):
            return f"{answer.get(code)} {answer.get(reason, '')}".strip()[:200]
    return ""


def mail_to(server: SmtpServer, recipients: list[str], payload: dict[str, Any]) -> None:
    """Mail the payload's title and text to the recipients; raises DeliveryError."""
    try:
        send_mail(
            server,
            recipients,
            in_server_language(title(payload)),
            in_server_language(body(payload)),
        )
    except (OSError, smtplib.SMTPException) as error:
        reason = (
            _l("the user name or password was refused")
            if isinstance(error, smtplib.SMTPAuthenticationError)
            else type(error).__name__
        )
        raise DeliveryError(
            _l("Mail through {server} failed ({reason}).", server=server.described(), reason=reason)
        ) from None


def targets_for(registry: Registry, scope: str, environ: Mapping[str, str]) -> list[Target]:
    """Every place the scope's notifications go."""
    targets = [
        Target(target_digest(url), shown(url), partial(post_webhook, url))
        for url in operator_urls(environ)
    ]
    for saved in saved_urls(registry, scope):
        targets.append(
            Target(
                target_digest(saved.url),
                shown(saved.url),
                partial(_post_saved, saved.url, saved.guarded, environ),
            )
        )
    server = smtp_server(environ)
    recipients = sorted({*(server.recipients if server else ()), *saved_emails(registry, scope)})
    if server is not None and recipients:
        targets.append(
            Target(
                target_digest("mailto:" + ",".join(recipients)),
                ", ".join(recipients),
                partial(mail_to, server, recipients),
            )
        )
    return targets


def _post_saved(
    url: str, guarded: bool, environ: Mapping[str, str], payload: dict[str, Any]
) -> None:
    # Checked again: the operator's list, or where the host's name points, may have changed.
    problem = url_problem(url, guarded=guarded, environ=environ)
    if problem is not None:
        raise DeliveryError(problem)
    post_webhook(url, payload)


def smtp_server(environ: Mapping[str, str]) -> SmtpServer | None:
    """The operator's SMTP server; None when unset or unreadable (Settings says why)."""
    try:
        return read_smtp_url(environ.get(SMTP_URL))
    except InputError:
        return None


def deliver_pending(registry: Registry, environ: Mapping[str, str] | None = None) -> int:
    """Send every recorded, unsent notification that is due; how many were sent completely."""
    found = os.environ if environ is None else environ
    sent = 0
    while (notification := registry.claim_notification()) is not None:
        sent += _deliver(registry, notification, targets_for(registry, notification.scope, found))
    return sent


def _deliver(registry: Registry, notification: Notification, targets: list[Target]) -> bool:
    errors: list[str] = []
    for target in targets:
        if target.key in notification.reached:
            continue
        try:
            target.send(notification.payload)
        except DeliveryError as error:
            errors.append(in_server_language(error))
            continue
        notification = replace(notification, reached=(*notification.reached, target.key))
        if not registry.note_reached(notification):
            return False  # the claim was lost: the other deliverer carries on
    if errors:
        attempts = notification.attempts + 1
        delay = retry_delay(attempts) if attempts < MAX_ATTEMPTS else None
        registry.mark_failed(notification, " ".join(errors), delay)
        return False
    return registry.mark_sent(notification)


def send_test(targets: list[Target]) -> list[tuple[str, str | None]]:
    """Send the test notification to each target now; (label, error or None) for each, the
    error in the language in use (the page's: the analyst is reading)."""
    results: list[tuple[str, str | None]] = []
    for target in targets:
        try:
            target.send(TEST_PAYLOAD)
        except DeliveryError as error:
            results.append((target.label, str(error)))
        else:
            results.append((target.label, None))
    return results


_delivering = threading.Lock()


def deliver_in_background(registry: Registry, environ: Mapping[str, str] | None = None) -> None:
    """`deliver_pending` in a thread of its own, so a page never waits on a slow webhook; one
    such thread per process at a time (the registry's claims keep processes apart)."""
    if not _delivering.acquire(blocking=False):
        return

    def run() -> None:
        try:
            deliver_pending(registry, environ)
        finally:
            _delivering.release()

    threading.Thread(target=run, name="batchdash-notify", daemon=True).start()
