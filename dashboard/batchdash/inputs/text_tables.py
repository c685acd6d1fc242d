"""Delimited text (CSV, TSV, Excel's "Unicode text") into a grid of text cells.

Clean files go through pyarrow's multi-threaded CSV reader, which builds Arrow strings without a
Python object per cell: fast, and light enough for a 200 MB upload. Irregular files (rows with
fewer or more cells than the header, a quote that never closes, a cell larger than a block, a
few bytes that are not UTF-8) go through pandas' C parser, which pads short rows and reports
exactly where a file is broken.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from batchdash.errors import InputError
from batchdash.i18n import Message, _l
from batchdash.inputs.delimiters import (
    delimiter_option,
    record_line,
    scan_records,
    sep_line,
    sniff_delimiter,
    unclosed_quote_line,
)
from batchdash.inputs.encodings import DetectedEncoding, detect_encoding, explicit_encoding
from batchdash.inputs.table_shape import check_cells

#: Text decoded for sniffing the delimiter and skipping leading blank lines.
_SAMPLE_BYTES = 64 * 1024
#: pyarrow reads in blocks; a record longer than a block needs the slower parser.
_BLOCK_BYTES = 16 << 20
#: Excel's column limit: every column pyarrow may meet is read as text, never inferred.
_MAX_COLUMNS = 16384
#: large_string, the storage of pandas' str dtype, so the frame takes the table's buffers as
#: they are (from plain `string` pandas would build 64-bit offsets for every cell).
_TEXT_COLUMNS = {f"f{i}": pa.large_string() for i in range(_MAX_COLUMNS)}
_AS_STR = {pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}
#: Characters of a multi-line last cell compared with the end of the file (within the 64 KiB
#: decoded there, whatever the encoding).
_QUOTED_TAIL_CHARS = 8_000
#: Characters used to split a one-column file: none of them appears in it.
_UNUSED_SEPARATORS = "\x1f\x1e\x1d\x1c"
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*(?:\r\n|\r|\n))*")
_DELIMITER_NAMES = {"\t": _l("tab"), ",": _l("comma"), ";": _l("semicolon"), "|": _l("pipe")}


@dataclass(frozen=True)
class TextGrid:
    """A text file split into records and cells; the header is still the first row."""

    raw: pd.DataFrame
    """Cells as text ("" when empty), columns numbered 0..n-1."""
    encoding: str
    """Codec the file was decoded with."""
    delimiter: str | None
    """Cell separator; None when the file has a single column."""
    blank_lines_skipped: int
    """Blank lines before the header that the parser never saw."""
    notes: tuple[str | Message, ...]
    """Sentences about the encoding guess or replaced bytes."""


def read_delimited(
    data: bytes, source_name: str, *, encoding: str | None = None, delimiter: str | None = None
) -> TextGrid:
    """Decode, sniff and split a text table; InputError names the line of a broken record."""
    chosen = delimiter_option(delimiter) if delimiter is not None else None
    detected = (
        explicit_encoding(data, encoding, source_name)
        if encoding is not None
        else detect_encoding(data)
    )
    sample = codecs.getincrementaldecoder(detected.name)("replace").decode(
        data[:_SAMPLE_BYTES], final=False
    )
    leading = _LEADING_BLANK_LINES.match(sample)
    blank_lines = len(_LINE_BREAK.findall(leading.group())) if leading else 0
    rest = sample[leading.end() :] if leading else sample
    first_line, _, after_first = _split_first_line(rest)
    skip = blank_lines
    hinted = sep_line(first_line)
    if hinted is not None:
        skip += 1
        rest = after_first
        chosen = chosen or hinted
    if chosen is None:
        chosen = sniff_delimiter(rest)
    separator = chosen or _unused_separator(data)
    raw = None
    if detected.errors == "strict":
        raw = _read_with_arrow(data, detected, separator, skip)
    if raw is None:
        _check_filled_size(data, rest, separator, source_name)
        raw = _read_with_pandas(data, detected, separator, skip, source_name)
    return TextGrid(raw, detected.name, chosen, blank_lines, detected.notes)


def _check_filled_size(data: bytes, rest: str, separator: str, source_name: str) -> None:
    """Refuse a file pandas would fill out to too many cells: it pads every row to the width
    of the first, so a long header over many one-cell rows makes billions of empty cells.
    Counted before parsing: the first record's cells from the sample, at most one row a line."""
    first = next(scan_records(rest, separator), None)
    columns = first.cells if first is not None else 1
    lines = data.count(b"\n") + 1
    check_cells(
        lines,
        columns,
        _l(
            "'{source_name}' has {columns:,} cells in its first row and up to {lines:,} rows",
            source_name=source_name,
            columns=columns,
            lines=lines,
        ),
        _l(
            "If the other rows are shorter, remove the empty columns at the end of the first "
            "row; otherwise split the file into smaller ones and upload each as its own job."
        ),
    )


def _split_first_line(text: str) -> tuple[str, str, str]:
    """(first line, its line break, the rest)."""
    found = _LINE_BREAK.search(text)
    if found is None:
        return text, "", ""
    return text[: found.start()], found.group(), text[found.end() :]


def _unused_separator(data: bytes) -> str:
    for candidate in _UNUSED_SEPARATORS:
        forms = {candidate.encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be")}
        if not any(form in data for form in forms):
            return candidate
    return _UNUSED_SEPARATORS[0]


def _arrow_codec(name: str) -> str:
    # pyarrow skips a UTF-8 BOM itself and decodes UTF-8 natively, without Python codecs.
    return "utf8" if name in ("utf-8", "utf-8-sig") else name


def _read_with_arrow(
    data: bytes, detected: DetectedEncoding, separator: str, skip: int
) -> pd.DataFrame | None:
    """The grid, or None when the file needs pandas' parser (see the module docstring)."""
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(
                autogenerate_column_names=True,
                skip_rows=skip,
                block_size=_BLOCK_BYTES,
                encoding=_arrow_codec(detected.name),
                # One block at a time: each parsing thread holds a block's buffers on top of
                # the table, and the reader is not the slow step of read_table.
                use_threads=False,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=separator,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=_TEXT_COLUMNS,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                auto_dict_encode=False,
            ),
            memory_pool=_reading_pool(),
        )
    except pa.ArrowInvalid:
        return None
    if any(not pa.types.is_large_string(kind) for kind in table.schema.types):
        return None
    if table.num_rows and _may_end_inside_quotes(table, data, detected, separator):
        return None
    # Already large_string, as pandas' str columns store text: no cast, no copy.
    frame = table.to_pandas(types_mapper=_AS_STR.get)
    frame.columns = pd.RangeIndex(frame.shape[1])
    return frame


def _reading_pool() -> pa.MemoryPool:
    """Where the table is allocated: jemalloc when this pyarrow build has it.

    Measured on a 200 MB CSV, the default pool (mimalloc) kept about 30 MB of the reader's
    freed block buffers resident next to the table; jemalloc returns them.
    """
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


def _may_end_inside_quotes(
    table: pa.Table, data: bytes, detected: DetectedEncoding, separator: str
) -> bool:
    """True when the last record may hold a quote that never closes.

    pyarrow reads such a quote to the end of the file without complaint, so the last record is
    checked here: when none of its cells spans lines, it is the file's last line. When one
    does, the record is whole if the file ends with its last cell, quoted: a quote that never
    closes would have taken the rest of the file into that cell with no closing quote after
    it. (Otherwise pandas' parser reads the file again, at several times the memory.)
    """
    last = [column[-1].as_py() for column in table.columns]
    tail = _tail_text(data, detected.name).rstrip("\r\n")
    if any("\n" in cell or "\r" in cell for cell in last):
        quoted = last[-1].replace('"', '""')[-_QUOTED_TAIL_CHARS:] + '"'
        return not tail.endswith(quoted)
    last_line = _LINE_BREAK.split(tail)[-1]
    return unclosed_quote_line(last_line, separator) is not None


def _tail_text(data: bytes, codec: str) -> str:
    """The last 64 KiB of the file as text; only its last line is used."""
    if codec.startswith(("utf-16", "utf-32")):
        width = 4 if codec.startswith("utf-32") else 2
        head = data[:width]
        big_endian = codec.endswith("-be") or head in (codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)
        start = max(width, len(data) - _SAMPLE_BYTES)
        start -= start % width
        order = "be" if big_endian else "le"
        return data[start:].decode(f"utf-{width * 8}-{order}", "replace")
    return data[-_SAMPLE_BYTES:].decode(codec, "replace")


def _read_with_pandas(
    data: bytes, detected: DetectedEncoding, separator: str, skip: int, source_name: str
) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            sep=separator,
            header=None,
            dtype=str,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            skiprows=skip,
            encoding=detected.name,
            encoding_errors=detected.errors,
            quotechar='"',
            doublequote=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(dtype=str)
    except pd.errors.ParserError as error:
        raise _broken_record(str(error), data, detected, separator, source_name) from None
    frame.columns = pd.RangeIndex(frame.shape[1])
    return frame


def _broken_record(
    detail: str, data: bytes, detected: DetectedEncoding, separator: str, source_name: str
) -> InputError:
    """An InputError naming the physical line (as a text editor counts) of a broken record."""
    text = data.decode(detected.name, detected.errors)
    if "EOF inside string" in detail:
        line = unclosed_quote_line(text, separator)
        if line:
            return InputError(
                _l(
                    "Line {line} of '{source_name}' opens a quoted cell (\") that never closes. "
                    "Add the missing closing quote or remove the stray one in that line, and "
                    "upload the file again.",
                    line=line,
                    source_name=source_name,
                )
            )
        return InputError(
            _l(
                "'{source_name}' opens a quoted cell (\") that never closes. Add the missing "
                "closing quote or remove the stray one in that line, and upload the file again.",
                source_name=source_name,
            )
        )
    found = _FIELDS_ERROR.search(detail)
    if found:
        expected, record, seen = (int(group) for group in found.groups())
        line = record_line(text, separator, record - 1)
        name = _DELIMITER_NAMES.get(separator, repr(separator))
        return InputError(
            _l(
                "Line {line} of '{source_name}' has {seen} cells but the header row has "
                "{expected}. Put quotes around cells that contain a {name}, or fix that line, and "
                "upload the file again.",
                line=line,
                source_name=source_name,
                seen=seen,
                expected=expected,
                name=name,
            )
        )
    return InputError(
        _l(
            "'{source_name}' could not be split into cells. Check the delimiter, or save the "
            "spreadsheet again as CSV UTF-8 and upload that file.",
            source_name=source_name,
        )
    )
