"""The live part of the Jobs page: refreshed from the API on a timer while anything runs.

The page wraps `live_jobs` in `st.fragment(run_every=...)` with the pace `planned_interval`
works out from the registry; no timer at all when nothing runs or while a dialog is open. Each
run of the fragment refreshes (`JobBoard.refresh`: one API call per running batch at most, none
for finished ones; the parts a stopped submission left are sent; a refresh another session of
the server began moments ago is shared), unless a widget of the page started it: filtering or
picking a job only redraws. When the pace the fresh statuses call for differs from the
timer's, the fragment asks for a whole-page run, which sets the timer again (or stops it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import streamlit as st

from batchdash.i18n import _, n_
from batchdash.jobs.board import JobBoard, refresh_interval
from batchdash.jobs.status import JobStatus
from ui import deadline_guard, direct_views, job_actions, job_views, state
from ui.job_access import attempt, fetch_progress
from ui.language import apply_language
from ui.notify_settings import deliver_waiting
from ui.vllm_round_trip import show_vllm_round_trip


def planned_interval(board: JobBoard) -> float | None:
    """Seconds between automatic refreshes for the next whole-page run; None for no timer."""
    return _pace(board.statuses(include_archived=True), board)


def _pace(statuses: Sequence[JobStatus], board: JobBoard) -> float | None:
    if st.session_state[state.JOBS_DIALOG] is not None:
        return None  # the dialog works on the statuses it opened with
    return refresh_interval(statuses, now=time.time(), terminal=board.terminal)


def _latest(board: JobBoard) -> list[JobStatus]:
    """Every job's status, after asking the API unless a widget of the page started this run
    (a refresh with nothing running makes no call: it costs what reading the statuses does)."""
    quiet = st.session_state[state.JOBS_QUIET_RUN]
    st.session_state[state.JOBS_QUIET_RUN] = False
    # A quiet run draws the fetch's placeholders too: the browser draws anew a box whose place
    # changed since the last run, and the import form in it would forget a file it is still
    # uploading (picking one in place of another starts a run before the new file arrives).
    with fetch_progress():
        refreshed = None if quiet else attempt(board.refresh)
    if refreshed is None:
        return board.statuses(include_archived=True)
    if refreshed:
        st.session_state[state.JOBS_CHECKED_AT] = time.time()
    deliver_waiting(board.service.registry)
    resumed = direct_views.resume_stopped(board, refreshed)
    if resumed:  # said at the top of the page, whose timer now paces a running job
        job_actions.tell(resumed[0])
        st.session_state[state.JOBS_QUIET_RUN] = True
        st.rerun()
    return refreshed


def live_jobs(board: JobBoard, planned: float | None, sandbox_kept: int = 0) -> None:
    """The jobs table and the opened job, fresh from the API (the fragment's body);
    `sandbox_kept` Sandbox jobs are set aside while a key is in use."""
    # The timer reruns only this fragment, maybe in a new script thread, where the entry
    # script has not set the session's language.
    apply_language()
    statuses = _latest(board)
    interval = _pace(statuses, board)
    if interval != planned:
        st.session_state[state.JOBS_QUIET_RUN] = True
        st.rerun()
    now = time.time()
    terminal = board.terminal
    with st.container(horizontal=True, vertical_alignment="bottom"):
        job_views.jobs_toolbar(statuses, terminal)
        st.button(_("Refresh now"), key="refresh_now", icon=":material/refresh:")
        st.button(
            _("Attach a batch…"),
            key="attach_batch",
            icon=":material/add_link:",
            on_click=job_actions.ask,
            args=("attach",),
        )
    _show_pace(interval, statuses)
    frame = job_views.shown_jobs(statuses, now=now, terminal=terminal)
    if not statuses:
        if sandbox_kept:
            st.info(
                _(
                    "No job yet with this API key: submit one from New job, or attach a batch "
                    "made elsewhere."
                )
                + " "
                + _kept_words(sandbox_kept)
            )
        else:
            st.info(
                _("No job yet: submit one from New job, or attach a batch made elsewhere."),
                icon=":material/info:",
            )
        return
    if frame.empty:
        st.info(
            job_views.nothing_shown(statuses, now=now, terminal=terminal),
            icon=":material/search_off:",
        )
        return
    job_views.show_jobs_table(frame)
    shown = set(frame["job_id"])
    opened = job_views.job_picker(
        _("Open a job"),
        [status for status in statuses if status.job_id in shown],
        state.JOBS_PICKER,
        redraw_only=True,
    )
    # Keyed, so the browser keeps the box (and a file its import form is still uploading)
    # when a run draws more or fewer elements above it: it places a box without a key by its
    # position, and a box it places anew starts empty.
    with st.container(border=True, key="opened_job"):
        job_views.show_job_header(opened, terminal)
        direct_views.show_direct_run(board, opened)
        deadline_guard.offer(opened, now, lambda: job_actions.ask("finish", opened.job_id))
        if opened.direct is None or opened.unsent:
            job_actions.unsent_parts(board, opened)
        job_actions.action_buttons(board, opened)
        show_vllm_round_trip(board, opened)
        job_views.show_job_batches(opened, now=now, terminal=terminal)


def _kept_words(count: int) -> str:
    """Where the Sandbox jobs went when a key is in use: they are filed apart, not lost."""
    return n_(
        "Your Sandbox job is kept: it shows here again when you remove the key in Settings.",
        "Your {n:,} Sandbox jobs are kept: they show here again when you remove the key in "
        "Settings.",
        count,
    )


def _show_pace(interval: float | None, statuses: Sequence[JobStatus]) -> None:
    checked = st.session_state[state.JOBS_CHECKED_AT]
    when = _("Last checked at {time}.", time=job_views.clock(checked)) + " " if checked else ""
    if st.session_state[state.JOBS_DIALOG] is not None:
        pace = _("Refreshing is paused while a dialog is open.")
    elif interval is None:
        pace = _("Nothing is running, so the page does not refresh by itself.")
    elif any(status.direct is not None and status.direct.state == "running" for status in statuses):
        pace = _("Refreshing every {seconds:g} s while a direct run sends rows.", seconds=interval)
    else:
        pace = _("Refreshing every {seconds:g} s while batches run.", seconds=interval)
    st.caption(when + pace)
