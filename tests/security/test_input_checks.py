"""The guards in front of the readers: size, the ZIP directory, and characters nobody sees.

The corpus drives them through the pages (tests/app/test_bad_input_corpus.py); these tests pin
their edges: each limit is refused one step over it and accepted at it.
"""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from batchdash.errors import InputError
from batchdash.inputs.file_kinds import (
    MAX_MEMBERS,
    MAX_PACKING_RATIO,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    check_archive,
    check_upload_size,
)
from batchdash.inputs.hidden_characters import _SCAN_BYTES, hidden_character_notes
from batchdash.inputs.reading import read_pasted


def member(
    name: str, size: int, packed: int, method: int = zipfile.ZIP_DEFLATED
) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.file_size, info.compress_size, info.compress_type = size, packed, method
    return info


def test_the_upload_limit_is_the_uploaders() -> None:
    check_upload_size(MAX_UPLOAD_BYTES, "at-the-limit.csv")
    with pytest.raises(InputError, match=r"'over\.csv' is 200\.1 MB, more than the 200 MB"):
        check_upload_size(MAX_UPLOAD_BYTES + 1, "over.csv")
    assert MAX_UPLOAD_BYTES == 200 * 1024 * 1024  # server.maxUploadSize = 200, in MiB


def test_a_member_packed_past_the_ratio_is_refused_and_a_dense_one_is_not() -> None:
    size = 50 * 1024 * 1024
    check_archive([member("xl/worksheets/sheet1.xml", size, size // MAX_PACKING_RATIO)], 0, "ok")
    with pytest.raises(InputError, match="zip bomb"):
        check_archive([member("xl/worksheets/sheet1.xml", size, size // 1000)], 0, "bomb.xlsx")
    # Small parts may pack as they like (an empty styles part packs very well).
    check_archive([member("xl/styles.xml", 1024 * 1024, 10)], 0, "tiny.xlsx")


def test_the_total_unpacked_size_and_the_members_are_bounded() -> None:
    parts = [
        member(f"xl/worksheets/sheet{n}.xml", 200 * 1024 * 1024, 20 * 1024 * 1024) for n in range(6)
    ]
    assert sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES
    with pytest.raises(InputError, match="more than the 1,024 MB Batchdash reads"):
        check_archive(parts, 120 * 1024 * 1024, "huge.xlsx")
    many = [member(f"xl/media/image{n}.png", 10, 10) for n in range(MAX_MEMBERS + 1)]
    with pytest.raises(InputError, match="10,001 packed files"):
        check_archive(many, 0, "many.xlsx")


def test_only_stored_and_deflated_members_are_opened() -> None:
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        with pytest.raises(InputError, match="packed with a method"):
            check_archive([member("xl/workbook.xml", 100, 50, method)], 0, "odd.xlsx")
    real = io.BytesIO()
    with zipfile.ZipFile(real, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with (
        zipfile.ZipFile(io.BytesIO(real.getvalue())) as archive,
        pytest.raises(InputError, match="packed with a method"),
    ):
        check_archive(archive.infolist(), len(real.getvalue()), "bzip2.xlsx")


def test_hidden_characters_are_found_across_the_byte_slices() -> None:
    across = "a" * (_SCAN_BYTES - 1) + "\u202e" + "b"  # the mark straddles two slices
    late = "a" * _SCAN_BYTES + "\x07"
    frame = pd.DataFrame({"p": pd.Series(["fine", across, late], dtype=str)})

    assert hidden_character_notes(frame) == (
        "Cells in row 3 hold control characters (such as ESC, BEL or NUL) that spreadsheets do "
        "not show; they are sent to the model as they are. Check those cells, or clean them in "
        "the spreadsheet.",
        "Cells in row 2 hold direction overrides that change how the text around them is "
        "shown; they are sent to the model as they are. Check those cells, or clean them in the "
        "spreadsheet.",
    )


def test_ordinary_text_numbers_and_tabs_give_no_note() -> None:
    frame = pd.DataFrame(
        {
            "text": pd.Series(
                ["line one\nline two\ttab\r\n", "עברית and عربي", "emoji 👋🏽"], dtype=str
            ),
            "n": [1, 2, 3],
        }
    )
    assert hidden_character_notes(frame) == ()


def test_a_column_name_with_a_control_character_is_named() -> None:
    notes = read_pasted("pro\x1bmpt\tid\nhello\t1\n").notes
    assert "A column name holds control characters" in " ".join(notes)
