"""Jobs: every job of this connection, refreshed while batches run, and its actions."""

import streamlit as st

from batchdash.i18n import _
from ui import job_actions, live_jobs, state
from ui.connection import current_connection, sandbox_jobs_kept
from ui.job_access import job_board
from ui.job_views import quiet, show_status_help
from ui.remote_batches import VIEW_JOBS, VIEW_REMOTE, show_remote_batches, view_label
from ui.watcher_note import show_watcher_note

st.header(_("Jobs"))
connection = current_connection()
board = job_board(connection)

job_actions.show_notice()
view = st.segmented_control(
    _("Show"),
    [VIEW_JOBS, VIEW_REMOTE],
    format_func=view_label,
    default=VIEW_JOBS,
    required=True,
    key=state.JOBS_VIEW,
    on_change=quiet,
    persist_state="session",
    label_visibility="collapsed",
)
if view == VIEW_REMOTE:
    show_remote_batches(board, sandbox=connection.sandbox)
else:
    show_status_help(connection.provider)
    show_watcher_note(connection)
    planned = live_jobs.planned_interval(board)
    kept = sandbox_jobs_kept(connection)
    st.fragment(run_every=planned)(live_jobs.live_jobs)(board, planned, kept)

job_actions.show_dialog(board)
