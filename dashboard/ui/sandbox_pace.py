"""How fast the bundled sandbox runs a job: a setting per session, sent with each batch.

The sandbox is started once per server process and shared by every session, so the pace is
not a start option: each batch carries the pace in its metadata (sandbox.pace.PACE_TAG)
and the running sandbox honours it, batch by batch. A pace is a duration per batch, not per
request, so a job of 5 rows and one of 5,000 both take about that long, as an analyst expects
of "about a minute per job". BATCHDASH_SANDBOX_RATE sets this server's default instead (the
tests run at full speed that way); a pace picked in Settings still goes before it.
"""

from __future__ import annotations

import streamlit as st

from batchdash.i18n import Message, _, _l
from sandbox.pace import PACE_TAG
from ui import resources, state

#: The paces, by key: the label and the seconds each batch takes (None: the server's default,
#: 0: as fast as the sandbox can).
PACES: dict[str, tuple[Message, float | None]] = {
    "server": (_l("As this server is set"), None),
    "instant": (_l("Instant"), 0),
    "minute": (_l("About a minute per job"), 60),
    "several": (_l("Several minutes per job"), 300),
}
#: The pace without BATCHDASH_SANDBOX_RATE: slow enough to watch the progress and try Cancel.
DEFAULT_PACE = "minute"


def pace_options() -> list[str]:
    """The paces offered: the server's own first when BATCHDASH_SANDBOX_RATE sets one."""
    own = ["server"] if resources.sandbox_rate_set() else []
    return [*own, "instant", "minute", "several"]


def current_pace() -> str:
    """The session's pace, or this server's default."""
    picked = st.session_state.get(state.SANDBOX_PACE)
    options = pace_options()
    if picked in options:
        return str(picked)
    return options[0] if resources.sandbox_rate_set() else DEFAULT_PACE


def pace_metadata() -> dict[str, str]:
    """The metadata pair that makes the sandbox run a batch at this session's pace."""
    seconds = PACES[current_pace()][1]
    return {} if seconds is None else {PACE_TAG: f"{seconds:g}"}


def pace_label(key: str) -> str:
    """The words of a pace."""
    text = str(PACES[key][0])
    if key == "server":
        if resources.shared_sandbox():
            return _("{pace} (the shared sandbox's own pace)", pace=text)
        rate = resources.sandbox_rate()
        return (
            _("{pace} ({rate:g} requests a second)", pace=text, rate=rate)
            if rate
            else _("{pace} (instant)", pace=text)
        )
    return text


def show_pace_setting() -> None:
    """The Settings control for the sandbox's pace."""
    st.session_state[state.SANDBOX_PACE] = current_pace()
    st.segmented_control(
        _("Sandbox pace"),
        pace_options(),
        key=state.SANDBOX_PACE,
        format_func=pace_label,
        required=True,
        persist_state="session",
        help=_(
            "How long the sandbox takes to answer each job you submit from now on, whatever "
            "its number of rows: slow enough to watch the progress and try Cancel, or instant. "
            "Jobs already running keep their pace."
        ),
    )
