"""What the pages show, made without Streamlit: the jobs table, status words, the results page."""
