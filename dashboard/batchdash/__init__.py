"""Batchdash core: spreadsheets to OpenAI Batch API requests and back. Never imports streamlit."""
