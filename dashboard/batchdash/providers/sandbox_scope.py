"""The registry scope of jobs sent to a sandbox (the bundled one, or the one shared through
BATCHDASH_SANDBOX_URL): the same for every server on one registry, so a watcher serving the
shared sandbox finds the jobs the pages sent it."""

from __future__ import annotations

from batchdash.providers.profiles import OPENAI, ProviderProfile
from batchdash.settings import owner_scope

#: Stands in for the key (and the base URL) in the fingerprint of Sandbox jobs.
_SANDBOX_SCOPE_KEY = "sandbox"


def sandbox_scope(user: str | None, provider: ProviderProfile = OPENAI) -> str:
    """The registry scope of `user`'s Sandbox jobs (kept while a key is in use); each imitated
    provider's sandbox holds its own batches, so its jobs have a scope of their own."""
    key = _SANDBOX_SCOPE_KEY if provider is OPENAI else f"{_SANDBOX_SCOPE_KEY}:{provider.name}"
    return owner_scope(key, _SANDBOX_SCOPE_KEY, user)
