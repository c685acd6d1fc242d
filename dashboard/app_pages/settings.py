"""Settings: API key and endpoint, limits, prices, data location."""

import streamlit as st

st.header("Settings")
