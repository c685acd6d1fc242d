"""Where a workbook keeps a worksheet's XML, and which cell styles change how a number reads.

Both are small parts of the package (the workbook's sheet list, its relationships, the style
sheet), parsed whole.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
#: Number formats whose text differs from a plain number's: percentages, and zero-padded
#: integers (IDs such as 007 shown with 000). Dates are told apart by the cell reader itself.
PERCENT = re.compile(r"0(?:\.(0+))?%")
ZEROS = re.compile(r"0+")
#: Built-in number formats (ECMA-376 18.8.30) among those: 9 is 0%, 10 is 0.00%.
_BUILT_IN = {9: "0%", 10: "0.00%"}


def _book_path(archive: zipfile.ZipFile) -> str:
    package = ElementTree.fromstring(archive.read("_rels/.rels"))
    return next(
        (
            rel.get("Target", "").lstrip("/")
            for rel in package
            if rel.get("Type", "").endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    )


def _targets(archive: zipfile.ZipFile, book_path: str) -> list[tuple[str, str, str]]:
    """(id, type, path inside the archive) of every relationship of the workbook part."""
    folder, book_file = posixpath.split(book_path)
    rels = ElementTree.fromstring(
        archive.read(posixpath.join(folder, "_rels", book_file + ".rels"))
    )
    out = []
    for rel in rels:
        target = rel.get("Target", "")
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out.append((rel.get("Id", ""), rel.get("Type", ""), path))
    return out


def _sheets(archive: zipfile.ZipFile) -> list[tuple[str, str | None, str, bool]]:
    """(name, path inside the archive, relationship type, visible) of every sheet, in order."""
    book_path = _book_path(archive)
    book = ElementTree.fromstring(archive.read(book_path))
    targets = {ident: (kind, path) for ident, kind, path in _targets(archive, book_path)}
    listed = []
    for entry in book.iter(_MAIN + "sheet"):
        kind, path = targets.get(entry.get(_DOC_REL + "id", ""), ("", None))
        visible = entry.get("state", "visible") == "visible"
        listed.append((entry.get("name", ""), path, kind, visible))
    return listed


def sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """Path inside the archive of the worksheet named `sheet`."""
    return next((path for name, path, _kind, _shown in _sheets(archive) if name == sheet), None)


def default_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """Path inside the archive of the sheet read when none is named: the first visible
    worksheet (chart sheets hold no cells), else the first worksheet."""
    worksheets = [
        (path, visible)
        for _name, path, kind, visible in _sheets(archive)
        if path is not None and kind.endswith("/worksheet")
    ]
    first_shown = next((path for path, visible in worksheets if visible), None)
    return first_shown or next((path for path, _visible in worksheets), None)


def text_formats(archive: zipfile.ZipFile) -> dict[int, str]:
    """Style index -> number format, for the styles whose format is in PERCENT or ZEROS (of
    two digits or more; a single 0 reads as the number does)."""
    styles_path = next(
        (
            path
            for _ident, kind, path in _targets(archive, _book_path(archive))
            if kind.endswith("/styles")
        ),
        None,
    )
    if styles_path is None:
        return {}
    styles = ElementTree.fromstring(archive.read(styles_path))
    codes = dict(_BUILT_IN)
    for number_format in styles.iter(_MAIN + "numFmt"):
        try:
            codes[int(number_format.get("numFmtId", ""))] = number_format.get("formatCode", "")
        except ValueError:
            continue
    cell_formats = styles.find(_MAIN + "cellXfs")
    found: dict[int, str] = {}
    for index, style in enumerate(cell_formats if cell_formats is not None else ()):
        try:
            code = codes.get(int(style.get("numFmtId", "0")), "")
        except ValueError:
            continue
        if PERCENT.fullmatch(code) or (ZEROS.fullmatch(code) and len(code) > 1):
            found[index] = code
    return found
