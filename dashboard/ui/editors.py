"""Data editors whose edits survive a visit to another page.

Streamlit forgets a data editor's edits when the editor is not drawn (another page is open).
The table as last edited is kept in the session; when the editor comes back without its edit
state, that table becomes its starting point, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st


def _keys(name: str) -> tuple[str, str, str]:
    return f"{name}:latest", f"{name}:base", f"{name}:version"


def kept_editor(name: str, initial: Callable[[], pd.DataFrame], **editor_args: Any) -> pd.DataFrame:
    """Draw the data editor `name`; returns the edited table (index 0..n-1)."""
    latest_key, base_key, version_key = _keys(name)
    state = st.session_state
    if latest_key not in state:
        state[latest_key] = initial()
    widget_key = f"{name}:{state.get(version_key, 0)}"
    if widget_key not in state:
        # Fresh editor (first draw, back from another page, or a new shape): start from the
        # table as last edited.
        state[base_key] = state[latest_key]
    edited = st.data_editor(state[base_key], key=widget_key, **editor_args)
    edited = edited.reset_index(drop=True)
    state[latest_key] = edited
    return edited


def edited_table(name: str, initial: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The table of editor `name` as last edited, without drawing it (for callbacks)."""
    latest_key, _, _ = _keys(name)
    if latest_key not in st.session_state:
        st.session_state[latest_key] = initial()
    table: pd.DataFrame = st.session_state[latest_key]
    return table


def replace_table(name: str, table: pd.DataFrame) -> None:
    """Give editor `name` a new table (e.g. with a column added); pending edits are folded in."""
    latest_key, _, version_key = _keys(name)
    st.session_state[latest_key] = table.reset_index(drop=True)
    st.session_state[version_key] = st.session_state.get(version_key, 0) + 1
