"""Results: the answers merged back into the rows, with downloads."""

import streamlit as st

st.header("Results")
st.caption("Pick a finished job to see its answers and download them.")
