"""The analyst's spreadsheet, read into a table of text cells.

`read_table` takes the bytes of an upload (CSV, TSV, TXT or XLSX) and `read_pasted` the text of
rows copied from Excel or Google Sheets. Every cell is text ("007" stays "007", an empty cell is
""), blank rows are dropped and counted, and every problem is an InputError with one sentence
that names it and the fix.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import Message, _l
from batchdash.inputs.file_kinds import file_kind
from batchdash.inputs.hidden_characters import hidden_character_notes
from batchdash.inputs.table_shape import shape_table
from batchdash.inputs.text_tables import read_delimited

#: Name of the single column of pasted lines that have no header.
PASTED_COLUMN = "prompt"
#: A first pasted line equal to one of these (any case) is a header.
_HEADER_WORDS = frozenset(
    {"prompt", "prompts", "text", "texts", "question", "questions", "input", "inputs"}
    | {"message", "messages", "query", "queries", "content", "task", "tasks"}
)
_SENTENCE_END = tuple(".?!:;。？！：；")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PASTED = "pasted rows"


@dataclass(frozen=True, eq=False)
class Table:
    """A spreadsheet read into text cells, with what the analyst should know about the reading.

    (Not comparable with ==: a DataFrame has no single truth value.)
    """

    frame: pd.DataFrame
    """Every cell as text ("" when empty), columns in the file's order, index 0..n-1."""
    source_name: str
    """The file's name as uploaded, or 'pasted rows'."""
    encoding: str | None
    """Codec a text file was decoded with (e.g. 'utf-8', 'gb18030'); None for XLSX and paste."""
    delimiter: str | None
    """Cell separator of text; None for XLSX and for text with a single column."""
    sheet: str | None
    """Worksheet read from a workbook; None for text."""
    sheets: tuple[str, ...]
    """Every worksheet of the workbook, in order; empty for text."""
    blank_rows_dropped: int
    """Rows left out because every cell was empty or whitespace."""
    sentences: tuple[str | Message, ...]
    """Plain sentences about anything worth checking (encoding guess, formulas, merges...),
    worded when shown."""

    @property
    def notes(self) -> tuple[str, ...]:
        """The sentences in the language in use now: a table read (and cached) in one language
        shows its notes in the language of the moment they are shown."""
        return tuple(str(sentence) for sentence in self.sentences)


def read_table(
    data: bytes,
    filename: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    while_parsing: Callable[[], object] | None = None,
) -> Table:
    """Read an uploaded CSV, TSV, TXT or XLSX file.

    The content decides the kind (a workbook renamed .csv is still read as a workbook).
    `encoding` and `delimiter` override detection for text; `sheet` picks a worksheet
    (default: the first visible one). `while_parsing` is work of the caller's that a thread
    does while the Rust reader parses a worksheet without holding the GIL (nothing else
    runs it). Raises InputError for anything that cannot be read.
    """
    source_name = PurePath(filename).name or filename
    kind = file_kind(data, source_name)
    if kind.kind == "xlsx":
        # openpyxl (8 MB once imported) is loaded by the first workbook, not by every reader.
        from batchdash.inputs.workbooks import read_workbook

        book = read_workbook(data, source_name, sheet=sheet, while_parsing=while_parsing)
        shaped = shape_table(book.raw, source_name, header_hints=book.header_hints)
        return Table(
            frame=shaped.frame,
            source_name=source_name,
            encoding=None,
            delimiter=None,
            sheet=book.sheet,
            sheets=book.sheets,
            blank_rows_dropped=shaped.blank_rows_dropped,
            sentences=kind.notes + book.notes + shaped.notes + hidden_character_notes(shaped.frame),
        )
    try:
        text = read_delimited(data, source_name, encoding=encoding, delimiter=delimiter)
    except UnicodeDecodeError as error:
        # Detection or the analyst chose an encoding the bytes break off in (e.g. a UTF-16
        # file cut short by an odd byte): name it rather than fail inside the parser.
        raise InputError(
            _l(
                "'{source_name}' is not valid {encoding} text (it may be cut short). Choose another "
                "encoding, or save the spreadsheet again as CSV UTF-8 and upload that file.",
                source_name=source_name,
                encoding=error.encoding,
            )
        ) from None
    shaped = shape_table(text.raw, source_name)
    return Table(
        frame=shaped.frame,
        source_name=source_name,
        encoding=text.encoding,
        delimiter=text.delimiter,
        sheet=None,
        sheets=(),
        blank_rows_dropped=shaped.blank_rows_dropped + text.blank_lines_skipped,
        sentences=kind.notes + text.notes + shaped.notes + hidden_character_notes(shaped.frame),
    )


def read_pasted(text: str) -> Table:
    """Read rows pasted from Excel or Google Sheets.

    Text with tabs is a table: cells separated by tabs, the first row the header, cells with
    line breaks in quotes (as both programs copy them). Text without tabs is one column of
    lines, each line one row, quotes kept as typed; its first line is the header only when it
    looks like one: it is a usual column name (prompt, text, question, input...), or it is a
    short name (at most 40 characters and 4 words, no sentence punctuation at the end) above
    lines that are typically at least twice as long. Otherwise the column is named 'prompt'.
    A note says which choice was made, so a wrong guess is easy to spot.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError(
            _l(
                "Nothing was pasted. Copy the rows in your spreadsheet, header row included, and "
                "paste them here."
            )
        )
    if "\t" in text:
        grid = read_delimited(text.encode("utf-8"), _PASTED, encoding="utf-8", delimiter="\t")
        shaped = shape_table(grid.raw, _PASTED)
        blank_rows, delimiter = shaped.blank_rows_dropped + grid.blank_lines_skipped, "\t"
        frame, notes = shaped.frame, shaped.notes
    else:
        lines = _LINE_BREAK.split(text.rstrip("\r\n"))
        kept = [line for line in lines if line.strip()]
        blank_rows, delimiter = len(lines) - len(kept), None
        first = kept[0].strip()
        if _looks_like_header(first, kept[1:]):
            name, rows = first, kept[1:]
            notes = (
                _l("Batchdash took the first line, '{first}', as the column name.", first=first),
            )
        else:
            name, rows = PASTED_COLUMN, kept
            notes = (
                _l(
                    "The pasted lines have no header, so Batchdash named the column '{column}'.",
                    column=PASTED_COLUMN,
                ),
            )
        if not rows:
            raise InputError(
                _l("The pasted text has a header line but no rows under it. Paste the rows too.")
            )
        frame = pd.DataFrame({name: pd.Series(rows, dtype=str)})
    return Table(
        frame=frame,
        source_name=_PASTED,
        encoding=None,
        delimiter=delimiter,
        sheet=None,
        sheets=(),
        blank_rows_dropped=blank_rows,
        sentences=notes + hidden_character_notes(frame),
    )


def read_typed(edited: pd.DataFrame, source_name: str) -> Table:
    """A table typed into the page: every cell text, empty rows left out and counted, and the
    same notes as any other source (hidden characters). InputError when no row holds text."""
    frame = edited.astype(object).where(edited.notna(), "").astype(str)
    filled = (frame.apply(lambda column: column.str.strip()) != "").any(axis=1)
    frame = frame[filled].reset_index(drop=True)
    if frame.empty:
        raise InputError(_l("Type at least one prompt into the table."))
    return Table(
        frame=frame,
        source_name=source_name,
        encoding=None,
        delimiter=None,
        sheet=None,
        sheets=(),
        blank_rows_dropped=int((~filled).sum()),
        sentences=hidden_character_notes(frame),
    )


def _looks_like_header(first: str, rest: list[str]) -> bool:
    if first.lower() in _HEADER_WORDS:
        return True
    if not rest or len(first) > 40 or len(first.split()) > 4 or first.endswith(_SENTENCE_END):
        return False
    return statistics.median(len(line.strip()) for line in rest) >= 2 * len(first)
