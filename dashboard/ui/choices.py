"""Select boxes whose option labels are translated, kept right across a change of language.

The browser sends a select box's choice back as the label it shows, and keeps the label it
was last given: after the analyst switches language, a later run may receive the label in the
other language, which Streamlit would read as a value of its own (a typed codec, a column
named "Automatic (row-1, row-2, …)"). `settle_choice`, called before the box is drawn, turns
such a label back into its option; setting it also gives the browser the label in use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import streamlit as st

from batchdash.i18n import LANGUAGES, PSEUDO, use_language

T = TypeVar("T")


def settle_choice(key: str, options: Sequence[T], label: Callable[[T], str]) -> None:
    """Make the value under `key` an option again when it is the label of one in any language."""
    value = st.session_state.get(key)
    if value is None or value in options or not isinstance(value, str):
        return
    for language in (*LANGUAGES, PSEUDO):
        with use_language(language):
            for option in options:
                if label(option) == value:
                    st.session_state[key] = option
                    return
