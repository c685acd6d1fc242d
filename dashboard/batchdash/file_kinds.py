"""What kind of file an upload is, judged by its bytes more than by its name.

Analysts rename files, and web applications save HTML or tab-separated text as `.xls`; the
content decides. Files Batchdash cannot read get one sentence that says what to save instead.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath
from typing import Literal, NamedTuple

from batchdash.encodings import bom_encoding, utf16_without_bom
from batchdash.errors import InputError

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x1f\x8b",
    b"BZh",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x7fELF",
)
#: Share of control bytes (other than tab, CR, LF) above which a file is binary; a few control
#: characters in a short file are text that happens to hold them.
_CONTROL_SHARE = 0.1
_CONTROL_FEW = 16
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_SAVE_AS = "Save the spreadsheet as CSV UTF-8 or .xlsx and upload that file."


class FileKind(NamedTuple):
    """How to read an upload."""

    kind: Literal["xlsx", "text"]
    """XLSX workbook, or delimited text."""
    notes: tuple[str, ...]
    """Sentences about a name that does not match the content."""


def file_kind(data: bytes, source_name: str) -> FileKind:
    """'xlsx' or 'text'; an InputError for empty, old-Excel, encrypted or binary files."""
    suffix = PurePath(source_name).suffix.lower()
    if not data or data.isspace():
        raise InputError(
            f"'{source_name}' is empty. Upload a file with a header row and at least one row of "
            "data."
        )
    if data.startswith(_OLE):
        if _ENCRYPTED_STREAM in data:
            raise InputError(
                f"'{source_name}' is protected with a password. Remove the password in Excel "
                "(File > Info > Protect Workbook), save it, and upload it again."
            )
        raise InputError(
            f"'{source_name}' is an old-style Excel workbook (.xls), which Batchdash cannot read. "
            "Open it in Excel, save it as .xlsx or CSV UTF-8, and upload that file."
        )
    if data.startswith(_ZIP):
        return _zip_kind(data, source_name, suffix)
    if suffix in (".xlsx", ".xlsm"):
        raise InputError(
            f"'{source_name}' is not a valid Excel workbook; it may be damaged or only partly "
            "saved. Open it in Excel, save it again as .xlsx, and upload it."
        )
    _refuse_binary(data, source_name)
    notes: tuple[str, ...] = ()
    if suffix == ".xls":
        notes = (f"'{source_name}' is text despite its .xls name; Batchdash read it as text.",)
    return FileKind("text", notes)


def _zip_kind(data: bytes, source_name: str, suffix: str) -> FileKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError):
        raise InputError(
            f"'{source_name}' is a damaged or incomplete workbook. Open it in Excel, save it "
            "again as .xlsx, and upload it."
        ) from None
    if any(name.endswith("workbook.xml") for name in names):
        notes: tuple[str, ...] = ()
        if suffix not in (".xlsx", ".xlsm"):
            notes = (
                f"'{source_name}' is an Excel workbook despite its name; Batchdash read it as one.",
            )
        return FileKind("xlsx", notes)
    if b"opendocument.spreadsheet" in mimetype:
        raise InputError(
            f"'{source_name}' is an OpenDocument spreadsheet (.ods). Save it as .xlsx or CSV UTF-8 "
            "and upload that file."
        )
    raise InputError(f"'{source_name}' is a ZIP archive, not a spreadsheet. {_SAVE_AS}")


def _refuse_binary(data: bytes, source_name: str) -> None:
    head = data[:8192]
    if head.lstrip()[:512].lower().startswith((b"<!doctype html", b"<html", b"<table")):
        raise InputError(
            f"'{source_name}' is a web page (HTML), not a table file. Open it in Excel, save it "
            "as .xlsx or CSV UTF-8, and upload that file."
        )
    wide = bom_encoding(data) in ("utf-16", "utf-32") or utf16_without_bom(data) is not None
    if wide:
        return
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if (
        data.startswith(_BINARY_MAGIC)
        or b"\x00" in head
        or controls > max(_CONTROL_SHARE * len(head), _CONTROL_FEW)
    ):
        raise InputError(f"'{source_name}' is not a text table: it holds binary data. {_SAVE_AS}")
