"""Process-wide resources, created once and shared by every session (`st.cache_resource`).

Per-user data never lives here: the key a resource is made with is part of its cache key, so
two analysts with two keys get two gateways.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from batchdash.gateway import Gateway
from batchdash.registry import Registry
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


@st.cache_resource(show_spinner="Opening the job registry…")
def registry(db_url: str) -> Registry:
    """The registry at `db_url`, one engine per process."""
    return Registry(db_url)


@st.cache_resource(show_spinner="Starting the sandbox…")
def sandbox_url(data_dir: Path) -> str:
    """Start the bundled sandbox on a free 127.0.0.1 port for the life of the app; its URL."""
    # Entered once and never left: the server thread lives as long as the app process.
    stack = contextlib.ExitStack()
    return stack.enter_context(running_sandbox(data_dir / "sandbox"))


@st.cache_resource(max_entries=32)
def gateway(base_url: str | None, api_key: str) -> Gateway:
    """One SDK client per key and base URL (kept in memory only)."""
    return Gateway(api_key, base_url)
