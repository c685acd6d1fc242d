"""Batchdash: run a spreadsheet of prompts through the OpenAI Batch API."""

import streamlit as st

from ui import state
from ui.connection import current_connection
from ui.sidebar import show_connection
from ui.sign_in import require_sign_in

st.set_page_config(page_title="Batchdash", page_icon="📊", layout="wide")
state.init_state()
# With [auth] in secrets.toml nothing below runs (no page, no sidebar) until the user signs in.
require_sign_in()

page = st.navigation(
    [
        st.Page(
            "app_pages/new_job.py",
            title="New job",
            icon=":material/add_circle:",
            default=True,
            help="Upload or compose a table of prompts, write the template, check tokens and "
            "cost, try a few rows, and submit it as a batch job.",
        ),
        st.Page(
            "app_pages/jobs.py",
            title="Jobs",
            icon=":material/list_alt:",
            help="Your jobs and their batches, refreshed while they run: cancel, repair failed "
            "rows, attach a batch made elsewhere.",
        ),
        st.Page(
            "app_pages/results.py",
            title="Results",
            icon=":material/download:",
            help="Answers merged back into your rows, with status breakdown and downloads as "
            "CSV, XLSX, raw JSONL and a run manifest.",
        ),
        st.Page(
            "app_pages/settings.py",
            title="Settings",
            icon=":material/settings:",
            help="API key and endpoint, connection test, enqueued-token limits, price "
            "overrides, and where Batchdash keeps its data.",
        ),
    ]
)
show_connection(current_connection())
page.run()
