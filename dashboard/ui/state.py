"""Every session-state key the pages share, and their initial values, in one place."""

from __future__ import annotations

from typing import Any

import streamlit as st

# Connection (Settings page). The key lives in the session only; it is never written anywhere.
API_KEY = "api_key"
BASE_URL_PRESET = "base_url_preset"
AZURE_RESOURCE = "azure_resource"
CUSTOM_BASE_URL = "custom_base_url"
CONNECTION_CHECK = "connection_check"
TOKEN_LIMITS = "token_limits"
PRICE_OVERRIDES = "price_overrides"

# New job page: the source table and the recipe being edited.
SOURCE = "source"
RECIPE = "recipe"

# Jobs and Results pages.
SELECTED_JOB = "selected_job"

PRESET_OPENAI = "OpenAI"
PRESET_AZURE = "Azure OpenAI v1"
PRESET_CUSTOM = "Custom compatible URL"
BASE_URL_PRESETS = (PRESET_OPENAI, PRESET_AZURE, PRESET_CUSTOM)

_DEFAULTS: dict[str, Any] = {
    API_KEY: "",
    BASE_URL_PRESET: PRESET_OPENAI,
    AZURE_RESOURCE: "",
    CUSTOM_BASE_URL: "",
    CONNECTION_CHECK: None,
    TOKEN_LIMITS: {},
    PRICE_OVERRIDES: {},
    SOURCE: None,
    RECIPE: None,
    SELECTED_JOB: None,
}


def init_state() -> None:
    """Give every shared key its initial value once per session."""
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, dict) else value
