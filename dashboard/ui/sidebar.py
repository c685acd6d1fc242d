"""The sidebar every page shows: which API this session talks to, and whether the key works."""

from __future__ import annotations

import streamlit as st

from batchdash.i18n import _
from ui import state
from ui.connection import Connection, sandbox_label
from ui.text import plain


def show_connection(connection: Connection) -> None:
    """Connection label and key state in the sidebar; a banner in Sandbox mode."""
    with st.sidebar:
        st.caption(_("Connection"))
        if connection.sandbox:
            st.markdown(f":material/science: **{sandbox_label()}**")
            if connection.provider.name != "openai":
                st.caption(_("Imitating {provider}", provider=plain(connection.provider.title())))
        else:
            st.markdown(f":material/cloud: **{plain(connection.label)}**")
            check = st.session_state[state.CONNECTION_CHECK]
            if connection.refusal:
                st.caption(
                    ":orange[:material/block:] "
                    + _("The address chosen in Settings is not used: see Settings.")
                )
            elif check is None or not connection.tested_by(check):
                st.caption(_("Key not tested yet: use Test connection in Settings."))
            elif check["ok"]:
                st.caption(":green[:material/check_circle:] " + _("The key works."))
            else:
                st.caption(f":red[:material/error:] {plain(check['message'])}")
    if connection.sandbox:
        st.info(
            _(
                "You are in **Sandbox mode**: requests go to a local simulator, answers are "
                "simulated and nothing is billed. To use OpenAI, enter your API key in Settings "
                "(or set `OPENAI_API_KEY`)."
            ),
            icon=":material/science:",
        )
        if connection.refusal:  # the sandbox cannot start (ui.resources.sandbox_failure)
            st.error(plain(connection.refusal), icon=":material/error:")
