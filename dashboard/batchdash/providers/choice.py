"""Which provider a base URL belongs to, and the profile a name or the configuration picks.

BATCHDASH_PROVIDER names the profile outright; otherwise OPENAI_BASE_URL's host is recognised
(none means OpenAI itself), and an address no profile knows is a custom server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.providers.profiles import BY_NAME, CUSTOM, OPENAI, PROFILES, ProviderProfile
from batchdash.settings import PROVIDER, Settings


def known_names() -> str:
    """Every profile's name, for messages."""
    return ", ".join(profile.name for profile in PROFILES)


def profile_named(name: str) -> ProviderProfile:
    """The profile called `name` (any case); an unknown name is an InputError listing them."""
    key = name.strip().lower()
    if key in BY_NAME:
        return BY_NAME[key]
    raise InputError(
        _l(
            "{variable} is '{name}', which is not a provider Batchdash knows. Use one of: {known}.",
            variable=PROVIDER,
            name=name.strip(),
            known=known_names(),
        )
    )


def profile_labelled(label: str) -> ProviderProfile:
    """The profile Settings shows as `label`."""
    for profile in PROFILES:
        if profile.label == label:
            return profile
    raise InputError(_l("'{label}' is not one of the APIs Settings offers.", label=label))


def recognise(base_url: str | None) -> ProviderProfile:
    """The provider serving `base_url`: by its host (and, on localhost, its port); None is
    OpenAI, anything else custom."""
    if base_url is None or not base_url.strip():
        return OPENAI
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    for profile in PROFILES:
        if profile.ports and port not in profile.ports:
            continue  # a local server is told apart by its port
        for known in profile.hosts:
            if host == known or (known.startswith(".") and host.endswith(known)):
                return profile
    return CUSTOM


def configured_provider(settings: Settings) -> ProviderProfile:
    """The provider of the configured API: BATCHDASH_PROVIDER, else the one OPENAI_BASE_URL
    belongs to. Raises InputError for a name no profile has."""
    if settings.provider:
        return profile_named(settings.provider)
    return recognise(settings.base_url)
