"""Closing a dialog, the one way every dialog of the app does it.

A dialog is drawn while session state says it is open. Streamlit reruns only the dialog when a
widget inside it is used, so a button that merely changes that state leaves the dialog on
screen; a whole-page rerun (`st.rerun()`, also from a callback) draws the page without it.
The × and a click outside go through the same callback (`on_dismiss`).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def close(forget: Callable[[], None]) -> None:
    """Forget the open dialog (`forget` updates session state) and draw the page without it.

    Usable as a widget callback or from the dialog's body; it does not return.
    """
    forget()
    st.rerun()


def dismiss_button(label: str, key: str, forget: Callable[[], None]) -> None:
    """A button that closes the dialog without doing anything else."""
    st.button(label, key=key, on_click=close, args=(forget,))


def confirm_row(confirm: str, key: str, forget: Callable[[], None], keep: str) -> bool:
    """The dismiss button `keep` beside the primary `confirm` button; whether confirm was
    clicked in this run."""
    with st.container(horizontal=True, horizontal_alignment="right"):
        dismiss_button(keep, f"{key}_keep", forget)
        return st.button(confirm, key=key, type="primary")
