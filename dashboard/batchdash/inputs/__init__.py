"""Reading the analyst's files: kinds, encodings, delimiters, text tables, workbooks, shape."""
