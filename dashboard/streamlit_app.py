"""Batchdash: run a spreadsheet of prompts through the OpenAI Batch API."""

import streamlit as st

from batchdash.i18n import _
from ui import state
from ui.connection import current_connection
from ui.counting import release_count
from ui.language import apply_language, show_language_picker
from ui.sidebar import show_connection
from ui.sign_in import require_sign_in

# An emoji, not a Material icon: for a Material page icon the browser fetches the favicon from
# Google's font servers, a request leaving the analyst's network (the emoji costs Streamlit
# 60-80 ms to load its emoji catalogue once per process).
st.set_page_config(page_title="Batchdash", page_icon="📊", layout="wide")
state.init_state()
language = apply_language()
# With [auth] in secrets.toml nothing below runs (no page, no sidebar) until the user signs in.
require_sign_in()

new_job = st.Page(
    "app_pages/new_job.py",
    title=_("New job"),
    icon=":material/add_circle:",
    default=True,
    help=_(
        "Upload or compose a table of prompts, write the template, check tokens and "
        "cost, try a few rows, and submit it as a batch job."
    ),
)
jobs = st.Page(
    "app_pages/jobs.py",
    title=_("Jobs"),
    icon=":material/list_alt:",
    help=_(
        "Your jobs and their batches, refreshed while they run: cancel, repair failed rows, "
        "attach a batch made elsewhere."
    ),
)
page = st.navigation(
    [
        new_job,
        jobs,
        st.Page(
            "app_pages/results.py",
            title=_("Results"),
            icon=":material/download:",
            help=_(
                "Answers merged back into your rows, with status breakdown and downloads as "
                "CSV, XLSX, raw JSONL and a run manifest."
            ),
        ),
        st.Page(
            "app_pages/settings.py",
            title=_("Settings"),
            icon=":material/settings:",
            help=_(
                "API key and endpoint, connection test, enqueued-token limits, price "
                "overrides, and where Batchdash keeps its data."
            ),
        ),
    ]
)
show_language_picker(language)
if page is not new_job:
    # A count of New job's rows nobody looks at any more gives its core back.
    release_count()
if page is not jobs:
    # What an action on Jobs did is said there, and not again after a visit elsewhere.
    st.session_state[state.JOBS_NOTICE] = None
show_connection(current_connection())
page.run()
