"""One fast pass over a worksheet's XML: its extent, and what a cell reader does not report.

The Rust reader (python-calamine) fills out a grid from the first to the last cell holding a
value before handing anything over, so a value in a far corner (XFD100000) of a small sheet
would take gigabytes there; it also reads error cells (#N/A) as empty and knows no number
formats. This pass finds, with regular expressions over the XML a few megabytes at a time: how
far the rows and the cells holding values reach, formula cells (and which have no saved
result), merged ranges, error cells and cells whose number format changes their text (0.0%,
000). Sheets written as spreadsheet programs write them (every row and cell carrying its
position as `r="..."`, no namespace prefixes) are `regular`; any other is read the slow way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO
from xml.etree import ElementTree

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_MAIN = "{" + _MAIN_NS + "}"
#: Decompressed bytes handled at a time; the XML is never held whole.
_CHUNK_BYTES = 8 << 20
#: What breaks the pattern the expressions below rely on; each starts with a literal, which
#: the regular expression engine finds fast (an alternation led by "<" would stop at every tag).
_IRREGULAR = (
    # A cell or row without r="..." first, or with a reference of another form (leading
    # zeros too: the largest reference is found by comparing digits as text).
    re.compile(rb"<c(?: (?!r=\"[A-Z]{1,3}[1-9][0-9]{0,6}\")|[>/\t\r\n])"),
    re.compile(rb"<row(?: (?!r=\"[0-9]{1,7}\")|[>/\t\r\n])"),
    # The main namespace bound to a prefix: cells could be written <x:c ...>.
    re.compile(rb"xmlns:[\w.-]+\s*=\s*[\"']http://schemas\.openxmlformats\.org/spreadsheetml"),
)
#: Column letters and row digits of every cell, formatted blanks included: the Rust reader
#: places each cell by its reference. Two lists of bytes are cheaper than one of pairs.
_CELL_COLUMN = re.compile(rb"<c r=\"([A-Z]{1,3})[0-9]")
_CELL_ROW = re.compile(rb"<c r=\"[A-Z]{1,3}([0-9]{1,7})\"")
#: A cell holding something: a value, a formula or an inline string (not a formatted blank).
_VALUED = re.compile(rb"<c r=\"([A-Z]{1,3})([0-9]{1,7})\"[^>]*(?<!/)>\s*<(?:v|f|is)[\s>/]")
_LAST_ROW = re.compile(rb"<row r=\"([0-9]{1,7})\"")
_FORMULA = re.compile(rb"<f[\s>/]")
_ERROR_CELL = re.compile(
    rb"<c r=\"([A-Z]{1,3})([0-9]{1,7})\"[^>]*?\st=\"e\"[^>]*>(.*?)</c>", re.DOTALL
)
_VALUE = re.compile(rb"<v(?:\s[^>]*)?>(.*?)</v>", re.DOTALL)
_NEGATIVE = re.compile(rb"<c r=\"([A-Z]{1,3})([0-9]{1,7})\"[^>]*(?<!/)>\s*<v>\s*-")
_MERGE = re.compile(rb"<mergeCell\s[^>]*?ref=\"([^\"]*)\"")


@dataclass
class SheetScan:
    """What one pass over a worksheet's XML found."""

    regular: bool = True
    """Whether the fast reader may read the sheet (see the module docstring)."""
    rows: int = 0
    """Number of the last row any row element or valued cell names (1-based)."""
    columns: int = 0
    """Number of the last column with a cell (1-based), formatted blanks included; see
    `valued_columns` for the last holding a value."""
    formulas: list[str] = field(default_factory=list)
    """Coordinates of formula cells."""
    unsaved: list[str] = field(default_factory=list)
    """Coordinates of formula cells without a saved result."""
    merged: list[str] = field(default_factory=list)
    """Merged ranges such as 'A2:A4'."""
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    """(row, column, text) of error cells such as #N/A, 0-based."""
    styled: list[tuple[int, int, int]] = field(default_factory=list)
    """(row, column, style index) of cells with a style in the set asked for, 0-based."""
    negative: list[tuple[int, int]] = field(default_factory=list)
    """(row, column) of cells holding a negative number, 0-based: as a date, calamine reads
    one as a time of day where openpyxl counts days back from 1900."""


def _unescape(text: str) -> str:
    # What XML escapes in text; xml.sax.saxutils does the same but costs 35 ms to import.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def column_number(letters: bytes | str) -> int:
    """1-based number of a column such as b'A' (1) or 'XFD' (16384)."""
    number = 0
    for letter in letters if isinstance(letters, bytes) else letters.encode():
        number = number * 26 + letter - 64
    return number


def scan_sheet(stream: IO[bytes], styles: Collection[int] = ()) -> SheetScan:
    """Scan the worksheet XML in `stream`; `styles` are the style indexes worth reporting."""
    scan = SheetScan()
    styled = (
        re.compile(
            rb"<c r=\"([A-Z]{1,3})([0-9]{1,7})\"[^>]*?\ss=\"("
            + b"|".join(str(index).encode() for index in sorted(styles))
            + rb")\""
        )
        if styles
        else None
    )
    # Closed on leaving, so no read is under way once the caller closes the stream.
    with closing(_pieces(stream)) as pieces:
        for piece in pieces:
            _scan_piece(piece, scan, styled)
            if not scan.regular:
                break
    return scan


def valued_columns(stream: IO[bytes]) -> int:
    """Number of the last column holding a value, formula or inline string (1-based): a
    second, slower pass, for sheets whose formatted blanks reach too far."""
    columns = 0
    for piece in _pieces(stream):
        letters = [letters for letters, _row in _VALUED.findall(piece)]
        if letters:
            columns = max(columns, column_number(_largest(letters)))
    return columns


def _pieces(stream: IO[bytes]) -> Generator[bytes, None, None]:
    """The XML a few megabytes at a time, each piece ending after a row."""
    carry = b""
    for chunk in _read_ahead(stream):
        carry += chunk
        cut = carry.rfind(b"</row>")
        if cut >= 0:  # else a row longer than a chunk: read on
            yield carry[: cut + 6]
            carry = carry[cut + 6 :]
    yield carry


def _read_ahead(stream: IO[bytes]) -> Generator[bytes, None, None]:
    """`stream` _CHUNK_BYTES at a time, the next chunk inflated in a thread while the caller
    searches this one: zlib lets go of the GIL, the regular expressions do not."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sheet-inflate") as reader:
        ahead = reader.submit(stream.read, _CHUNK_BYTES)
        while chunk := ahead.result():
            ahead = reader.submit(stream.read, _CHUNK_BYTES)
            yield chunk


def _scan_piece(piece: bytes, scan: SheetScan, styled: re.Pattern[bytes] | None) -> None:
    # Every cell and row carries r="..." first, as spreadsheet programs write them.
    if any(pattern.search(piece) for pattern in _IRREGULAR):
        scan.regular = False
        return
    last_row = piece.rfind(b'<row r="')
    if last_row >= 0:
        found = _LAST_ROW.match(piece, last_row)
        if found:
            scan.rows = max(scan.rows, int(found.group(1)))
    if not scan.columns:  # the first row's cells set the bounds the search below goes by
        _cells_extent(piece[: piece.find(b"</row>") + 6], scan)
    # One search for a cell past the last column found so far or below the last row element:
    # in a sheet as programs write it there is none, and no list of every reference is made.
    if _beyond(scan.columns, scan.rows).search(piece):
        _cells_extent(piece, scan)
    if _FORMULA.search(piece):
        _formulas(piece, scan)
    if b't="e"' in piece:
        for letters, row, body in _ERROR_CELL.findall(piece):
            value = _VALUE.search(body)
            text = _unescape(value.group(1).decode("utf-8", "replace")) if value else ""
            scan.errors.append((int(row) - 1, column_number(letters) - 1, text))
    if styled is not None:
        for letters, row, index in styled.findall(piece):
            scan.styled.append((int(row) - 1, column_number(letters) - 1, int(index)))
    if b"<v>-" in piece:
        for letters, row in _NEGATIVE.findall(piece):
            scan.negative.append((int(row) - 1, column_number(letters) - 1))
    if b"<mergeCell" in piece:
        scan.merged += [ref.decode("utf-8", "replace") for ref in _MERGE.findall(piece)]


def _cells_extent(piece: bytes, scan: SheetScan) -> None:
    """Widen `scan` to the last column and row any cell in `piece` names."""
    letters = _CELL_COLUMN.findall(piece)
    if letters:
        scan.columns = max(scan.columns, column_number(_largest(letters)))
        scan.rows = max(scan.rows, int(_largest(_CELL_ROW.findall(piece))))


@lru_cache(maxsize=64)
def _beyond(columns: int, rows: int) -> re.Pattern[bytes]:
    """A cell reference past column number `columns` or row `rows` (as _CELL_COLUMN and
    _CELL_ROW read them: at most three letters and seven digits)."""
    past_column = _greater(column_letters(columns), "A", "Z", 3) if columns else "[A-Z]{1,3}"
    past_row = _greater(str(rows), "0", "9", 7)
    return re.compile(f'<c r="(?:{past_column}[0-9]|[A-Z]{{1,3}}{past_row}")'.encode())


def _greater(text: str, low: str, high: str, longest: int) -> str:
    """A pattern for the strings of `low`..`high` characters, no longer than `longest`, that
    come after `text` in the order of column letters or of row numbers without leading zeros
    (longer first, then by their characters; a sheet with leading zeros is not regular)."""
    ways = [f"[{low}-{high}]{{{len(text) + 1},{longest}}}"] if len(text) < longest else []
    for at, character in enumerate(text):
        if character != high:
            after = len(text) - at - 1
            ways.append(
                text[:at]
                + f"[{chr(ord(character) + 1)}-{high}]"
                + (f"[{low}-{high}]{{{after}}}" if after else "")
            )
    return "(?:" + "|".join(ways) + ")" if ways else "(?!)"


def column_letters(number: int) -> str:
    """Letters of the 1-based column `number`: 1 is 'A', 16384 'XFD'."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _largest(values: Sequence[bytes]) -> bytes:
    """The largest of column letters or row digits: the longest, then by their bytes (both
    compare that way); the common case, all of one length, stays in C."""
    longest = len(max(values, key=len))
    if len(min(values, key=len)) == longest:
        return max(values)
    return max(value for value in values if len(value) == longest)


def _formulas(piece: bytes, scan: SheetScan) -> None:
    """Each formula cell's coordinate, and whether it carries a saved result."""
    for found in _FORMULA.finditer(piece):
        start = piece.rfind(b"<c ", 0, found.start())
        stop = piece.find(b"</c>", found.start())
        if start < 0 or stop < 0:
            continue
        cell = piece[start : stop + 4].replace(b"<c ", f'<c xmlns="{_MAIN_NS}" '.encode(), 1)
        try:
            element = ElementTree.fromstring(cell)
        except ElementTree.ParseError:
            scan.regular = False
            return
        ref = element.get("r", "")
        scan.formulas.append(ref)
        if not has_saved_result(element):
            scan.unsaved.append(ref)


def has_saved_result(cell: ElementTree.Element) -> bool:
    """Whether a formula cell carries the result its program last computed.

    Excel saves an empty text result as `t="str"` with an empty value; writers that cannot
    compute formulas save no value, or an empty one on a number cell.
    """
    value = cell.find(_MAIN + "v")
    if value is None:
        return False
    return bool(value.text) or cell.get("t") == "str"
