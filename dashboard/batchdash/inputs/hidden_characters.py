"""Characters a spreadsheet does not show, found in a table so the analyst can check those cells.

Control characters (ESC, BEL, NUL...) and Unicode direction overrides are sent to the model as
they are, but neither Excel nor the preview shows them: a cell can then say something else than
it seems to. The table is read all the same; a note names the rows.
"""

from __future__ import annotations

import re
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from batchdash.i18n import Message, _l
from batchdash.wording import describe_rows

# C0 controls and DEL, except tab, line feed and carriage return (ordinary in cells).
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI): they
# reorder how text is shown ("Trojan Source"). Ordinary right-to-left text needs none of them.
_DIRECTION = "[\u202a-\u202e\u2066-\u2069]"
# The same characters as UTF-8 bytes, for a quick look at the raw text of a column first.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# U+202A-U+202E are E2 80 AA-AE, U+2066-U+2069 E2 81 A6-A9: one search led by a literal byte.
_DIRECTION_BYTES = re.compile(rb"\xe2(?:\x80[\xaa-\xae]|\x81[\xa6-\xa9])")
#: Bytes of a column's text looked at per step of that scan.
_SCAN_BYTES = 1 << 20
_CONTROL_WORDS = _l("control characters (such as ESC, BEL or NUL) that spreadsheets do not show")
_DIRECTION_WORDS = _l("direction overrides that change how the text around them is shown")

Texts: TypeAlias = pa.Array | pa.ChunkedArray


def _text_arrays(frame: pd.DataFrame) -> list[Texts]:
    """Each column as Arrow text (no copy for the str columns the readers make)."""
    arrays: list[Texts] = []
    for _, column in frame.items():
        try:
            array = pa.array(column.array, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array(column.astype(object).map(str), type=pa.large_string())
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = pc.cast(array, pa.large_string())
        arrays.append(array)
    return arrays


def _may_hold_hidden(array: Texts) -> bool:
    """False when the column's UTF-8 bytes hold none of the characters (a byte scan, ~1 GB/s)."""
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        view = memoryview(data)
        # A window at a time, not a copy of the whole chunk (a 200 MB file has 15 MB ones);
        # windows overlap by 2 bytes so a 3-byte mark cut at a boundary is still found.
        for start in range(0, len(view), _SCAN_BYTES):
            raw = view[start : start + _SCAN_BYTES + 2].tobytes()
            if len(raw.translate(None, _CONTROL_BYTES)) != len(raw):
                return True
            if _DIRECTION_BYTES.search(raw):
                return True
    return False


def _matches(array: Texts, pattern: str) -> Texts | None:
    """Where `array` matches `pattern`, or None when nowhere (the usual case, checked first)."""
    found = pc.match_substring_regex(array, pattern)
    return found if pc.any(found).as_py() else None


def _rows_matching(arrays: list[Texts], rows: int, pattern: str) -> list[int]:
    """1-based rows with a cell matching `pattern`."""
    hit = np.zeros(rows, dtype=bool)
    for array in arrays:
        found = _matches(array, pattern)
        if found is not None:
            hit |= pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    return (np.flatnonzero(hit) + 1).tolist()


def hidden_character_notes(frame: pd.DataFrame) -> tuple[str | Message, ...]:
    """Sentences naming the rows whose cells (or the column names) hold characters nobody sees."""
    header = pa.array([str(name) for name in frame.columns], type=pa.large_string())
    arrays = _text_arrays(frame)
    if not any(_may_hold_hidden(array) for array in [header, *arrays]):
        return ()
    notes: list[str | Message] = []
    for pattern, what in ((_CONTROL, _CONTROL_WORDS), (_DIRECTION, _DIRECTION_WORDS)):
        if _matches(header, pattern) is not None:
            notes.append(_l("A column name holds {what}. Check the header row.", what=what))
        rows = _rows_matching(arrays, len(frame), pattern)
        if rows:
            notes.append(
                _l(
                    "Cells in {rows} hold {what}; they are sent to the model as they are. Check "
                    "those cells, or clean them in the spreadsheet.",
                    rows=describe_rows(rows),
                    what=what,
                )
            )
    return tuple(notes)


def hidden_in_name(name: str, what: str | Message) -> Message | None:
    """A sentence when a file or job name holds characters nobody sees, else None.

    `what` names the thing ("The file name"). Batchdash shows such characters as [U+202E]
    wherever it prints the name, so they cannot turn its own words around.
    """
    kinds = [
        words
        for pattern, words in ((_CONTROL, _CONTROL_WORDS), (_DIRECTION, _DIRECTION_WORDS))
        if re.search(pattern, name)
    ]
    if not kinds:
        return None
    holds = (
        kinds[0] if len(kinds) == 1 else _l("{first} and {second}", first=kinds[0], second=kinds[1])
    )
    return _l(
        "{what} holds {kinds}; Batchdash shows each as its code, like [U+202E]. Rename it if "
        "that was not meant.",
        what=what,
        kinds=holds,
    )
