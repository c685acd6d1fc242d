"""Where a scope's notifications go: the operator's webhooks (BATCHDASH_NOTIFY_URLS) and SMTP
recipients (BATCHDASH_SMTP_URL's `to`), and the webhooks and addresses each analyst saves in
Settings, kept per scope in the registry so a watcher with no page open reads them too."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from batchdash.registry.store import Registry

NOTIFY_URLS = "BATCHDASH_NOTIFY_URLS"
#: Preference names (`Registry.preference`).
URLS_PREFERENCE = "notify.urls"
EMAILS_PREFERENCE = "notify.emails"


@dataclass(frozen=True)
class SavedUrl:
    """A webhook URL an analyst saved."""

    url: str
    #: Saved with sign-in on: checked again against the address rules before each send.
    guarded: bool


def operator_urls(environ: Mapping[str, str]) -> list[str]:
    """BATCHDASH_NOTIFY_URLS, one URL per comma."""
    return [url.strip() for url in environ.get(NOTIFY_URLS, "").split(",") if url.strip()]


def saved_urls(registry: Registry, scope: str) -> list[SavedUrl]:
    """The scope's saved webhooks, in the order they were added."""
    entries = registry.preference(scope, URLS_PREFERENCE, [])
    return [
        SavedUrl(str(entry["url"]), bool(entry.get("guarded")))
        for entry in entries
        if isinstance(entry, dict) and entry.get("url")
    ]


def save_urls(registry: Registry, scope: str, urls: list[SavedUrl]) -> None:
    registry.set_preference(scope, URLS_PREFERENCE, [asdict(url) for url in urls] or None)


def saved_emails(registry: Registry, scope: str) -> list[str]:
    """The scope's saved e-mail addresses."""
    return [str(address) for address in registry.preference(scope, EMAILS_PREFERENCE, [])]


def save_emails(registry: Registry, scope: str, addresses: list[str]) -> None:
    registry.set_preference(scope, EMAILS_PREFERENCE, addresses or None)


def digest(target: str) -> str:
    """A target as the outbox remembers that it was reached: never the URL (it holds a token)."""
    return hashlib.sha256(target.encode()).hexdigest()[:16]
