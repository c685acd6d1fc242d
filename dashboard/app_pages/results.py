"""Results: the answers merged back into the rows, with the breakdown and the downloads."""

import streamlit as st

from batchdash.display.status_words import KEEPING_HELP
from batchdash.i18n import _
from ui import results_views, state
from ui.connection import current_connection
from ui.job_access import attempt, fetch_progress, job_board
from ui.job_views import job_picker
from ui.resources import app_settings

st.header(_("Results"))
connection = current_connection()
board = job_board(connection)
statuses = board.statuses(include_archived=True)
if not statuses:
    st.info(_("No job yet: submit one from New job, then come back here."), icon=":material/info:")
    st.page_link("app_pages/new_job.py", label=_("New job"), icon=":material/add_circle:")
    st.stop()

status = job_picker(_("Job"), statuses, state.RESULTS_PICKER)
running_note = st.container()
if status.state == "active" and st.button(
    _("Check for new results"), key="results_refresh", icon=":material/refresh:"
):
    with fetch_progress():
        refreshed = attempt(lambda: board.service.refresh(status.job_id))
    status = refreshed or status
if status.state == "active":
    running_note.info(
        _(
            "This job is still running: the table holds the rows answered by the batches that "
            "have finished; the others show as not run until theirs finishes."
        ),
        icon=":material/hourglass_top:",
    )
st.caption(str(KEEPING_HELP))

merged = results_views.merged_table(board, status, app_settings().db_url)
results_views.show_figures(status, merged, sandbox=connection.sandbox)
results_views.show_breakdown(status)
results_views.show_downloads(board, status, app_settings().db_url)
results_views.show_table(merged)
