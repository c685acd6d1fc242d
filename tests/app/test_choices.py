"""A select box's label sent back in the language the page used before a switch is read as
its option again (ui.choices)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _page() -> None:
    import streamlit as st

    from batchdash.i18n import _
    from ui.choices import settle_choice

    options = ["", "utf-8"]
    settle_choice("pick", options, lambda option: option or _("Automatic"))
    st.markdown(repr(st.session_state.get("pick")))


@pytest.mark.parametrize(
    ("sent", "read"),
    [("自动", "''"), ("Automatic", "''"), ("utf-8", "'utf-8'"), ("cp437", "'cp437'")],
)
def test_a_label_of_any_language_is_read_as_its_option(sent: str, read: str) -> None:
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["pick"] = sent
    at.run()

    assert not at.exception
    assert at.markdown[0].value == read
