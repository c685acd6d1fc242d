"""What kind of file an upload is, judged by its bytes more than by its name.

Analysts rename files, and web applications save HTML or tab-separated text as `.xls`; the
content decides. Files Batchdash cannot read get one sentence that says what to save instead.
Nothing is unpacked or parsed before the size checks: a file over the upload limit, or a
workbook whose ZIP directory declares far more data than a spreadsheet holds (a "zip bomb"),
is refused from its length and that directory alone.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import PurePath
from typing import Literal, NamedTuple

from batchdash.errors import InputError
from batchdash.i18n import Message, _l
from batchdash.inputs.encodings import bom_encoding, utf16_without_bom

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
_SAVE_AS = _l("Save the spreadsheet as CSV UTF-8 or .xlsx and upload that file.")
_RESAVE = _l("Open it in Excel, save it again as .xlsx or CSV UTF-8, and upload that file.")

#: The largest upload read, in bytes: the uploader's `server.maxUploadSize` of 200 (Streamlit
#: counts megabytes of 1024 * 1024 bytes). The core refuses larger files itself, for the CLI and
#: for any page that receives bytes another way.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: Bytes a workbook may unpack to in all: five times the upload limit, far above what the
#: largest sheet an analyst sends holds, far below what would exhaust the machine's memory.
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
#: Unpacked-to-packed ratio above which one member of a workbook is refused. Spreadsheet XML
#: packs about 10 to 15 times (a sheet of one repeated value about 12); deflate reaches ~1,000.
MAX_PACKING_RATIO = 100
#: Members smaller than this are never judged by their ratio (tiny XML packs oddly well).
_RATIO_FLOOR_BYTES = 1024 * 1024
#: Members of an archive; an XLSX has a few dozen, one per sheet, image or style part.
MAX_MEMBERS = 10_000
_JSON_STARTS = (b"{", b"[")


class FileKind(NamedTuple):
    """How to read an upload."""

    kind: Literal["xlsx", "text"]
    """XLSX workbook, or delimited text."""
    notes: tuple[str | Message, ...]
    """Sentences about a name that does not match the content."""


def file_kind(data: bytes, source_name: str) -> FileKind:
    """'xlsx' or 'text'; an InputError for empty, old-Excel, encrypted or binary files."""
    suffix = PurePath(source_name).suffix.lower()
    check_upload_size(len(data), source_name)
    if not data or data.isspace():
        raise InputError(
            _l(
                "'{source_name}' is empty. Upload a file with a header row and at least one row of "
                "data.",
                source_name=source_name,
            )
        )
    if data.startswith(_OLE):
        if _ENCRYPTED_STREAM in data:
            raise InputError(
                _l(
                    "'{source_name}' is protected with a password. Remove the password in Excel (File > "
                    "Info > Protect Workbook), save it, and upload it again.",
                    source_name=source_name,
                )
            )
        raise InputError(
            _l(
                "'{source_name}' is an old-style Excel workbook (.xls), which Batchdash cannot read. "
                "Open it in Excel, save it as .xlsx or CSV UTF-8, and upload that file.",
                source_name=source_name,
            )
        )
    if data.startswith(_ZIP):
        return _zip_kind(data, source_name, suffix)
    if suffix in (".xlsx", ".xlsm"):
        raise InputError(
            _l(
                "'{source_name}' is not a valid Excel workbook; it may be damaged or only partly "
                "saved. Open it in Excel, save it again as .xlsx, and upload it.",
                source_name=source_name,
            )
        )
    _refuse_binary(data, source_name)
    _refuse_json(data, source_name)
    notes: tuple[str | Message, ...] = ()
    if suffix == ".xls":
        notes = (
            _l(
                "'{source_name}' is text despite its .xls name; Batchdash read it as text.",
                source_name=source_name,
            ),
        )
    return FileKind("text", notes)


def _zip_kind(data: bytes, source_name: str, suffix: str) -> FileKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # The directory only: nothing is unpacked until the declared sizes pass.
            check_archive(archive.infolist(), len(data), source_name)
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError):
        raise InputError(
            _l(
                "'{source_name}' is a damaged or incomplete workbook. Open it in Excel, save it "
                "again as .xlsx, and upload it.",
                source_name=source_name,
            )
        ) from None
    if any(name.endswith("workbook.xml") for name in names):
        notes: tuple[str | Message, ...] = ()
        if suffix not in (".xlsx", ".xlsm"):
            notes = (
                _l(
                    "'{source_name}' is an Excel workbook despite its name; Batchdash read it as one.",
                    source_name=source_name,
                ),
            )
        return FileKind("xlsx", notes)
    if b"opendocument.spreadsheet" in mimetype:
        raise InputError(
            _l(
                "'{source_name}' is an OpenDocument spreadsheet (.ods). Save it as .xlsx or CSV "
                "UTF-8 and upload that file.",
                source_name=source_name,
            )
        )
    raise InputError(
        _l(
            "'{source_name}' is a ZIP archive, not a spreadsheet. {save_as}",
            source_name=source_name,
            save_as=_SAVE_AS,
        )
    )


def _refuse_binary(data: bytes, source_name: str) -> None:
    head = data[:8192]
    if head.lstrip()[:512].lower().startswith((b"<!doctype html", b"<html", b"<table")):
        raise InputError(
            _l(
                "'{source_name}' is a web page (HTML), not a table file. Open it in Excel, save it "
                "as .xlsx or CSV UTF-8, and upload that file.",
                source_name=source_name,
            )
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
        raise InputError(
            _l(
                "'{source_name}' is not a text table: it holds binary data. {save_as}",
                source_name=source_name,
                save_as=_SAVE_AS,
            )
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def check_file_name(source_name: str) -> None:
    """Refuse a name no file on disk can have: a NUL byte (only a crafted client sends one)."""
    if "\0" in source_name:
        raise InputError(
            _l(
                "The file's name holds a NUL character, which no file name on disk can hold, so the "
                "file was not read. Rename the file and upload it again."
            )
        )


def check_upload_size(size: int, source_name: str) -> None:
    """Refuse a file larger than the upload limit, before anything reads it."""
    if size > MAX_UPLOAD_BYTES:
        # Rounded up, so a file just over the limit does not read as "200 MB, more than 200 MB".
        tenths = math.ceil(size * 10 / (1024 * 1024)) / 10
        shown = f"{tenths:,.0f} MB" if tenths.is_integer() else f"{tenths:,.1f} MB"
        raise InputError(
            _l(
                "'{source_name}' is {size}, more than the {limit} Batchdash reads. Split the rows "
                "into files of at most that size (or leave out columns the prompts do not use) and "
                "upload each as its own job.",
                source_name=source_name,
                size=shown,
                limit=_megabytes(MAX_UPLOAD_BYTES),
            )
        )


def check_archive(members: list[zipfile.ZipInfo], packed_size: int, source_name: str) -> None:
    """Refuse a ZIP whose directory declares more than a workbook holds (sizes, ratio, members).

    Python's zipfile never unpacks a member past its declared size, so checking the declared
    sizes bounds what openpyxl can unpack later.
    """
    if len(members) > MAX_MEMBERS:
        raise InputError(
            _l(
                "'{source_name}' holds {members:,} packed files, far more than a workbook does, so "
                "Batchdash does not open it. {resave}",
                source_name=source_name,
                members=len(members),
                resave=_RESAVE,
            )
        )
    unpacked = 0
    for member in members:
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(
                _l(
                    "'{source_name}' is packed with a method spreadsheet programs do not use, so "
                    "Batchdash does not open it. {resave}",
                    source_name=source_name,
                    resave=_RESAVE,
                )
            )
        unpacked += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR_BYTES and ratio > MAX_PACKING_RATIO:
            raise InputError(
                _l(
                    "'{source_name}' would unpack {unpacked} from {packed}, far more than any workbook "
                    "packs: it looks like a 'zip bomb', so Batchdash does not open it. {resave}",
                    source_name=source_name,
                    unpacked=_megabytes(member.file_size),
                    packed=_megabytes(max(member.compress_size, 1)),
                    resave=_RESAVE,
                )
            )
    if unpacked > MAX_UNPACKED_BYTES:
        raise InputError(
            _l(
                "'{source_name}' unpacks to {unpacked} (from {packed}), more than the {limit} "
                "Batchdash reads from a workbook. Save the table as CSV UTF-8, splitting it if "
                "needed, and upload that.",
                source_name=source_name,
                unpacked=_megabytes(unpacked),
                packed=_megabytes(packed_size),
                limit=_megabytes(MAX_UNPACKED_BYTES),
            )
        )


def _refuse_json(data: bytes, source_name: str) -> None:
    """JSON or JSON lines (a batch's request or result file, an API export) are not a table."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(_JSON_STARTS):
        return
    first_line = text.split(b"\n", 1)[0]
    for candidate in (first_line, text):
        try:
            parsed = json.loads(candidate)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if isinstance(parsed, dict | list):
            raise InputError(
                _l(
                    "'{source_name}' holds JSON (like a batch's request or result file), not a table of "
                    "rows. Upload the spreadsheet with the prompts as CSV, TSV or XLSX (a result file is "
                    "merged into its spreadsheet with 'cli.py merge').",
                    source_name=source_name,
                )
            )
