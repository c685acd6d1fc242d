"""Settings: API key and endpoint, connection test, limits, prices, data location."""

import streamlit as st

from batchdash.errors import InputError
from batchdash.i18n import _
from batchdash.preflight.pricing import price_for
from batchdash.providers.choice import configured_provider, profile_labelled
from batchdash.settings import ALLOWED_BASE_URLS, redacted_db_url
from ui import resources, settings_tables, state, token_limits
from ui.budgets import show_budget_settings
from ui.connection import (
    address_rules,
    check_connection,
    chosen_base_url,
    chosen_provider,
    current_connection,
    where_requests_go,
)
from ui.editors import kept_editor
from ui.file_cleanup import show_file_cleanup
from ui.notify_settings import show_notification_settings
from ui.sandbox_pace import show_pace_setting
from ui.text import plain, usd
from ui.watcher_note import show_typed_key_note

settings = resources.app_settings()

st.header(_("Settings"))

st.subheader(_("API key and endpoint"), divider="gray")
if settings.api_key:
    st.success(
        _("An API key is configured (OPENAI_API_KEY or secrets.toml)."),
        icon=":material/key:",
    )
st.text_input(
    _("Another API key for this session") if settings.api_key else _("API key"),
    type="password",
    key=state.API_KEY,
    persist_state="session",
    placeholder="sk-…",
    help=_(
        "Kept in this browser session only: never written to disk, to the job registry or to "
        "a log. Closing the tab forgets it."
    ),
)
show_typed_key_note(current_connection())
if not settings.api_key and not st.session_state[state.API_KEY].strip():
    st.caption(
        _(
            "Without a key Batchdash runs in Sandbox mode: a local simulator with simulated "
            "answers and no cost."
        )
    )
    show_pace_setting()


def preset_title(label: str) -> str:
    return profile_labelled(label).title()


preset = st.segmented_control(
    "API",
    state.BASE_URL_PRESETS,
    format_func=preset_title,
    key=state.BASE_URL_PRESET,
    required=True,
    persist_state="session",
    help=_(
        "OpenAI means the API configured on this server (OpenAI's own when none is). Each "
        "other choice is that provider's Batch API, with its own endpoints, completion windows "
        "and file limits; without a key, the sandbox imitates it."
    ),
)
if preset == state.PRESET_AZURE:
    st.text_input(
        _("Azure resource name"),
        key=state.AZURE_RESOURCE,
        persist_state="session",
        placeholder="my-resource",
        help=_(
            "The name before .openai.azure.com; the model names of New job are then your "
            "deployment names."
        ),
    )
elif profile_labelled(str(preset)).needs_url:
    st.text_input(
        _("Base URL"),
        key=state.CUSTOM_BASE_URL,
        persist_state="session",
        placeholder="https://gateway.example.com/v1",
        help=_("Any server that speaks the OpenAI Files and Batches API."),
    )
try:
    configured_provider(settings)
except InputError as error:
    st.error(plain(error), icon=":material/error:")
provider = chosen_provider(settings)
if provider.notes and not provider.batch_api:
    # A local server has no batches: their windows and file limits mean nothing there.
    st.caption(
        _(
            "{provider}: {notes} Source: {source}",
            provider=plain(provider.title()),
            notes=plain(provider.notes),
            source=plain(provider.source),
        )
    )
elif provider.notes:
    st.caption(
        _(
            "{provider}: {notes} Windows: {windows}; at most {requests:,} requests and "
            "{megabytes:,.0f} MB a file. Source: {source}",
            provider=plain(provider.title()),
            notes=plain(provider.notes),
            windows=plain(", ".join(provider.completion_windows)),
            requests=provider.max_requests_per_file,
            megabytes=provider.max_file_bytes / 1e6,
            source=plain(provider.source),
        )
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
        _(
            "This server sends requests only to the addresses its operator approved: {addresses}.",
            addresses=plain(policy.described()),
        )
    )
if policy.unreadable:
    st.warning(
        _(
            "{setting} has entries Batchdash cannot read, which approve nothing: {entries}. "
            "Write each as a base URL like https://gateway.example.com/v1 or a host like "
            "*.openai.azure.com.",
            setting=ALLOWED_BASE_URLS,
            entries=plain(", ".join(policy.unreadable)),
        ),
        icon=":material/warning:",
    )
st.button(
    _("Test connection"),
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
    _("How much may wait in the queue"),
    divider="gray",
    help=_(
        "OpenAI calls this the enqueued-token limit, or batch queue limit: the input tokens "
        "of all your batches of one model that are not finished yet may not exceed it."
    ),
)
st.caption(
    _(
        "Your organisation's limit on the input tokens waiting in batches for one model (OpenAI "
        "shows it under Limits as the enqueued-token limit). New job splits a big job into "
        "several batches that each fit it, and warns when even one does not."
    )
)
token_limits.load_saved_limits(connection)
limits = kept_editor(
    state.LIMITS_EDITOR,
    lambda: settings_tables.limits_frame(st.session_state[state.TOKEN_LIMITS]),
    num_rows="dynamic",
    hide_index=True,
    column_config={
        settings_tables.MODEL: st.column_config.TextColumn(_("Model"), required=True),
        settings_tables.LIMIT: st.column_config.NumberColumn(
            _("Tokens waiting at most"),
            min_value=1,
            step=1,
            format="localized",
            required=True,
            help=_("The model's enqueued-token limit, as OpenAI's Limits page shows it."),
        ),
    },
    alt=_("Enqueued-token limit per model"),
)
token_limits.keep_limits(settings_tables.limits_from_frame(limits), connection)
for problem in settings_tables.limit_problems(limits):
    st.warning(plain(problem), icon=":material/warning:")

st.subheader(_("Price overrides"), divider="gray")
st.caption(
    _(
        "Normal (not batch) prices in USD per million tokens, for models the price list lacks "
        "or prices your contract changes. Batch prices are these less the provider's batch "
        "discount (half at OpenAI)."
    )
)
prices = kept_editor(
    state.PRICES_EDITOR,
    lambda: settings_tables.prices_frame(st.session_state[state.PRICE_OVERRIDES]),
    num_rows="dynamic",
    hide_index=True,
    column_config={
        settings_tables.MODEL: st.column_config.TextColumn(_("Model"), required=True),
        settings_tables.INPUT_PRICE: st.column_config.NumberColumn(
            _("Input USD per 1M"), min_value=0.0, format="%.4f", required=True
        ),
        settings_tables.OUTPUT_PRICE: st.column_config.NumberColumn(
            _("Output USD per 1M"), min_value=0.0, format="%.4f", required=True
        ),
    },
    alt=_("Price overrides per model"),
)
overrides = settings_tables.prices_from_frame(prices)
for problem in settings_tables.price_problems(prices):
    st.warning(plain(problem), icon=":material/warning:")
st.session_state[state.PRICE_OVERRIDES] = overrides
for model in overrides:
    listed = price_for(model)
    if listed is not None:
        st.caption(
            _(
                "{model} is in the price list at {input} / {output} per million tokens; your "
                "price replaces it.",
                model=plain(model),
                input=usd(listed.input_per_million),
                output=usd(listed.output_per_million),
            )
        )

show_notification_settings()
show_budget_settings(connection)
show_file_cleanup()

st.subheader(_("Where the data lives"), divider="gray")
registry_url = redacted_db_url(settings.db_url)
st.markdown("**" + _("Data directory") + "** (BATCHDASH_DATA_DIR)")
st.code(str(settings.data_dir), language=None)
st.markdown("**" + _("Job registry") + "** (BATCHDASH_DB_URL)")
st.code(registry_url, language=None)
st.markdown("**" + _("Sandbox files") + "**")
st.code(str(settings.data_dir / "sandbox"), language=None)
st.caption(
    _(
        "The registry keeps jobs, their rows and their results; never the API key (jobs are "
        "filed under a short one-way fingerprint of it)."
    )
)
