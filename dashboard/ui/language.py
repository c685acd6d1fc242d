"""The language of this session: the sidebar's choice, else the browser's, else the server's."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from batchdash.i18n import (
    LANGUAGES,
    PSEUDO,
    Language,
    language_from_tag,
    server_default_language,
    set_language,
    set_language_source,
)
from ui import state


def _session_language() -> Language | None:
    """The language this session's page run chose, for the fragment and dialog runs Streamlit
    makes without the page's run (and so without its context); None outside a session."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    chosen = st.session_state.get(state.LANGUAGE)
    return chosen if chosen in LANGUAGES or chosen == PSEUDO else None


set_language_source(_session_language)


def apply_language() -> Language:
    """Set the language of this script run (call first thing in every run: each run may be the
    first after the analyst picked another one) and return it."""
    chosen = st.session_state.get(state.LANGUAGE)
    language = (
        chosen
        if chosen in LANGUAGES or chosen == PSEUDO
        else language_from_tag(st.context.locale) or server_default_language()
    )
    set_language(language)
    return language


def show_language_picker(language: Language) -> None:
    """The sidebar's language choice. Its label is in both languages, so an analyst who landed
    in the one they do not read can still find it."""
    if st.session_state.get(state.LANGUAGE) != language:
        st.session_state[state.LANGUAGE] = language
    # The tests' pseudo-language is offered only while it is in use.
    options = [*LANGUAGES, *([language] if language not in LANGUAGES else [])]
    with st.sidebar:
        st.selectbox(
            "Language · 语言",
            options=options,
            format_func=lambda option: LANGUAGES.get(option, option),
            key=state.LANGUAGE,
        )
