"""New job: source table, recipe, preflight, try, submit."""

import streamlit as st

st.header("New job")
