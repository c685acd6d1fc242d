"""The models New job offers: what the provider lists for the key (models.list), cached and
refreshed on demand, with the usual names as the fallback."""

from __future__ import annotations

import streamlit as st

from batchdash.errors import BatchdashError
from batchdash.i18n import _, n_
from batchdash.providers.model_kinds import suited_models
from batchdash.recipe import Endpoint
from ui import state
from ui.connection import Connection
from ui.recipe_inputs import OFFERED_MODELS
from ui.text import plain


@st.cache_data(ttl=3600, max_entries=32, show_spinner=False)
def _listed(
    scope: str, base_url: str | None, refreshed: int, _connection: Connection
) -> tuple[str, ...] | BatchdashError:
    """The models the connection's key may use, or why they could not be listed (the error,
    said in the language of the moment it is shown). The key's scope and the URL name the list
    (the key itself is no part of a cache key); `refreshed` makes another entry when the
    analyst asks again."""
    try:
        # Gemini lists its models as "models/<name>" and takes the bare name in a request.
        return tuple(model.removeprefix("models/") for model in _connection.gateway().list_models())
    except BatchdashError as error:
        return error.with_traceback(None)


def refresh_models() -> None:
    """ "Refresh models" callback: the next run asks the provider again."""
    st.session_state[state.MODELS_REFRESHED] += 1


def offered_models(connection: Connection, endpoint: Endpoint) -> list[str]:
    """The model names for the picker, with a caption saying where they come from."""
    provider = connection.provider
    curated = suited_models(provider.curated_models, endpoint) or list(OFFERED_MODELS[endpoint])
    if provider.rehearsal_model and endpoint in provider.endpoints:
        curated.append(provider.rehearsal_model)
    if provider.models == "typed" or connection.refusal:
        st.caption(
            _(
                "Type the name of your {provider} deployment, or pick a model.",
                provider=plain(provider.label),
            )
        )
        return curated
    with st.spinner(_("Asking for the models…")):
        listed = _listed(
            connection.scope,
            connection.base_url,
            st.session_state[state.MODELS_REFRESHED],
            connection,
        )
    suited = suited_models(listed, endpoint) if isinstance(listed, tuple) else []
    if connection.sandbox:
        # The sandbox answers any name: its list and the provider's usual names alike.
        suited = list(dict.fromkeys([*curated, *suited]))
    with st.container(horizontal=True, vertical_alignment="center"):
        if connection.sandbox:
            st.caption(
                _(
                    "The sandbox answers any model name; {provider}'s usual names are offered.",
                    provider=plain(provider.label),
                )
            )
        elif suited:
            st.caption(
                n_(
                    "{n:,} model offered by {provider} for this key.",
                    "{n:,} models offered by {provider} for this key.",
                    len(suited),
                    provider=plain(provider.label),
                )
            )
        elif isinstance(listed, BatchdashError):
            st.caption(
                _(
                    "The model list could not be fetched ({why}); the usual names are offered.",
                    why=plain(listed),
                )
            )
        else:
            st.caption(_("The model list could not be fetched; the usual names are offered."))
        st.button(
            _("Refresh models"),
            icon=":material/refresh:",
            key="refresh_models",
            on_click=refresh_models,
            type="tertiary",
        )
    return suited or curated
