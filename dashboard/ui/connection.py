"""Which API the session talks to: the analyst's key, a configured key, or the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import streamlit as st

from batchdash.api import destinations
from batchdash.api.destinations import AddressPolicy, address_policy, route
from batchdash.errors import BatchdashError, InputError
from batchdash.i18n import Message, _, _l
from batchdash.providers.choice import configured_provider, profile_labelled, recognise
from batchdash.providers.profiles import CUSTOM, OPENAI, ProviderProfile
from batchdash.providers.sandbox_scope import sandbox_scope
from batchdash.settings import DEFAULT_BASE_URL, Settings, owner_scope
from ui import resources, state
from ui.sandbox_pace import pace_metadata
from ui.sign_in import sign_in_required
from ui.text import plain

if TYPE_CHECKING:
    # The SDK is imported when a request is made, not by every page (ui.resources.gateway).
    from batchdash.api.gateway import Gateway

_SANDBOX_WORDS = _l("Sandbox (no cost, simulated answers)")
#: What the sidebar calls the sandbox, in English (`sandbox_label()` says it in the language in
#: use).
SANDBOX_LABEL = _SANDBOX_WORDS.msgid
#: What messages call the sandbox ("The sandbox rejected the request: ...").
SANDBOX_NAME = "The sandbox"

#: Where the key comes from: typed or configured (as `destinations` knows), or no key at all.
KeySource = Literal[destinations.KeySource, "sandbox"]


@dataclass(frozen=True)
class Connection:
    """The API of this session and the scope its jobs are filed under."""

    #: "sandbox" when no key is known, else "api".
    mode: Literal["sandbox", "api"]
    #: Where the requests go.
    base_url: str | None
    #: What the sidebar shows (in the language of the run that made the connection).
    label: str
    #: Where the key came from.
    key_source: KeySource
    #: Registry scope (key fingerprint, plus the signed-in user when login is on).
    scope: str
    #: The key itself: held in memory only, never shown.
    api_key: str = field(repr=False)
    #: Why the address chosen in Settings is not used; nothing new is sent while set.
    refusal: str | Message | None = None
    #: Pairs every new batch carries (the sandbox's pace).
    batch_metadata: tuple[tuple[str, str], ...] = ()
    #: The provider whose rules apply (in Sandbox mode, the one the sandbox imitates).
    provider: ProviderProfile = OPENAI

    @property
    def sandbox(self) -> bool:
        """Whether this is the bundled sandbox."""
        return self.mode == "sandbox"

    def tested_by(self, check: dict[str, object] | None) -> bool:
        """Whether `check` (a "Test connection" result) was made for this connection: the same
        scope, and refused or not alike (a refused address shares the configured key's scope)."""
        return (
            check is not None
            and check.get("scope") == self.scope
            and bool(check.get("refused", False)) == bool(self.refusal)
        )

    def gateway(self) -> Gateway:
        """The cached SDK gateway of this connection."""
        # The sandbox's loopback address means nothing to an analyst: messages name it.
        name = SANDBOX_NAME if self.sandbox else None
        return resources.gateway(
            self.base_url, self.api_key, name, self.batch_metadata, self.provider.name
        )


def chosen_provider(settings: Settings) -> ProviderProfile:
    """The provider of the Settings preset: "OpenAI" stands for the configured API, whose
    provider BATCHDASH_PROVIDER names or OPENAI_BASE_URL shows."""
    preset = st.session_state[state.BASE_URL_PRESET]
    if preset != state.PRESET_OPENAI:
        return profile_labelled(preset)
    return _configured_or_openai(settings)


def chosen_base_url(configured: str | None) -> str | None:
    """The base URL the Settings preset names (None: OpenAI itself); raises InputError.

    Every preset is a base URL put through the same rule as a typed one
    (batchdash.api.destinations): the configured key goes to the configured URL only.
    """
    preset = st.session_state[state.BASE_URL_PRESET]
    if preset == state.PRESET_OPENAI:
        return configured
    if preset == state.PRESET_AZURE:
        resource = st.session_state[state.AZURE_RESOURCE]
        if not resource.strip():
            raise InputError(_l("Enter the Azure resource name in Settings, like my-resource."))
        from batchdash.api.gateway import azure_base_url  # the SDK only when Azure is picked

        return azure_base_url(resource)
    profile = profile_labelled(preset)
    if profile.needs_url:
        url = st.session_state[state.CUSTOM_BASE_URL].strip()
        if not url.startswith(("http://", "https://")):
            raise InputError(
                _l(
                    "The custom base URL must start with http:// or https://, like "
                    "https://gateway.example.com/v1. Fix it in Settings."
                )
            )
        return url
    return profile.base_url


def address_rules(settings: Settings) -> AddressPolicy:
    """The base URLs this deployment lets a session choose."""
    return address_policy(settings.allowed_base_urls, settings.base_url, sign_in=sign_in_required())


def current_connection() -> Connection:
    """The connection of this session; the sandbox (started on first use) when there is no key.

    The configured key only ever goes to the configured base URL (batchdash.api.destinations):
    another address needs the session's own key, and an address the deployment does not
    approve is refused whatever the key.
    """
    settings = resources.app_settings()
    user = _signed_in_user()
    provider = chosen_provider(settings)
    try:
        chosen, problem = chosen_base_url(settings.base_url), None
    except InputError as error:
        chosen, problem = settings.base_url, str(error)
    found = route(
        chosen,
        st.session_state[state.API_KEY],
        settings.api_key,
        settings.base_url,
        address_rules(settings),
        chosen_problem=problem,
    )
    if found is not None:
        return Connection(
            mode="api",
            base_url=found.base_url,
            label=found.base_url or "OpenAI (api.openai.com)",
            key_source=found.key_source,
            scope=owner_scope(found.api_key, found.base_url, user),
            api_key=found.api_key,
            refusal=found.refusal,
            # A refused choice falls back to the configured API, and to its provider's rules.
            provider=provider if not found.refusal else _configured_or_openai(settings),
        )
    if provider is CUSTOM:
        # A custom server follows OpenAI's rules: its rehearsal is the usual sandbox, with the
        # Sandbox jobs made before a URL was typed.
        provider = OPENAI
    url = resources.sandbox_url(settings.data_dir, provider.name)
    failure = resources.sandbox_failure(settings.data_dir, provider.name)
    return Connection(
        mode="sandbox",
        base_url=url,
        label=sandbox_label()
        if provider is OPENAI
        else _("{sandbox}: {provider}", sandbox=sandbox_label(), provider=provider.label),
        key_source="sandbox",
        scope=sandbox_scope(user, provider),
        api_key="sandbox",
        batch_metadata=tuple(pace_metadata().items()),
        # A sandbox that cannot start: nothing is sent, and every page says why.
        refusal=str(failure) if failure is not None else None,
        provider=provider,
    )


def sandbox_label() -> str:
    """What the sidebar calls the sandbox, in the language in use."""
    return str(_SANDBOX_WORDS)


def _configured_or_openai(settings: Settings) -> ProviderProfile:
    """The configured API's provider; the one its URL shows while BATCHDASH_PROVIDER names
    none Batchdash knows (Settings says so)."""
    try:
        return configured_provider(settings)
    except InputError:
        return recognise(settings.base_url)


def where_requests_go(connection: Connection, chosen: str | None) -> str:
    """One Settings caption: the address requests go to and the key they carry (Markdown-safe)."""
    if connection.sandbox:
        return _("With a key, requests go to {url}.", url=plain(chosen or DEFAULT_BASE_URL))
    target = plain(connection.base_url or DEFAULT_BASE_URL)
    if connection.key_source == "session":
        return _("Requests go to {url} with the key you entered for this session.", url=target)
    return _(
        "Requests go to {url} with the key configured on this server (OPENAI\\_API\\_KEY or "
        "secrets.toml). That key is sent to no other address: to use another one, enter your "
        "own key above.",
        url=target,
    )


def sandbox_jobs_kept(connection: Connection) -> int:
    """How many Sandbox jobs wait for the key to be removed (0 in Sandbox mode)."""
    if connection.sandbox:
        return 0
    registry = resources.app_registry()
    return len(registry.list_jobs(sandbox_scope(_signed_in_user()), include_archived=True))


def check_connection() -> None:
    """ "Test connection" callback: ask the API whether the key works; the answer goes to state.

    The result names the scope it was made for, so the sidebar shows it only while the same key
    and base URL are in use.
    """
    connection = current_connection()
    message: BatchdashError | Message
    try:
        if connection.refusal:
            # Nothing is sent: the chosen address would get a key that is not meant for it.
            raise InputError(connection.refusal)
        connection.gateway().check_key()
    except BatchdashError as error:
        # The error itself: its message is said in the language of the moment it is shown.
        ok, message = False, error.with_traceback(None)
    else:
        ok = True
        message = (
            _l("The sandbox answers.")
            if connection.sandbox
            else _l("{connection} accepted the key.", connection=connection.label)
        )
    st.session_state[state.CONNECTION_CHECK] = {
        "scope": connection.scope,
        "refused": bool(connection.refusal),
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
