"""Batchdash: run a spreadsheet of prompts through the OpenAI Batch API."""

import streamlit as st

st.set_page_config(page_title="Batchdash", page_icon=":material/table_view:", layout="wide")
st.title("Batchdash")
st.info(
    "The pages of Batchdash are being built. Meanwhile the command line works: "
    "`python dashboard/cli.py --help`.",
    icon=":material/construction:",
)
