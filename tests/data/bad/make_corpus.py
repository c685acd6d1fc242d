"""The generated part of the bad-input corpus: files too big, too binary or too odd to commit.

The small files beside this script are committed as they are; these are built at test time
(`generated()`), or written to a folder for trying by hand:

    python tests/data/bad/make_corpus.py OUT_DIR          # every generated file
    python tests/data/bad/make_corpus.py OUT_DIR --big    # plus the 250 MB CSV

Every builder is deterministic except the workbooks' timestamps (openpyxl writes the time).
"""

from __future__ import annotations

import argparse
import io
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
if str(HERE.parents[2]) not in sys.path:  # run as a script: the repository's tests package
    sys.path.insert(0, str(HERE.parents[2]))

from tests.app.files import formulas_and_merges_xlsx  # noqa: E402

#: Streamlit's megabyte (server.maxUploadSize counts 1024 * 1024 bytes).
MIB = 1024 * 1024
#: Size of the oversized CSV: 250 MB, over the 200 MB upload limit.
HUGE_CSV_BYTES = 250 * MIB
#: What the zip bomb's only sheet unpacks to.
BOMB_UNPACKED_BYTES = 1024 * MIB

_BOMB_ROW = b'<row><c t="inlineStr"><is><t>zip bomb</t></is></c></row>'
_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData>"
    b'<row><c t="inlineStr"><is><t>prompt</t></is></c></row>'
)
_SHEET_TAIL = b"</sheetData></worksheet>"


# --- workbooks ---------------------------------------------------------------------------------


def _saved(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_xlsx(rows: list[list[object]] | None = None, title: str = "Prompts") -> bytes:
    """A plain workbook: a header `prompt` and two prompts (or the rows given)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows or [["prompt"], ["Summarise the first text"], ["Summarise the second"]]:
        sheet.append(row)
    return _saved(book)


def _rewritten(data: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """The archive with each member passed through `edit` (None drops the member)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = edit(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


def hidden_sheets_xlsx() -> bytes:
    """Two worksheets, both hidden (Excel allows it through VBA; openpyxl refuses to save it)."""
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Hidden rows"
    first.append(["prompt"])
    first.append(["A prompt on a hidden sheet"])
    second = book.create_sheet("Also hidden")
    second.append(["prompt"])
    second.append(["Another"])
    second.sheet_state = "hidden"

    def hide(name: str, content: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return re.sub(
                rb'(name="Hidden rows"[^>]*?)state="visible"', rb'\1state="hidden"', content
            )
        return content

    return _rewritten(_saved(book), hide)


def broken_xml_xlsx() -> bytes:
    """A workbook whose workbook.xml is not well-formed XML (an attribute given twice)."""

    def spoil(name: str, content: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return content.replace(b'sheetId="1"', b'sheetId="1" sheetId="1"')
        return content

    return _rewritten(good_xlsx(), spoil)


def no_sheets_xlsx() -> bytes:
    """A workbook whose list of sheets is empty."""

    def drop(name: str, content: bytes) -> bytes | None:
        if name.startswith("xl/worksheets/"):
            return None
        if name == "xl/workbook.xml":
            start, end = content.index(b"<sheets>"), content.index(b"</sheets>") + 9
            return content[:start] + b"<sheets/>" + content[end:]
        return content

    return _rewritten(good_xlsx(), drop)


def malformed_xlsx() -> bytes:
    """A workbook cut off halfway, as a failed download or copy leaves it."""
    data = good_xlsx()
    return data[: len(data) // 2]


def xlsx_named_csv() -> bytes:
    """A good workbook; the corpus names it .csv."""
    return good_xlsx()


def _deflated_segment(data: bytes) -> bytes:
    """`data` as raw deflate blocks that start afresh and end byte-aligned (not final)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


def _zip_member(name: str, packed: bytes, crc: int, size: int, offset: int) -> tuple[bytes, bytes]:
    """The local header + data, and the central directory entry, of one deflated member."""
    raw = name.encode()
    fields = (20, 0, zipfile.ZIP_DEFLATED, 0, 0x21, crc, len(packed), size, len(raw))
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + raw + packed
    central = (
        struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset) + raw
    )
    return local, central


def zip_bomb_xlsx(unpacked: int = BOMB_UNPACKED_BYTES) -> bytes:
    """A real XLSX whose one sheet unpacks to `unpacked` bytes of rows from a few MB.

    The sheet is deflated once per MB-sized block and the block repeated (each block starts
    afresh, so the stream stays valid); its CRC is the real one, so the file opens in any
    program that dares to unpack it.
    """
    block = _BOMB_ROW * (MIB // len(_BOMB_ROW))
    repeats = max(1, (unpacked - len(_SHEET_HEAD) - len(_SHEET_TAIL)) // len(block))
    packed_block = _deflated_segment(block)
    finisher = zlib.compressobj(9, zlib.DEFLATED, -15)
    sheet = b"".join(
        [
            _deflated_segment(_SHEET_HEAD),
            packed_block * repeats,
            finisher.compress(_SHEET_TAIL) + finisher.flush(),
        ]
    )
    crc = zlib.crc32(_SHEET_HEAD)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(_SHEET_TAIL, crc)
    size = len(_SHEET_HEAD) + repeats * len(block) + len(_SHEET_TAIL)

    locals_: list[bytes] = []
    centrals: list[bytes] = []
    offset = 0
    with zipfile.ZipFile(io.BytesIO(good_xlsx())) as template:
        for info in template.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                packed, member_crc, member_size = sheet, crc, size
            else:
                content = template.read(info)
                member_crc, member_size = zlib.crc32(content), len(content)
                finish = zlib.compressobj(9, zlib.DEFLATED, -15)
                packed = finish.compress(content) + finish.flush()
            local, central = _zip_member(info.filename, packed, member_crc, member_size, offset)
            locals_.append(local)
            centrals.append(central)
            offset += len(local)
    directory = b"".join(centrals)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(centrals), len(centrals), len(directory), offset, 0
    )
    return b"".join(locals_) + directory + end


def encrypted_xlsx() -> bytes:
    """The outside of a password-protected workbook: an OLE2 container holding the streams
    Excel writes (EncryptionInfo, EncryptedPackage), here with random-looking content."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HH", 0x3E, 3)
    header += b"\xfe\xff" + struct.pack("<HH", 9, 6) + bytes(6)
    header = header.ljust(512, b"\x00")
    entries = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00")
        + struct.pack("<H", len(name) * 2 + 2)
        + bytes(62)
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage")
    )
    noise = bytes((n * 73 + 41) % 256 for n in range(4096))
    return header + entries.ljust(512, b"\x00") + noise


def old_xls() -> bytes:
    """The outside of an Excel 97-2003 workbook: an OLE2 container with a Workbook stream."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HH", 0x3E, 3)
    header = header.ljust(512, b"\x00")
    entry = "Workbook".encode("utf-16-le").ljust(64, b"\x00") + struct.pack("<H", 18)
    return header + entry.ljust(512, b"\x00") + bytes(2048)


def ods_named_xlsx() -> bytes:
    """An OpenDocument spreadsheet (LibreOffice's format) renamed .xlsx."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def plain_zip_named_csv() -> bytes:
    """A ZIP of two CSV files, renamed .csv."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", "prompt\nhello\n")
        archive.writestr("b.csv", "prompt\nworld\n")
    return out.getvalue()


# --- text --------------------------------------------------------------------------------------


def huge_csv(size: int = HUGE_CSV_BYTES) -> bytes:
    """A CSV of `size` bytes of prompts: over the 200 MB upload limit."""
    line = b"Summarise the customer review number 0000000 in one short sentence please\n"
    body = line * ((size - 7) // len(line) + 1)
    return (b"prompt\n" + body)[:size]


def one_megabyte_cell_csv() -> bytes:
    """Three rows; the second holds a cell of 1,000,000 characters."""
    return b"prompt\nshort one\n" + b"y" * 1_000_000 + b"\nshort two\n"


def sixty_thousand_rows_csv(rows: int = 60_000) -> bytes:
    """60,000 short prompts: two parts, not an error."""
    body = "".join(f"Question number {n:07d} xxxxxxxxxxxxxxxxxxxx\n" for n in range(rows))
    return b"prompt\n" + body.encode()


def wide_header_csv(columns: int = 10_000) -> bytes:
    """A header of 10,000 columns over one row."""
    header = ",".join(["prompt", *(f"c{n}" for n in range(1, columns))])
    row = ",".join(["Say hello", *("" for _ in range(1, columns))])
    return f"{header}\n{row}\n".encode()


def utf16_cut_short() -> bytes:
    """Excel's "Unicode text" (UTF-16 with BOM) cut off in the middle of a character."""
    return "prompt\tid\nSummarise this\t1\nAnd this\t2\n".encode("utf-16")[:-1]


def nul_bytes_after_start() -> bytes:
    """A CSV whose NUL padding starts after the first 8 KB (the binary check reads those)."""
    rows = "".join(f"Prompt number {n}\n" for n in range(1_000)).encode()
    return b"prompt\n" + rows + b"\x00" * 64 + b"\n"


def long_template(characters: int = 100_000) -> str:
    """A prompt template of `characters` characters with one placeholder."""
    text = "Read the review and answer in one word. {text} "
    return (text * (characters // len(text) + 1))[:characters]


#: The generated files by corpus name (the name's suffix is the one uploaded).
GENERATED: dict[str, Callable[[], bytes]] = {
    "formulas_and_merges.xlsx": formulas_and_merges_xlsx,
    "malformed.xlsx": malformed_xlsx,
    "broken_workbook_xml.xlsx": broken_xml_xlsx,
    "zip_bomb.xlsx": zip_bomb_xlsx,
    "hidden_sheets.xlsx": hidden_sheets_xlsx,
    "no_sheets.xlsx": no_sheets_xlsx,
    "password_protected.xlsx": encrypted_xlsx,
    "old_excel.xls": old_xls,
    "opendocument.xlsx": ods_named_xlsx,
    "archive.csv": plain_zip_named_csv,
    "workbook_named.csv": xlsx_named_csv,
    "one_megabyte_cell.csv": one_megabyte_cell_csv,
    "sixty_thousand_rows.csv": sixty_thousand_rows_csv,
    "wide_header.csv": wide_header_csv,
    "utf16_cut_short.txt": utf16_cut_short,
    "nul_bytes_late.csv": nul_bytes_after_start,
}
#: Built only when asked: 250 MB.
BIG: dict[str, Callable[[], bytes]] = {"huge_250mb.csv": huge_csv}


#: What the folder holds beside the corpus files: this script, its notes, the typed values.
_NOT_FILES_OF_THE_CORPUS = ("make_corpus.py", "README.md", "values.json")


def committed() -> dict[str, bytes]:
    """The committed files of the corpus by name (results/ holds the result files apart)."""
    return {
        path.name: path.read_bytes()
        for path in sorted(HERE.iterdir())
        if path.is_file() and path.name not in _NOT_FILES_OF_THE_CORPUS
    }


def write(folder: Path, *, big: bool = False) -> list[Path]:
    """Write the generated files (and the big one when asked) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    builders = {**GENERATED, **(BIG if big else {})}
    written = []
    for name, build in builders.items():
        path = folder / name
        path.write_bytes(build())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the generated bad-input files.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--big", action="store_true", help="also the 250 MB CSV")
    args = parser.parse_args(argv)
    for path in write(args.out_dir, big=args.big):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
