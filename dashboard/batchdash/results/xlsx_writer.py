"""A one-sheet XLSX written directly: Arrow builds the cells' XML, a slice of rows at a time.

Per-cell writers (xlsxwriter, openpyxl) spend microseconds of Python on every cell; here Arrow
kernels work on whole columns: one dictionary encoding gives the shared strings (each distinct
text once, as Excel stores them) and every text cell's index among them, then the cells are
joined into rows and the rows stream into the zip slice by slice. A text cell refers to a shared
string (`t="s"`): a spreadsheet takes it as it is, never as a number or a formula. The package
holds only the parts Excel needs: content types, relationships, the workbook, the styles (plain,
a bold header, wrapped text and the number formats in use), the sheet and its shared strings.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, TypeAlias, cast
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from batchdash.results.parallel import map_in_order

#: A column of text cells (a null is no cell) or of numbers (float64; NaN is no cell).
Column: TypeAlias = pa.LargeStringArray | np.ndarray

#: The most rows and columns of an Excel sheet, and the most characters (UTF-16 units) of a cell.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_CELL_CHARACTERS = 32_767

ROWS_PER_SLICE = 10_000

# A column with at most this many distinct texts shares its entries with the other columns;
# the texts shared so far are kept in a dict of at most about this many.
_FEW_TEXTS = 1_000
_KNOWN_TEXTS = 100_000


@dataclass(frozen=True)
class ColumnLook:
    """How a column shows in the sheet."""

    #: Width in Excel's unit, the width of a digit of the default font.
    width: float = 13.0
    #: Whether text wraps within the width (the row grows) instead of running over.
    wrap: bool = False
    #: A number column's fixed decimals (0: whole numbers, every digit shown), or None for
    #: Excel's General format.
    decimals: int | None = None


# bench_export.py's 50,000 rows (43 MB of XML): zlib's default level 6 takes 0.38 s of CPU for
# 1.97 MB, level 4 0.19 s for 2.09 MB, level 1 0.11 s for 2.46 MB. The small parts use it.
_COMPRESS_LEVEL = 4
# The sheet and its shared strings (800 MB of XML at a million rows) go through ISA-L's deflate,
# the same format: on 200 MB of a sheet's XML, 0.30 s of CPU at its level 2 against zlib's 1.53 s
# at level 4 (the shared strings: 0.07 s against 1.23 s), for a zip about 20% larger.
_BULK_LEVEL = 2

_TEXT = pa.large_string()

# XML 1.0 cannot hold most control characters, and a reader turns CR into LF: Excel writes them
# (and the non-characters U+FFFE, U+FFFF) as _xHHHH_, and escapes the "_" of text that already
# looks like such an escape, so it reads back as written. RE2 finds the rare cells; Python
# escapes those.
_EXCEL_ESCAPES = r"[\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"
_NEEDS_ESCAPING = r"[&<>\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"
_LOOKS_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_UNWRITABLE = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_XML_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))

_BOLD = ' s="1"'
_SI = '<si><t xml:space="preserve">'
_INFINITIES = (math.inf, -math.inf)
_INFINITY_WORDS = ("inf", "-inf")
# Past this, 16 digits round up beyond the largest double (1.797693134862316E+308), which a
# reader takes as infinity; 17 digits give those few values back exactly.
_LARGEST_16_DIGITS = 1.797693134862315e308
# Whole numbers below this show all their digits at 16 significant digits, without an exponent.
_WHOLE_BELOW = 1e16

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = "application/vnd.openxmlformats-officedocument"

_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE_DOCUMENT}.spreadsheetml.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OFFICE_DOCUMENT}.spreadsheetml.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE_DOCUMENT}.spreadsheetml.styles+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OFFICE_DOCUMENT}.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_PACKAGE_RELS = (
    f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
# Every cell sits at the top of its row, so a row that a wrapped answer makes tall still reads
# from its first line.
_TOP = '<alignment vertical="top"/>'
_XF = '<xf numFmtId="{}" fontId="{}" fillId="0" borderId="0" xfId="0"{} applyAlignment="1">{}</xf>'
# Custom number formats take ids from 164 (the lower ones are Excel's built-in formats);
# built-in 1 is "0", whole numbers with every digit.
_FIRST_CUSTOM_FORMAT = 164
_WHOLE_NUMBERS = 1
# The header row stays in view (frozen) while the rows scroll.
_SHEET_VIEW = (
    '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
)
_PAGE_MARGINS = (
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
)


def xlsx_bytes(
    sheet_name: str,
    header: Sequence[str],
    columns: Sequence[Column],
    rows_per_slice: int = ROWS_PER_SLICE,
    *,
    looks: Sequence[ColumnLook] | None = None,
) -> bytes:
    """`write_xlsx` of columns in memory, as bytes."""
    looks = list(looks) if looks is not None else [ColumnLook()] * len(header)
    buffer = io.BytesIO()
    rows = len(columns[0]) if columns else 0
    write_xlsx(
        buffer,
        sheet_name,
        header,
        zip(columns, looks, strict=True),
        rows=rows,
        rows_per_slice=rows_per_slice,
    )
    return buffer.getvalue()


def write_xlsx(
    stream: BinaryIO,
    sheet_name: str,
    header: Sequence[str],
    columns: Iterable[tuple[Column, ColumnLook]],
    *,
    rows: int,
    rows_per_slice: int = ROWS_PER_SLICE,
) -> None:
    """A workbook of one sheet: a bold, frozen header row with a filter, then the columns.

    `columns` gives each column (of `rows` cells) with its width, wrapping and number format,
    one after the other: a column's texts become shared strings as it arrives (written to a
    temporary file) and only its cells' string numbers are kept, so a caller that loads one
    column at a time holds one column's text at a time. The caller keeps the columns within
    MAX_ROWS - 1 rows, MAX_COLUMNS columns and MAX_CELL_CHARACTERS a cell. Numbers are written
    as Excel keeps them, to 16 significant digits (17 for the few that 16 would round past the
    largest double); an infinity, which a cell cannot hold, as the text inf or -inf.
    """
    last_cell = (column_name(len(header) - 1), rows + 1) if header else None
    used = "A1:{}{}".format(*last_cell) if last_cell else "A1"
    with tempfile.TemporaryFile(prefix="batchdash-strings-") as spool:
        strings = _SharedStrings(spool, rows_per_slice)
        header_indices = strings.add(pa.array(header, _TEXT))
        coded: list[Column] = []
        looks: list[ColumnLook] = []
        infinite = False
        for column, look in columns:
            if _is_text(column):
                coded.append(strings.add(column))
            else:
                coded.append(column)
                infinite = infinite or bool(np.isinf(column).any())
            looks.append(look)
        infinities: dict[float, str] = {}
        if infinite:
            words = strings.add(pa.array(_INFINITY_WORDS, _TEXT)).to_pylist()
            infinities = dict(zip(_INFINITIES, map(str, words), strict=True))
            strings.uses += sum(int(np.isinf(c).sum()) for c in coded if not _is_text(c)) - 2
        styles_xml, cell_styles = _styles(looks)
        with zipfile.ZipFile(
            stream, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL
        ) as zf:
            for name, part in (
                ("[Content_Types].xml", _CONTENT_TYPES),
                ("_rels/.rels", _PACKAGE_RELS),
                ("xl/workbook.xml", _workbook(sheet_name, last_cell)),
                ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                ("xl/styles.xml", styles_xml),
            ):
                # Dated 1980 like the parts zipfile streams, so a table always gives the same bytes.
                zf.writestr(
                    zipfile.ZipInfo(name),
                    _XML_DECLARATION + part,
                    compress_type=zipfile.ZIP_DEFLATED,
                    compresslevel=_COMPRESS_LEVEL,
                )
            # Past 2 GiB a zip entry needs the ZIP64 format. No cell's markup takes 64 bytes.
            sheet_zip64 = 64 * (rows + 1) * len(header) > zipfile.ZIP64_LIMIT
            with _bulk_part(zf, "xl/worksheets/sheet1.xml", sheet_zip64) as sheet:
                sheet.write(
                    f'{_XML_DECLARATION}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
                    f'<dimension ref="{used}"/>{_SHEET_VIEW}{_widths(looks)}<sheetData>'.encode()
                )
                if header:
                    cells = [header_indices[i : i + 1] for i in range(len(header))]
                    sheet.write(_rows(cells, 1, {}, [_BOLD] * len(header)))

                def slice_rows(start: int) -> pa.Buffer:
                    piece = [column[start : start + rows_per_slice] for column in coded]
                    return _rows(piece, start + 2, infinities, cell_styles)

                for xml in map_in_order(slice_rows, range(0, rows, rows_per_slice)):
                    sheet.write(xml)
                autofilter = f'<autoFilter ref="{used}"/>' if header else ""
                sheet.write(f"</sheetData>{autofilter}{_PAGE_MARGINS}</worksheet>".encode())
            strings.copy_into(zf)


class _SharedStrings:
    """The shared strings part as its texts arrive: escaped into a temporary file, counted for
    the part's header. A text of a column with few distinct texts (statuses, models, yes/no)
    is one entry for the whole sheet; a column of mostly distinct texts (answers, prompts)
    gets its own entries, so no index of every text of the sheet is ever held."""

    def __init__(self, spool: BinaryIO, rows_per_slice: int) -> None:
        self._spool = spool
        self._slice = rows_per_slice
        self._known: dict[str, int] = {}
        #: Entries so far: the next text's number.
        self.unique = 0
        #: Cells that refer to an entry.
        self.uses = 0

    def add(self, texts: pa.Array) -> pa.Array:
        """The entry number of each text (null for a null text)."""
        encoded = pc.dictionary_encode(texts)
        distinct = encoded.dictionary
        self.uses += len(texts) - texts.null_count
        if len(distinct) > _FEW_TEXTS or len(self._known) > _KNOWN_TEXTS:
            self._write(distinct)
            # 32-bit numbers while they fit: a million-row column's are 4 MB, not 8.
            kind = pa.int64() if self.unique + len(distinct) >= 2**31 else pa.int32()
            numbers = pc.add(encoded.indices.cast(kind), pa.scalar(self.unique, kind))
            self.unique += len(distinct)
            return numbers
        new: list[str] = []
        entries: list[int] = []
        for text in distinct.to_pylist():
            entry = self._known.get(text)
            if entry is None:
                entry = self._known[text] = self.unique + len(new)
                new.append(text)
            entries.append(entry)
        self._write(pa.array(new, _TEXT))
        self.unique += len(new)
        return pa.array(entries, pa.int64()).take(encoded.indices)

    def _write(self, texts: pa.Array) -> None:
        def entries(start: int) -> pa.Buffer:
            # xml:space keeps leading and trailing blanks, which a reader would drop.
            escaped = _escaped(texts[start : start + self._slice])
            return _concatenated(_join(_SI, escaped, "</t></si>"))

        for xml in map_in_order(entries, range(0, len(texts), self._slice)):
            self._spool.write(memoryview(xml))

    def copy_into(self, zf: zipfile.ZipFile) -> None:
        size = self._spool.tell()
        self._spool.seek(0)
        with _bulk_part(zf, "xl/sharedStrings.xml", size > zipfile.ZIP64_LIMIT) as table:
            table.write(
                f'{_XML_DECLARATION}<sst xmlns="{_MAIN}" count="{self.uses}" '
                f'uniqueCount="{self.unique}">'.encode()
            )
            shutil.copyfileobj(self._spool, table, 1 << 20)
            table.write(b"</sst>")


def _bulk_part(zf: zipfile.ZipFile, name: str, zip64: bool) -> IO[bytes]:
    """A part of the zip opened for writing, deflated by ISA-L.

    zipfile takes no other deflate implementation: its part writer keeps the compressor it
    feeds in `_compressor`, which is swapped for ISA-L's raw deflate (zipfile checks and
    records the CRC and sizes itself). Where a Python has no such attribute, zlib stays."""
    part = zf.open(name, "w", force_zip64=zip64)
    if hasattr(part, "_compressor"):
        cast(Any, part)._compressor = isal_zlib.compressobj(_BULK_LEVEL, isal_zlib.DEFLATED, -15)
    return part


def column_name(index: int) -> str:
    """Excel's name of the column at a 0-based index: A, ..., Z, AA, ..."""
    name = ""
    index += 1
    while index:
        index, letter = divmod(index - 1, 26)
        name = chr(ord("A") + letter) + name
    return name


def _styles(looks: Sequence[ColumnLook]) -> tuple[str, list[str]]:
    """The styles part, and each column's cell style attribute.

    Style 0 is the default, 1 (_BOLD) the header's, 2 wrapped text; then one per fixed number
    of decimals in use.
    """
    decimals = sorted({look.decimals for look in looks if look.decimals is not None})
    formats = {0: _WHOLE_NUMBERS} | {
        places: _FIRST_CUSTOM_FORMAT + n for n, places in enumerate(d for d in decimals if d)
    }
    custom = "".join(
        f'<numFmt numFmtId="{formats[places]}" formatCode="0.{"0" * places}"/>'
        for places in decimals
        if places
    )
    number_formats = f'<numFmts count="{custom.count("<numFmt ")}">{custom}</numFmts>'
    wrapped = '<alignment vertical="top" wrapText="1"/>'
    xfs = [
        _XF.format(0, 0, "", _TOP),
        _XF.format(0, 1, ' applyFont="1"', _TOP),
        _XF.format(0, 0, "", wrapped),
        *(_XF.format(formats[places], 0, ' applyNumberFormat="1"', _TOP) for places in decimals),
    ]
    first_number_style = 3
    number_styles = {places: first_number_style + n for n, places in enumerate(decimals)}
    cell_styles = [
        ' s="2"'
        if look.wrap
        else f' s="{number_styles[look.decimals]}"'
        if look.decimals is not None
        else ""
        for look in looks
    ]
    xml = (
        f'<styleSheet xmlns="{_MAIN}">{number_formats if custom else ""}'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
    return xml, cell_styles


def _widths(looks: Sequence[ColumnLook]) -> str:
    if not looks:
        return ""
    columns = "".join(
        f'<col min="{n}" max="{n}" width="{look.width:g}" customWidth="1"/>'
        for n, look in enumerate(looks, start=1)
    )
    return f"<cols>{columns}</cols>"


def _workbook(sheet_name: str, last_cell: tuple[str, int] | None) -> str:
    # Excel records the filtered range (header to last cell) as this hidden name too.
    names = ""
    if last_cell:
        quoted = "'" + sheet_name.replace("'", "''") + "'"
        target = "{}!$A$1:${}${}".format(quoted, *last_cell)
        names = (
            '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" '
            f'hidden="1">{escape(target)}</definedName></definedNames>'
        )
    return (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name={quoteattr(sheet_name)} sheetId="1" r:id="rId1"/></sheets>{names}'
        "</workbook>"
    )


def _is_text(column: Column) -> bool:
    return isinstance(column, pa.Array)


def _rows(
    columns: Sequence[Column],
    first_row: int,
    infinities: dict[float, str],
    styles: Sequence[str],
) -> pa.Buffer:
    """The <row> elements of equal-length columns (numbers, or shared string indices), each
    column's cells with its style attribute.

    The rows are joined from every column's pieces at once; only a column with gaps (a cell
    with no value is no cell) or infinities is joined into cells of its own first."""
    count = len(columns[0])
    numbers = pa.array(np.arange(first_row, first_row + count)).cast(_TEXT)
    pieces: list[str | pa.Array] = ['<row r="', numbers, '">']
    for index, (column, style) in enumerate(zip(columns, styles, strict=True)):
        name = column_name(index)
        if isinstance(column, np.ndarray) and np.isinf(column).any():
            pieces.append(_number_cells(column, name, numbers, infinities, style))
            continue
        if isinstance(column, np.ndarray):
            opening, values = f'"{style}><v>', _number_texts(column)
        else:
            opening, values = f'"{style} t="s"><v>', column.cast(_TEXT)
        cell = [f'<c r="{name}', numbers, opening, values, "</v></c>"]
        pieces += [_join(*cell)] if values.null_count else cell
    pieces.append("</row>")
    return _concatenated(_join(*_literals_merged(pieces), skip_nulls=True))


def _literals_merged(pieces: Sequence[str | pa.Array]) -> list[str | pa.Array]:
    """The pieces with each run of adjacent texts as one text: fewer arguments to join."""
    merged: list[str | pa.Array] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def _string_cells(indices: pa.Array, column: str, numbers: pa.Array, style: str) -> pa.Array:
    opening = f'"{style} t="s"><v>'
    return _join(f'<c r="{column}', numbers, opening, indices.cast(_TEXT), "</v></c>")


def _number_cells(
    values: np.ndarray, column: str, numbers: pa.Array, infinities: dict[float, str], style: str
) -> pa.Array:
    opening = f'"{style}><v>'
    cells = _join(f'<c r="{column}', numbers, opening, _number_texts(values), "</v></c>")
    if not np.isinf(values).any():
        return cells
    # A shared string, not one inline (t="inlineStr"), which Apple Numbers does not show.
    words = pa.array([infinities.get(value) for value in values.tolist()], _TEXT)
    return pc.coalesce(cells, _string_cells(words, column, numbers, ""))


def _number_texts(values: np.ndarray) -> pa.Array:
    """Each finite number as xlsxwriter writes it and Excel keeps it, to 16 significant digits
    (`_number_text`); null for NaN and the infinities.

    Whole numbers (token counts, most IDs) below 10**16 are their digits, which Arrow casts from
    int64; the others are formatted once per distinct value (costs repeat across rows), told
    apart by their bits so that 0.0 and -0.0 (written "-0") stay apart."""
    finite = np.isfinite(values)
    negative_zero = (values == 0) & np.signbit(values)
    whole = finite & (np.abs(values) < _WHOLE_BELOW) & (np.trunc(values) == values) & ~negative_zero
    texts = pa.nulls(len(values), _TEXT)
    if whole.any():
        digits = pa.array(values[whole].astype(np.int64)).cast(_TEXT)
        texts = pc.replace_with_mask(texts, pa.array(whole), digits)
    other = finite & ~whole
    if other.any():
        bits, positions = np.unique(values[other].view(np.int64), return_inverse=True)
        distinct = [_number_text(value) for value in bits.view(np.float64).tolist()]
        formatted = pa.array(distinct, _TEXT).take(pa.array(positions))
        texts = pc.replace_with_mask(texts, pa.array(other), formatted)
    return texts


def _number_text(value: float) -> str:
    # 17 digits for the few that 16 would round past the largest double.
    return f"{value:.17G}" if abs(value) > _LARGEST_16_DIGITS else f"{value:.16G}"


def _escaped(texts: pa.LargeStringArray) -> pa.Array:
    """The texts as XML character data, with Excel's _xHHHH_ escapes.

    One look over every text finds those that need any change (most need none); only they
    are searched and rewritten."""
    changing = pc.fill_null(pc.match_substring_regex(texts, _NEEDS_ESCAPING), False)
    if not pc.any(changing).as_py():
        return texts
    changed = pc.filter(texts, changing)
    unusual = pc.fill_null(pc.match_substring_regex(changed, _EXCEL_ESCAPES), False)
    if pc.any(unusual).as_py():
        escaped = [_excel_escaped(text) for text in pc.filter(changed, unusual).to_pylist()]
        changed = pc.replace_with_mask(changed, unusual, pa.array(escaped, _TEXT))
    for sign, entity in _XML_ENTITIES:
        changed = pc.replace_substring(changed, sign, entity)
    return pc.replace_with_mask(texts, changing, changed)


def _excel_escaped(text: str) -> str:
    return _UNWRITABLE.sub(
        lambda match: f"_x{ord(match[0]):04X}_", _LOOKS_ESCAPED.sub(r"_x005F\1", text)
    )


def _join(*pieces: str | pa.Array, skip_nulls: bool = False) -> pa.Array:
    """Element-wise concatenation: null where a piece is null, or without that piece."""
    arguments = [pa.scalar(p, _TEXT) if isinstance(p, str) else p for p in pieces]
    nulls = "replace" if skip_nulls else "emit_null"
    return pc.binary_join_element_wise(*arguments, pa.scalar("", _TEXT), null_handling=nulls)


def _concatenated(texts: pa.Array) -> pa.Buffer:
    """The texts one after the other, as one UTF-8 buffer."""
    one_list = pa.LargeListArray.from_arrays([0, len(texts)], texts)
    return pc.binary_join(one_list, pa.scalar("", _TEXT))[0].as_buffer()
