"""Settings' Notifications section: the webhooks and e-mail addresses this scope's jobs are
told about, the operator's own (shown without their secrets), and a test notification.

Saved in the registry per scope (`batchdash.notify.targets`), so the watcher reads them with no
page open. A URL typed with sign-in on is checked against BATCHDASH_NOTIFY_ALLOW or, without it,
refused when it points into the server's own network (`batchdash.notify.addresses`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping

import streamlit as st

from batchdash.errors import InputError, RegistryError
from batchdash.i18n import _, n_
from batchdash.notify import deliver_in_background, send_test
from batchdash.notify.addresses import NOTIFY_ALLOW, shown, url_problem
from batchdash.notify.delivery import targets_for
from batchdash.notify.mail import SMTP_URL, is_address, read_smtp_url
from batchdash.notify.shapes import service_of
from batchdash.notify.targets import (
    NOTIFY_URLS,
    SavedUrl,
    operator_urls,
    save_emails,
    save_urls,
    saved_emails,
    saved_urls,
)
from batchdash.registry.notifications import GIVEN_UP, PENDING, SENT
from batchdash.registry.store import Registry
from ui import resources
from ui.connection import current_connection
from ui.sign_in import sign_in_required
from ui.text import plain

# Session keys of this section (its widgets and the last answer of each action).
URL_INPUT = "notify_url_input"
EMAIL_INPUT = "notify_email_input"
#: ("url" | "email", "error" | "success", text) of the last add or remove, or None: told
#: under the field it is about.
FEEDBACK = "notify_feedback"
#: [(target, error or None)] of the last test, or None.
TEST_RESULT = "notify_test_result"

_SETTINGS = (NOTIFY_URLS, SMTP_URL, NOTIFY_ALLOW)

_SERVICES = {
    "slack": "Slack",
    "teams": "Microsoft Teams",
    "feishu": "Feishu / Lark",
    "dingtalk": "DingTalk",
    "wecom": "WeCom",
}


def notify_environ() -> Mapping[str, str]:
    """The notification settings from secrets.toml first, then the environment."""
    found = dict(os.environ)
    with contextlib.suppress(FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        found.update({name: str(st.secrets[name]) for name in _SETTINGS if name in st.secrets})
    return found


def deliver_waiting(registry: Registry) -> None:
    """Send the recorded notifications in the background (the Jobs page, after a refresh):
    the page never waits on a slow webhook."""
    deliver_in_background(registry, notify_environ())


def _scope() -> str:
    return current_connection().scope


def _service_name(url: str) -> str:
    service = service_of(url)
    return _SERVICES[service] if service != "plain" else _("Plain JSON")


def _add_url() -> None:
    typed = st.session_state[URL_INPUT].strip()
    if not typed:
        return
    guarded = sign_in_required()
    problem = url_problem(typed, guarded=guarded, environ=notify_environ())
    if problem is not None:
        st.session_state[FEEDBACK] = ("url", "error", str(problem))
        return  # the typed URL stays in the field
    registry, scope = resources.app_registry(), _scope()
    saved = saved_urls(registry, scope)
    if all(entry.url != typed for entry in saved):
        save_urls(registry, scope, [*saved, SavedUrl(typed, guarded)])
    st.session_state[URL_INPUT] = ""
    st.session_state[FEEDBACK] = ("url", "success", _("Webhook {url} added.", url=shown(typed)))


def _remove_url(index: int) -> None:
    registry, scope = resources.app_registry(), _scope()
    saved = saved_urls(registry, scope)
    if index < len(saved):
        gone = saved.pop(index)
        save_urls(registry, scope, saved)
        st.session_state[FEEDBACK] = (
            "url",
            "success",
            _("Webhook {url} removed.", url=shown(gone.url)),
        )


def _add_email() -> None:
    typed = st.session_state[EMAIL_INPUT].strip()
    if not typed:
        return
    if not is_address(typed):
        st.session_state[FEEDBACK] = (
            "email",
            "error",
            _(
                "{text} is not an e-mail address; write one address like ann@example.com.",
                text=typed,
            ),
        )
        return
    registry, scope = resources.app_registry(), _scope()
    addresses = saved_emails(registry, scope)
    if typed not in addresses:
        save_emails(registry, scope, [*addresses, typed])
    st.session_state[EMAIL_INPUT] = ""
    st.session_state[FEEDBACK] = ("email", "success", _("{address} added.", address=typed))


def _remove_email(index: int) -> None:
    registry, scope = resources.app_registry(), _scope()
    addresses = saved_emails(registry, scope)
    if index < len(addresses):
        gone = addresses.pop(index)
        save_emails(registry, scope, addresses)
        st.session_state[FEEDBACK] = ("email", "success", _("{address} removed.", address=gone))


def _send_test() -> None:
    targets = targets_for(resources.app_registry(), _scope(), notify_environ())
    st.session_state[TEST_RESULT] = send_test(targets)


def show_notification_settings() -> None:
    """The Notifications section of Settings."""
    for key, initial in ((URL_INPUT, ""), (EMAIL_INPUT, ""), (FEEDBACK, None), (TEST_RESULT, None)):
        st.session_state.setdefault(key, initial)
    environ = notify_environ()
    st.subheader(_("Notifications"), divider="gray")
    try:
        registry, scope = resources.app_registry(), _scope()
    except RegistryError as error:
        # Saved per scope in the registry: without it there is nothing to show or save.
        st.warning(plain(error), icon=":material/warning:")
        return
    st.caption(
        _(
            "Batchdash tells these webhooks and e-mail addresses when a job of yours finishes, "
            "ends with rows unanswered, or nears its batches' expiry with rows still running. "
            "A watcher (make watch) sends them with no page open; without one they go out "
            "while the Jobs page is open or a status command runs, and wait until then."
        )
    )
    operator = operator_urls(environ)
    if operator:
        st.caption(
            _(
                "The operator's webhooks ({setting}) are told about every job too: {hosts}.",
                setting=NOTIFY_URLS,
                hosts=plain(", ".join(shown(url) for url in operator)),
            )
        )
    _removable(
        [
            f"{plain(_service_name(s.url))} · `{shown(s.url)}/…`"
            for s in saved_urls(registry, scope)
        ],
        "notify_remove_url",
        _remove_url,
    )
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.text_input(
        _("Webhook URL"),
        key=URL_INPUT,
        placeholder="https://hooks.slack.com/services/…",
        help=_(
            "Slack, Microsoft Teams, Feishu/Lark, DingTalk and WeCom webhooks get a message in "
            "their own format; any other address gets JSON with event, job_id, name, state, "
            "counts and cost_usd. Only the scheme and host are shown afterwards: the rest of a "
            "webhook URL is its password."
        ),
    )
    right.button(_("Add webhook"), key="notify_add_url", on_click=_add_url)
    _show_feedback("url")
    _show_email(environ, registry, scope)
    _show_outbox(registry, scope)
    st.button(
        _("Send a test notification"),
        key="notify_send_test",
        on_click=_send_test,
        icon=":material/notifications:",
    )
    _show_test_result()


def _show_email(environ: Mapping[str, str], registry: Registry, scope: str) -> None:
    try:
        server = read_smtp_url(environ.get(SMTP_URL))
    except InputError as error:
        st.warning(plain(error), icon=":material/warning:")
        server = None
    addresses = saved_emails(registry, scope)
    if server is not None:
        st.caption(_("E-mail goes out through {server}.", server=plain(server.described())))
    elif addresses:
        st.warning(
            _(
                "No mail is sent: the operator has not set {setting}. The addresses stay saved "
                "for when it is.",
                setting=SMTP_URL,
            ),
            icon=":material/warning:",
        )
    _removable([plain(address) for address in addresses], "notify_remove_email", _remove_email)
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.text_input(_("E-mail address"), key=EMAIL_INPUT, placeholder="ann@example.com")
    right.button(_("Add address"), key="notify_add_email", on_click=_add_email)
    _show_feedback("email")


def _show_outbox(registry: Registry, scope: str) -> None:
    """What of this scope's notifications is not sent yet, and the last reason one failed."""
    unsent = [n for n in registry.notifications(scope=scope) if n.state != SENT]
    waiting = [n for n in unsent if n.state == PENDING]
    if waiting:
        st.caption(
            n_(
                "{n} notification waits to be sent.",
                "{n} notifications wait to be sent.",
                len(waiting),
            )
        )
    failed = [n for n in unsent if n.last_error]
    if failed:
        last = failed[-1]
        words = (
            _(
                "A notification about job {name} was given up after {attempts} tries: {error}",
                name=last.payload.get("name") or last.job_id,
                attempts=last.attempts,
                error=last.last_error,
            )
            if last.state == GIVEN_UP
            else _(
                "A notification about job {name} could not be sent yet and will be tried "
                "again: {error}",
                name=last.payload.get("name") or last.job_id,
                error=last.last_error,
            )
        )
        st.warning(plain(words), icon=":material/warning:")


def _show_feedback(field: str) -> None:
    """The last add or remove of `field`'s entries, once."""
    feedback = st.session_state[FEEDBACK]
    if feedback is None or feedback[0] != field:
        return
    st.session_state[FEEDBACK] = None
    if feedback[1] == "error":
        st.error(plain(feedback[2]), icon=":material/block:")
    else:
        st.success(plain(feedback[2]), icon=":material/check_circle:")


def _removable(lines: list[str], key: str, remove: Callable[[int], None]) -> None:
    """One Markdown line per saved entry, each with its Remove button."""
    for index, line in enumerate(lines):
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(line)
        right.button(
            _("Remove"),
            key=f"{key}_{index}",
            on_click=remove,
            args=(index,),
            icon=":material/delete:",
        )


def _show_test_result() -> None:
    results: list[tuple[str, str | None]] | None = st.session_state[TEST_RESULT]
    if results is None:
        return
    st.session_state[TEST_RESULT] = None
    if not results:
        st.warning(
            _("There is nowhere to send a test yet: add a webhook or an e-mail address."),
            icon=":material/info:",
        )
        return
    for target, error in results:
        if error is None:
            st.success(
                _("Test sent to {target}.", target=plain(target)), icon=":material/check_circle:"
            )
        else:
            st.error(_("Test not sent: {error}", error=plain(error)), icon=":material/error:")
