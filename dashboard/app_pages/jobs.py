"""Jobs: every job of this connection, refreshed while batches run."""

import streamlit as st

st.header("Jobs")
st.caption("Your batch jobs appear here once submitted from New job.")
