"""The Streamlit face of Batchdash: session-state keys, shared widgets and cached resources.

Only this package, the entry script and the page scripts import streamlit.
"""
