"""Which API the session talks to: the analyst's key, a configured key, or the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import streamlit as st

from batchdash.errors import BatchdashError, InputError
from batchdash.gateway import Gateway, azure_base_url
from batchdash.settings import owner_scope
from ui import resources, state
from ui.sandbox_pace import pace_metadata

SANDBOX_LABEL = "Sandbox (no cost, simulated answers)"
# Sandbox jobs belong to one scope whatever port the sandbox got this time.
_SANDBOX_SCOPE_KEY = "sandbox"

KeySource = Literal["session", "configured", "sandbox"]


@dataclass(frozen=True)
class Connection:
    """The API of this session and the scope its jobs are filed under."""

    #: "sandbox" when no key is known, else "api".
    mode: Literal["sandbox", "api"]
    #: Where the requests go.
    base_url: str | None
    #: What the sidebar shows.
    label: str
    #: Where the key came from.
    key_source: KeySource
    #: Registry scope (key fingerprint, plus the signed-in user when login is on).
    scope: str
    #: The key itself: held in memory only, never shown.
    api_key: str = field(repr=False)
    #: Pairs every new batch carries (the sandbox's pace).
    batch_metadata: tuple[tuple[str, str], ...] = ()

    @property
    def sandbox(self) -> bool:
        """Whether this is the bundled sandbox."""
        return self.mode == "sandbox"

    def gateway(self) -> Gateway:
        """The cached SDK gateway of this connection."""
        return resources.gateway(self.base_url, self.api_key, self.batch_metadata)


def chosen_base_url(configured: str | None) -> str | None:
    """The base URL the Settings preset names (None: OpenAI itself); raises InputError."""
    preset = st.session_state[state.BASE_URL_PRESET]
    if preset == state.PRESET_AZURE:
        resource = st.session_state[state.AZURE_RESOURCE]
        if not resource.strip():
            raise InputError("Enter the Azure resource name in Settings, like my-resource.")
        return azure_base_url(resource)
    if preset == state.PRESET_CUSTOM:
        url = st.session_state[state.CUSTOM_BASE_URL].strip()
        if not url.startswith(("http://", "https://")):
            raise InputError(
                "The custom base URL must start with http:// or https://, like "
                "https://gateway.example.com/v1. Fix it in Settings."
            )
        return url
    return configured


def current_connection() -> Connection:
    """The connection of this session; the sandbox (started on first use) when there is no key."""
    settings = resources.app_settings()
    user = _signed_in_user()
    entered = st.session_state[state.API_KEY].strip()
    if entered or settings.api_key:
        key = entered or settings.api_key or ""
        try:
            base_url = chosen_base_url(settings.base_url)
        except InputError:
            base_url = settings.base_url
        return Connection(
            mode="api",
            base_url=base_url,
            label=base_url or "OpenAI (api.openai.com)",
            key_source="session" if entered else "configured",
            scope=owner_scope(key, base_url, user),
            api_key=key,
        )
    url = resources.sandbox_url(settings.data_dir)
    return Connection(
        mode="sandbox",
        base_url=url,
        label=SANDBOX_LABEL,
        key_source="sandbox",
        scope=owner_scope(_SANDBOX_SCOPE_KEY, _SANDBOX_SCOPE_KEY, user),
        api_key="sandbox",
        batch_metadata=tuple(pace_metadata().items()),
    )


def check_connection() -> None:
    """ "Test connection" callback: ask the API whether the key works; the answer goes to state.

    The result names the scope it was made for, so the sidebar shows it only while the same key
    and base URL are in use.
    """
    connection = current_connection()
    try:
        if not connection.sandbox:
            chosen_base_url(resources.app_settings().base_url)
        connection.gateway().check_key()
    except BatchdashError as error:
        ok, message = False, str(error)
    else:
        ok = True
        message = (
            "The sandbox answers."
            if connection.sandbox
            else f"{connection.label} accepted the key."
        )
    st.session_state[state.CONNECTION_CHECK] = {
        "scope": connection.scope,
        "ok": ok,
        "message": message,
    }


def _signed_in_user() -> str | None:
    """The signed-in user's e-mail when sign-in is configured and done, else None."""
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("sub") or "") or None
    except (AttributeError, KeyError):
        return None
    return None
