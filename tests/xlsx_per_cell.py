"""The XLSX export as Batchdash first wrote it, one xlsxwriter call per cell, and a reader.

`per_cell_xlsx_bytes` is the reference the direct writer (batchdash/results/xlsx_writer.py) must match
cell for cell in the tests, and the baseline it is timed against in bench/bench_export.py.
`sheet_cells` reads a workbook back with openpyxl, as a spreadsheet user would see it.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import xlsxwriter


def per_cell_xlsx_bytes(merged: pd.DataFrame) -> bytes:
    """A "Results" sheet: bold frozen header with a filter; write_string or write_number a cell."""
    buffer = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    with xlsxwriter.Workbook(buffer, options) as workbook:
        sheet = workbook.add_worksheet("Results")
        bold = workbook.add_format({"bold": True})
        for col, name in enumerate(merged.columns):
            sheet.write_string(0, col, str(name), bold)
        for col in range(merged.shape[1]):
            column = merged.iloc[:, col]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                for row, number in enumerate(column.to_numpy(dtype=float, na_value=np.nan)):
                    if not math.isnan(number):
                        sheet.write_number(row + 1, col, number)
            else:
                texts = column.astype(object).where(column.notna(), "").astype(str).tolist()
                for row, value in enumerate(texts):
                    if value:
                        sheet.write_string(row + 1, col, value)
        sheet.freeze_panes(1, 0)
        if len(merged.columns):
            sheet.autofilter(0, 0, len(merged), len(merged.columns) - 1)
    return buffer.getvalue()


def sheet_cells(data: bytes) -> dict[str, Any]:
    """What openpyxl reads: sheet names, the view, the filter and every cell's value and type."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=False)
    sheet = book.worksheets[0]
    return {
        "sheets": book.sheetnames,
        "freeze_panes": sheet.freeze_panes,
        "filter": sheet.auto_filter.ref,
        "dimensions": sheet.dimensions,
        "bold": [cell.font.b for cell in next(sheet.iter_rows(max_row=1), ())],
        "cells": [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()],
    }
