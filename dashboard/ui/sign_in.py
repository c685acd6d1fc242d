"""Optional sign-in: with an `[auth]` section in secrets.toml, every page needs `st.login()`.

Without the section the app is open, as on an analyst's own machine. With it, the entry script
shows only a sign-in screen until the identity provider has signed the user in; then jobs are
filed under the key's fingerprint and the user's e-mail (ui.connection), so colleagues sharing
one configured key each see their own jobs.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Mapping
from functools import cache

import streamlit as st

from batchdash.i18n import _
from ui.text import plain

#: The settings of a provider section; a section holding them directly is the one default.
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def _auth_section() -> Mapping[str, object] | None:
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None
    return section if isinstance(section, Mapping) else None


def sign_in_required() -> bool:
    """Whether secrets.toml configures sign-in."""
    return _auth_section() is not None


def providers() -> list[str | None]:
    """The providers to offer: None for the default one, else each named `[auth.<name>]`."""
    section = _auth_section() or {}
    if "client_id" in section:
        return [None]
    return [
        name
        for name, value in section.items()
        if isinstance(value, Mapping) and all(key in value for key in _PROVIDER_KEYS)
    ] or [None]


def signed_in() -> bool:
    """Whether the identity provider has signed this session's user in."""
    try:
        return bool(st.user.is_logged_in)
    except (AttributeError, KeyError):
        return False


@cache
def _load_sign_in_client() -> None:
    """Import the sign-in client before any job of this process can run.

    Streamlit imports Authlib's client, and with it the older httpx, when the identity provider
    first answers, on the server's own thread; the SDK looks up `sys.modules["httpx"]` on every
    request, so a direct run sending at that moment would meet a half-imported module.
    """
    # Without Authlib, Streamlit tells the operator to install its auth extra.
    with contextlib.suppress(ImportError):
        importlib.import_module("authlib.integrations.starlette_client")


def require_sign_in() -> None:
    """When sign-in is configured: stop at a sign-in screen, or offer sign-out in the sidebar."""
    if not sign_in_required():
        return
    _load_sign_in_client()
    if signed_in():
        with st.sidebar:
            who = st.user.get("email") or st.user.get("name")
            st.caption(_("Signed in as {user}", user=plain(who)) if who else _("Signed in as you"))
            if st.button(_("Sign out"), key="sign_out", icon=":material/logout:"):
                st.logout()
        return
    st.title("Batchdash")
    st.markdown(
        _(
            "Sign in to see your jobs and run new ones. Each person's jobs are kept apart, even "
            "when colleagues share one API key."
        )
    )
    for provider in providers():
        label = (
            _("Sign in")
            if provider is None
            else _("Sign in with {provider}", provider=provider.title())
        )
        if st.button(label, key=f"sign_in_{provider or 'default'}", icon=":material/login:"):
            st.login(provider)
    st.stop()
