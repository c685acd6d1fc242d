"""Process-wide resources, created once and shared by every session (`st.cache_resource`).

Per-user data never lives here: the key a resource is made with is part of its cache key, so
two analysts with two keys get two gateways.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from batchdash.api.gateway import Gateway
from batchdash.jobs.opening import provider_gateway
from batchdash.providers.profiles import BY_NAME
from batchdash.registry.store import Registry
from batchdash.settings import Settings, read_settings
from sandbox.server import running_sandbox


def _secrets() -> Mapping[str, object]:
    """st.secrets as a plain mapping; empty when there is no secrets file."""
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


def app_settings() -> Settings:
    """Configuration from secrets.toml first, then the environment (contract 3)."""
    return read_settings(_secrets(), os.environ)


@st.cache_resource(show_spinner="Opening the job registry…", on_release=Registry.close)
def registry(db_url: str) -> Registry:
    """The registry at `db_url`, one engine per process."""
    return Registry(db_url)


@dataclass(frozen=True)
class RunningSandbox:
    """The bundled sandbox, serving in a thread of this process."""

    #: Base URL of its API (`http://127.0.0.1:<port>/v1`).
    url: str
    #: Stops the server when closed.
    stack: contextlib.ExitStack = field(repr=False, compare=False)


def _stop_sandbox(sandbox: RunningSandbox) -> None:
    sandbox.stack.close()


@st.cache_resource(show_spinner="Starting the sandbox…", on_release=_stop_sandbox)
def _sandbox(data_dir: Path, rate: float | None = None, profile: str = "openai") -> RunningSandbox:
    # One sandbox per imitated provider, each in its own directory (one server per directory).
    folder = data_dir / ("sandbox" if profile == "openai" else f"sandbox-{profile}")
    stack = contextlib.ExitStack()
    url = stack.enter_context(running_sandbox(folder, rate=rate, profile=profile))
    return RunningSandbox(url, stack)


#: Environment variable with this server's default pace of the bundled sandbox, in requests
#: per second per batch ("unlimited", or anything but a positive number: as fast as it can).
#: Unset, the pace picked in Settings applies (ui.sandbox_pace); tests set it to run fast.
SANDBOX_RATE = "BATCHDASH_SANDBOX_RATE"


def sandbox_rate_set() -> bool:
    """Whether BATCHDASH_SANDBOX_RATE gives this server's sandbox pace."""
    return bool(os.environ.get(SANDBOX_RATE, "").strip())


def sandbox_rate() -> float | None:
    """The pace BATCHDASH_SANDBOX_RATE asks for; None (unlimited) when unset or not a positive
    number."""
    try:
        rate = float(os.environ.get(SANDBOX_RATE, ""))
    except ValueError:
        return None
    return rate if 0 < rate < math.inf else None


#: Environment variable with the base URL of a sandbox already running elsewhere (e.g.
#: `http://127.0.0.1:8765/v1`), which the app then uses instead of starting its own: several
#: app servers on one registry must share one sandbox (one may run per data directory).
SANDBOX_URL = "BATCHDASH_SANDBOX_URL"


def shared_sandbox() -> bool:
    """Whether BATCHDASH_SANDBOX_URL names a sandbox running elsewhere."""
    return bool(os.environ.get(SANDBOX_URL, "").strip())


def sandbox_url(data_dir: Path, profile: str = "openai") -> str:
    """The bundled sandbox's URL, imitating the provider `profile`, started on a free
    127.0.0.1 port on first use.

    It serves for the life of the app; clearing `st.cache_resource` stops it. With
    BATCHDASH_SANDBOX_URL set, that sandbox is used and none is started.
    """
    shared = os.environ.get(SANDBOX_URL, "").strip()
    if shared:
        return shared
    return _sandbox(data_dir, sandbox_rate(), profile).url


@st.cache_resource(max_entries=32)
def gateway(
    base_url: str | None,
    api_key: str,
    name: str | None = None,
    batch_metadata: tuple[tuple[str, str], ...] = (),
    provider: str = "openai",
) -> Gateway:
    """One SDK client per key, base URL, server name, extra batch metadata and provider profile
    (kept in memory only); `name` is what its messages call the server (default: one read from
    the URL)."""
    return provider_gateway(
        api_key, base_url, BY_NAME[provider], name=name, batch_metadata=dict(batch_metadata)
    )
