"""Settings: API key and endpoint, connection test, limits, prices, data location."""

import streamlit as st

from batchdash.errors import InputError
from batchdash.preflight.pricing import price_for
from batchdash.providers.choice import configured_provider, profile_labelled
from batchdash.settings import ALLOWED_BASE_URLS, redacted_db_url
from ui import resources, settings_tables, state
from ui.connection import (
    address_rules,
    check_connection,
    chosen_base_url,
    chosen_provider,
    current_connection,
    where_requests_go,
)
from ui.editors import kept_editor
from ui.sandbox_pace import show_pace_setting
from ui.text import plain, usd

settings = resources.app_settings()

st.header("Settings")

st.subheader("API key and endpoint", divider="gray")
if settings.api_key:
    st.success(
        "An API key is configured (OPENAI_API_KEY or secrets.toml).",
        icon=":material/key:",
    )
st.text_input(
    "Another API key for this session" if settings.api_key else "API key",
    type="password",
    key=state.API_KEY,
    persist_state="session",
    placeholder="sk-…",
    help="Kept in this browser session only: never written to disk, to the job registry or to "
    "a log. Closing the tab forgets it.",
)
if not settings.api_key and not st.session_state[state.API_KEY].strip():
    st.caption(
        "Without a key Batchdash runs in Sandbox mode: a local simulator with simulated "
        "answers and no cost."
    )
    show_pace_setting()
preset = st.segmented_control(
    "API",
    state.BASE_URL_PRESETS,
    key=state.BASE_URL_PRESET,
    required=True,
    persist_state="session",
    help="OpenAI means the API configured on this server (OpenAI's own when none is). Each "
    "other choice is that provider's Batch API, with its own endpoints, completion windows "
    "and file limits; without a key, the sandbox imitates it.",
)
if preset == state.PRESET_AZURE:
    st.text_input(
        "Azure resource name",
        key=state.AZURE_RESOURCE,
        persist_state="session",
        placeholder="my-resource",
        help="The name before .openai.azure.com; the model names of New job are then your "
        "deployment names.",
    )
elif profile_labelled(str(preset)).needs_url:
    st.text_input(
        "Base URL",
        key=state.CUSTOM_BASE_URL,
        persist_state="session",
        placeholder="https://gateway.example.com/v1",
        help="Any server that speaks the OpenAI Files and Batches API.",
    )
try:
    configured_provider(settings)
except InputError as error:
    st.error(plain(error), icon=":material/error:")
provider = chosen_provider(settings)
if provider.notes and not provider.batch_api:
    # A local server has no batches: their windows and file limits mean nothing there.
    st.caption(f"{plain(provider.label)}: {plain(provider.notes)} Source: {plain(provider.source)}")
elif provider.notes:
    st.caption(
        f"{plain(provider.label)}: {plain(provider.notes)} Windows: "
        f"{plain(', '.join(provider.completion_windows))}; at most "
        f"{provider.max_requests_per_file:,} requests and "
        f"{provider.max_file_bytes / 1e6:,.0f} MB a file. Source: {plain(provider.source)}"
    )
connection = current_connection()
try:
    base_url = chosen_base_url(settings.base_url)
except InputError as error:
    st.error(plain(error), icon=":material/error:")
else:
    if connection.refusal:
        st.warning(plain(connection.refusal), icon=":material/block:")
    st.caption(where_requests_go(connection, base_url))
policy = address_rules(settings)
if policy.allowed is not None:
    st.caption(
        f"This server sends requests only to the addresses its operator approved: "
        f"{plain(policy.described())}."
    )
if policy.unreadable:
    st.warning(
        f"{ALLOWED_BASE_URLS} has entries Batchdash cannot read, which approve nothing: "
        f"{plain(', '.join(policy.unreadable))}. Write each as a base URL like "
        "https://gateway.example.com/v1 or a host like *.openai.azure.com.",
        icon=":material/warning:",
    )
st.button(
    "Test connection",
    icon=":material/network_check:",
    key="test_connection",
    on_click=check_connection,
)
check = st.session_state[state.CONNECTION_CHECK]
if check is not None and connection.tested_by(check):
    if check["ok"]:
        st.success(plain(check["message"]), icon=":material/check_circle:")
    else:
        st.error(plain(check["message"]), icon=":material/error:")

st.subheader(
    "How much may wait in the queue",
    divider="gray",
    help="OpenAI calls this the enqueued-token limit, or batch queue limit: the input tokens "
    "of all your batches of one model that are not finished yet may not exceed it.",
)
st.caption(
    "Your organisation's limit on the input tokens waiting in batches for one model (OpenAI "
    "shows it under Limits as the enqueued-token limit). New job splits a big job into "
    "several batches that each fit it, and warns when even one does not."
)
limits = kept_editor(
    state.LIMITS_EDITOR,
    lambda: settings_tables.limits_frame(st.session_state[state.TOKEN_LIMITS]),
    num_rows="dynamic",
    hide_index=True,
    column_config={
        settings_tables.MODEL: st.column_config.TextColumn("Model", required=True),
        settings_tables.LIMIT: st.column_config.NumberColumn(
            "Tokens waiting at most",
            min_value=1,
            step=1,
            format="localized",
            required=True,
            help="The model's enqueued-token limit, as OpenAI's Limits page shows it.",
        ),
    },
    alt="Enqueued-token limit per model",
)
st.session_state[state.TOKEN_LIMITS] = settings_tables.limits_from_frame(limits)
for problem in settings_tables.limit_problems(limits):
    st.warning(plain(problem), icon=":material/warning:")

st.subheader("Price overrides", divider="gray")
st.caption(
    "Normal (not batch) prices in USD per million tokens, for models the price list lacks or "
    "prices your contract changes. Batch prices are these less the provider's batch discount "
    "(half at OpenAI)."
)
prices = kept_editor(
    state.PRICES_EDITOR,
    lambda: settings_tables.prices_frame(st.session_state[state.PRICE_OVERRIDES]),
    num_rows="dynamic",
    hide_index=True,
    column_config={
        settings_tables.MODEL: st.column_config.TextColumn("Model", required=True),
        settings_tables.INPUT_PRICE: st.column_config.NumberColumn(
            "Input USD per 1M", min_value=0.0, format="%.4f", required=True
        ),
        settings_tables.OUTPUT_PRICE: st.column_config.NumberColumn(
            "Output USD per 1M", min_value=0.0, format="%.4f", required=True
        ),
    },
    alt="Price overrides per model",
)
overrides = settings_tables.prices_from_frame(prices)
for problem in settings_tables.price_problems(prices):
    st.warning(plain(problem), icon=":material/warning:")
st.session_state[state.PRICE_OVERRIDES] = overrides
for model in overrides:
    listed = price_for(model)
    if listed is not None:
        st.caption(
            f"{plain(model)} is in the price list at {usd(listed.input_per_million)} / "
            f"{usd(listed.output_per_million)} per million tokens; your price replaces it."
        )

st.subheader("Where the data lives", divider="gray")
registry_url = redacted_db_url(settings.db_url)
st.markdown("**Data directory** (BATCHDASH_DATA_DIR)")
st.code(str(settings.data_dir), language=None)
st.markdown("**Job registry** (BATCHDASH_DB_URL)")
st.code(registry_url, language=None)
st.markdown("**Sandbox files**")
st.code(str(settings.data_dir / "sandbox"), language=None)
st.caption(
    "The registry keeps jobs, their rows and their results; never the API key (jobs are filed "
    "under a short one-way fingerprint of it)."
)
