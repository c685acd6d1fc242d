"""Which character separates the cells of a text table, and where its records start.

Excel writes commas, or semicolons where the comma is the decimal mark; its "Unicode text" and
copied cells use tabs; some exports use pipes. Quoted cells may hold any of these and line breaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from batchdash.errors import InputError
from batchdash.i18n import _l

#: Candidates in the order that breaks a tie: a tab is rarely part of a cell's text.
CANDIDATES = ("\t", ",", ";", "|")
_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
#: The delimiters an analyst can pick instead of detection, with their names.
OFFERED_DELIMITERS = {",": "Comma", ";": "Semicolon", "\t": "Tab", "|": "Pipe"}
#: Records the sniffer looks at.
_SNIFF_RECORDS = 50
#: Excel's own hint on the first line, e.g. `sep=;`.
_SEP_LINE = re.compile(r'"?sep=(.)"?')


class Record(NamedTuple):
    """One record of a delimited text, as the CSV rules split it."""

    line: int
    """1-based physical line where the record starts."""
    cells: int
    """Number of cells."""
    open_quote_line: int | None
    """Line of a quoted cell that the text never closes (only on the last record)."""


def delimiter_option(value: str) -> str:
    """The delimiter an analyst chose: one character, or a name such as 'tab' or 'semicolon'."""
    chosen = _NAMES.get(value.strip().lower(), value)
    if len(chosen) != 1 or chosen in '"\r\n' or chosen.isalnum():
        raise InputError(
            _l(
                "'{value}' cannot separate cells. Choose one character such as , ; | or tab.",
                value=value,
            )
        )
    return chosen


def sep_line(line: str) -> str | None:
    """The delimiter an Excel hint line such as `sep=;` names, or None for any other line."""
    found = _SEP_LINE.fullmatch(line.strip(" \r\n"))
    return found.group(1) if found else None


def sniff_delimiter(sample: str) -> str | None:
    """The candidate that splits the header into the most consistent cells; None for one column.

    The header (first non-blank record) must contain the delimiter; the winner is the candidate
    whose count in the following records most often equals the header's count.
    """
    counts = _candidate_counts(sample)
    if not counts:
        return None
    header, rows = counts[0], counts[1:]
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for rank, candidate in enumerate(CANDIDATES):
        expected = header[candidate]
        if expected == 0:
            continue
        agreeing = sum(1 for row in rows if row[candidate] == expected)
        key = (agreeing / len(rows) if rows else 1.0, -rank)
        if best is None or key > best:
            best, chosen = key, candidate
    return chosen


def _candidate_counts(sample: str) -> list[dict[str, int]]:
    """Per non-blank record, how often each candidate occurs outside quotes.

    A quote opens a quoted cell at the start of a line or right after any candidate. The last
    record is left out when the sample ends inside it.
    """
    records: list[dict[str, int]] = []
    current = dict.fromkeys(CANDIDATES, 0)
    blank = True
    in_quote = False
    previous = "\n"
    index = 0
    length = len(sample)
    while index < length and len(records) < _SNIFF_RECORDS:
        char = sample[index]
        index += 1
        if in_quote:
            if char == '"':
                if index < length and sample[index] == '"':
                    index += 1
                else:
                    in_quote = False
            previous = char
            continue
        if char in "\r\n":
            if not blank:
                records.append(current)
            current, blank = dict.fromkeys(CANDIDATES, 0), True
        elif char in current:
            current[char] += 1
        elif char == '"' and previous in "\r\n\t,;|":
            in_quote = True
            blank = False
        elif not char.isspace():
            blank = False
        previous = char
    return records


def scan_records(text: str, delimiter: str) -> Iterator[Record]:
    """Every record of `text` under the CSV rules, with the line it starts on.

    A quote opens a quoted cell only at the start of a cell; inside it, `""` is a literal quote.
    Blank lines are records too, as the parsers count them.
    """
    special = re.compile("[" + re.escape(delimiter + '"\r\n') + "]")
    line = start_line = 1
    cells = 1
    in_quote = False
    quote_line = 0
    cell_start = 0  # where the current cell begins
    skip_to = 0  # the second character of a `""` or `\r\n` pair is already handled
    for found in special.finditer(text):
        at = found.start()
        if at < skip_to:
            continue
        char = found.group()
        if in_quote:
            if char == '"':
                if text.startswith('"', at + 1):
                    skip_to = at + 2
                else:
                    in_quote = False
            elif char == "\n" or (char == "\r" and not text.startswith("\n", at + 1)):
                line += 1
            continue
        if char == '"':
            if at == cell_start:
                in_quote, quote_line = True, line
        elif char == delimiter:
            cells += 1
            cell_start = at + 1
        else:
            end = at + 2 if text.startswith("\r\n", at) else at + 1
            skip_to = cell_start = end
            yield Record(start_line, cells, None)
            line += 1
            start_line, cells = line, 1
    if in_quote:
        yield Record(start_line, cells, quote_line)
    elif cell_start < len(text):
        yield Record(start_line, cells, None)


def record_line(text: str, delimiter: str, index: int) -> int:
    """1-based physical line where the record with 0-based `index` starts."""
    last = 1
    for number, record in enumerate(scan_records(text, delimiter)):
        last = record.line
        if number == index:
            break
    return last


def unclosed_quote_line(text: str, delimiter: str) -> int | None:
    """Line of a quoted cell that `text` opens and never closes, or None."""
    last: Record | None = None
    for last in scan_records(text, delimiter):  # noqa: B007 - only the last record matters
        pass
    return last.open_quote_line if last is not None else None
