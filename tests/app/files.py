"""Spreadsheets the page tests upload: good ones, and each bad input of the core issue."""

from __future__ import annotations

import io

import openpyxl

#: A small table of reviews: an ID column with leading zeros, a text column, a language.
REVIEWS_CSV = (
    "id,text,lang\n"
    "001,Arrived quickly and works well,en\n"
    "002,Broke after two days,en\n"
    "003,Très bon rapport qualité-prix,fr\n"
    "004,Ganz okay,de\n"
).encode()


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """A comma-separated file (cells must not need quoting)."""
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def many_rows_csv(rows: int, width: int = 40) -> bytes:
    """`rows` rows of a `prompt` column, each prompt about `width` characters long."""
    filler = "x" * max(0, width - 20)
    body = "".join(f"Question number {n:07d} {filler}\n" for n in range(rows))
    return b"prompt\n" + body.encode()


def workbook_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """An XLSX file with one worksheet per entry, rows as given (strings starting '=' are formulas)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def formulas_and_merges_xlsx() -> bytes:
    """A workbook with formulas (never calculated, so no saved result) and merged cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Prompts"
    sheet.append(["prompt", "n"])
    sheet.append(["Summarise the first text", 1])
    sheet.append(['=A2&" again"', "=B2+1"])
    sheet.append(["Merged across both columns", None])
    sheet.merge_cells("A4:B4")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: Each bad input of the core issue, as uploaded: (file name, bytes, words the message holds).
BAD_UPLOADS: dict[str, tuple[str, bytes, str]] = {
    "empty file": ("empty.csv", b"", "is empty"),
    "header only": ("header.csv", b"prompt,id\n", "no rows of data"),
    "binary named .csv": ("photo.csv", bytes(range(256)) * 40, "binary"),
    "mismatched quotes": (
        "quotes.csv",
        b'prompt,id\n"Summarise this,1\nAnd this,2\n',
        "never closes",
    ),
    "unknown encoding": (
        "legacy.csv",
        b"prompt\n\xff\xfe\xfa\xfb\x80\x81\x90\x9d\n",
        "encoding",
    ),
}
