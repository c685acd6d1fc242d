"""Which text encoding a CSV or TSV file uses.

Analysts' files come from Excel, WPS or Google Sheets: UTF-8 (with or without BOM), UTF-16 with
BOM (Excel's "Unicode text"), or the Windows code page of their language: GB18030/GBK
(simplified Chinese), Big5 (traditional Chinese), Shift-JIS (Japanese), CP949/EUC-KR (Korean) or
Windows-1252 (Western Europe). Statistical detectors guess wrongly on short files, so the
decision here is ordered and scored:

1. a byte-order mark decides;
2. UTF-16 without a BOM shows as NUL bytes in every other position;
3. text that is valid UTF-8 is UTF-8 (legacy encodings almost never form valid UTF-8);
4. text that is UTF-8 apart from a few stray bytes is UTF-8, the stray bytes replaced;
5. otherwise every legacy candidate that decodes the text is scored on how plausible its
   characters are (common ideographs of that script, kana for Japanese, Hangul syllables for
   Korean, accented letters inside Latin words for Windows-1252), and the best one that decodes
   the whole file wins.

Korean needs a second look: EUC-KR puts its Hangul syllables on the same bytes as GB2312's
common ideographs, so Korean read as GB18030 looks like flawless Chinese, character by
character. But Korean puts spaces between words and Chinese and Japanese do not, so ideographs
set off by a space from more CJK text count for less, and Hanja, rare in today's Korean, count
against a Korean reading as Hangul counts against a Chinese one. Short Korean without a space (a
column of names) ties with Chinese and is read as Chinese; its encoding can be chosen by hand.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from batchdash.errors import InputError
from batchdash.i18n import Message, _l, n_l
from batchdash.wording import listing

#: Legacy encodings tried after UTF-8, in the order that breaks a tie.
LEGACY_CANDIDATES = ("gb18030", "cp950", "cp932", "cp949", "cp1252")
#: The encodings an analyst can pick instead of detection, most used first.
OFFERED_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", *LEGACY_CANDIDATES, "latin-1")

_LABELS: dict[str, str | Message] = {
    "utf-8": "UTF-8",
    "utf-8-sig": _l("UTF-8 with BOM"),
    "utf-16": _l("UTF-16 (Unicode text)"),
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32",
    "gb18030": _l("Chinese simplified (GB18030/GBK)"),
    "gbk": _l("Chinese simplified (GBK)"),
    "cp936": _l("Chinese simplified (GBK)"),
    "gb2312": _l("Chinese simplified (GB2312)"),
    "cp950": _l("Chinese traditional (Big5)"),
    "big5": _l("Chinese traditional (Big5)"),
    "big5hkscs": _l("Chinese traditional (Big5-HKSCS)"),
    "cp932": _l("Japanese (Shift-JIS)"),
    "shift_jis": _l("Japanese (Shift-JIS)"),
    "cp949": _l("Korean (CP949/EUC-KR)"),
    "euc_kr": _l("Korean (EUC-KR)"),
    "cp1252": _l("Western European (Windows-1252)"),
    "latin-1": _l("Western European (Latin-1)"),
    "iso8859-1": _l("Western European (Latin-1)"),
}

#: How much text the scores look at: enough for a verdict, little enough to stay fast.
_SAMPLE_BYTES = 64 * 1024
_CHUNK_BYTES = 1 << 20
#: Below this mean score the guess is reported as uncertain.
_CONFIDENT_SCORE = 0.4
#: Lines named in the note about bytes that are not UTF-8.
_SHOWN_LINES = 3
#: Candidates whose scripts put no spaces between words.
_UNSPACED = frozenset({"gb18030", "cp950", "cp932"})
#: What their characters count for when set off by spaces, as Korean words are. A quarter off
#: puts spaced Korean read as Chinese well behind its Korean reading, yet keeps Chinese with a
#: few spaces ahead of its CP949 misreading, which is full of Hanja.
_SPACED_WEIGHT = 0.75

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_FIRST_NON_ASCII = re.compile(rb"[\x80-\xff]")
#: Typographic marks that Western text uses next to plain ASCII.
_LATIN_MARKS = frozenset("€‚„…•–—‘’“”«»°·©®™§±×÷²³¼½¾µ¿¡\xa0")


@dataclass(frozen=True)
class DetectedEncoding:
    """How to decode a file, and what the analyst should know about the choice."""

    name: str
    """Python codec name to decode the whole file with."""
    errors: Literal["strict", "replace"]
    """`replace` when a few bytes of an otherwise UTF-8 file are not UTF-8."""
    notes: tuple[str | Message, ...] = ()
    """Plain sentences about an uncertain guess or replaced characters."""


def describe_encoding(name: str) -> str:
    """A label an analyst recognises, e.g. 'Chinese simplified (GB18030/GBK)', in the language
    in use now."""
    return str(encoding_label(name))


def encoding_label(name: str) -> str | Message:
    """`describe_encoding` for a message shown later: worded when shown."""
    return _LABELS.get(name, name)


def canonical_encoding(name: str) -> str:
    """The codec name Python uses for `name`; an InputError naming it when unknown."""
    cleaned = name.strip()
    try:
        "a".encode(cleaned)  # bytes-to-bytes codecs such as base64 fail here too
        canonical = codecs.lookup(cleaned).name
    except (LookupError, ValueError):
        raise InputError(
            _l(
                "'{name}' is not an encoding Batchdash knows. Leave the encoding on automatic, or "
                "pick one such as utf-8, gb18030, big5, shift_jis, cp949 or cp1252.",
                name=name,
            )
        ) from None
    return canonical


def explicit_encoding(data: bytes, name: str, source_name: str) -> DetectedEncoding:
    """The encoding the analyst chose, checked against the whole file."""
    canonical = canonical_encoding(name)
    if canonical == "utf-8" and data.startswith(codecs.BOM_UTF8):
        canonical = "utf-8-sig"  # so the BOM does not become part of the first column's name
    bad = first_undecodable(data, canonical)
    if bad is not None:
        raise InputError(
            _l(
                "'{source_name}' is not {encoding} text: line {line} has bytes that {canonical} "
                "cannot read. Choose another encoding, or leave it on automatic.",
                source_name=source_name,
                encoding=encoding_label(canonical),
                line=line_at(data, bad, canonical),
                canonical=canonical,
            )
        )
    return DetectedEncoding(canonical, "strict")


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark announces, if the data starts with one."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when NULs fill every other byte, as in ASCII text in UTF-16."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0 : pairs * 2 : 2].count(0)
    odd_nuls = sample[1 : pairs * 2 : 2].count(0)
    if odd_nuls >= 0.4 * pairs and even_nuls <= 0.05 * pairs:
        return "utf-16-le"
    if even_nuls >= 0.4 * pairs and odd_nuls <= 0.05 * pairs:
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> DetectedEncoding:
    """The encoding of a text file, decided in the order the module docstring gives."""
    announced = bom_encoding(data) or utf16_without_bom(data)
    if announced is not None:
        return DetectedEncoding(announced, "strict")
    if first_undecodable(data, "utf-8") is None:
        return DetectedEncoding("utf-8", "strict")
    window = _window_from_first_non_ascii(data)
    if _mostly_utf8(window):
        return DetectedEncoding("utf-8", "replace", (_replaced_note(data),))
    scored = sorted(
        (
            (score, -rank, name)
            for rank, name in enumerate(LEGACY_CANDIDATES)
            if (score := plausibility(window, name)) is not None
        ),
        reverse=True,
    )
    for score, _rank, name in scored:
        if first_undecodable(data, name) is None:
            notes: tuple[str | Message, ...] = ()
            if score < _CONFIDENT_SCORE:
                notes = (
                    _l(
                        "Batchdash is not sure the file is {encoding}; if the text looks garbled, choose the "
                        "file's encoding by hand.",
                        encoding=encoding_label(name),
                    ),
                )
            return DetectedEncoding(name, "strict", notes)
    raise InputError(
        _l(
            "Batchdash could not tell which encoding the file uses. Save it from Excel as 'CSV "
            "UTF-8 (Comma delimited)', or choose its encoding by hand."
        )
    )


def plausibility(window: bytes, encoding: str) -> float | None:
    """Mean plausibility (-1..1) of the non-ASCII characters `encoding` decodes `window` to.

    None when `encoding` cannot decode the window at all. A cut character at the end of the
    window is not held against it.
    """
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(window, final=False)
    except UnicodeDecodeError:
        return None
    total = 0.0
    count = 0
    for run in _NON_ASCII_RUN.finditer(text):
        before = text[run.start() - 1] if run.start() > 0 else ""
        after = text[run.end()] if run.end() < len(text) else ""
        chars = run.group()
        if encoding == "cp1252":
            total += _latin_run_score(chars, before, after)
        else:
            score = _cjk_run_score(chars, before, after, encoding)
            if encoding in _UNSPACED and score > 0 and _set_off_by_space(text, *run.span()):
                score *= _SPACED_WEIGHT
            total += score
        count += len(chars)
    return total / count if count else 0.0


def _set_off_by_space(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] has a space, then more non-ASCII text, on either side."""
    spaced_before = start >= 2 and text[start - 1] == " " and not text[start - 2].isascii()
    spaced_after = end + 1 < len(text) and text[end] == " " and not text[end + 1].isascii()
    return spaced_before or spaced_after


def _is_ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _latin_run_score(run: str, before: str, after: str) -> float:
    """Accented letters sit inside Latin words; mis-read CJK bytes come in long runs."""
    if len(run) >= 3:
        return -float(len(run))
    beside_word = _is_ascii_letter(before) or _is_ascii_letter(after)
    score = 0.0
    for char in run:
        latin_letter = char.isalpha() and ord(char) < 0x250 and char not in "ªº"
        if latin_letter and len(run) == 1:
            score += 1.0 if beside_word else 0.5
        elif latin_letter and beside_word and run.isalpha():
            score += 0.5
        elif char in "¿¡" and len(run) == 1 and _is_ascii_letter(after):
            score += 1.0  # Spanish opening marks
        elif char in _LATIN_MARKS:
            score += 0.5 if len(run) == 1 else 0.0
        else:
            score -= 1.0
    return score


def _cjk_run_score(run: str, before: str, after: str, encoding: str) -> float:
    # One ideograph wedged inside a Latin word ("cr鬼e") is two accented letters misread.
    if len(run) == 1 and _is_ascii_letter(before) and _is_ascii_letter(after):
        return -1.0
    return sum(_cjk_char_score(char, encoding) for char in run)


@lru_cache(maxsize=65536)
def _cjk_char_score(char: str, encoding: str) -> float:
    code = ord(char)
    if 0x3040 <= code <= 0x30FF:  # hiragana and katakana
        return 1.0 if encoding == "cp932" else -0.5
    if 0xAC00 <= code <= 0xD7A3:  # Hangul syllables
        return _hangul_score(char) if encoding == "cp949" else -0.5
    if 0x3131 <= code <= 0x318E:  # Hangul letters on their own, as in "ㅋㅋ"
        return 0.5 if encoding == "cp949" else -0.5
    if 0x4E00 <= code <= 0x9FFF:
        # Hanja are rare in today's Korean, as Hangul is in Chinese: another script.
        return -0.5 if encoding == "cp949" else _ideograph_score(char, encoding)
    if 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E:  # CJK punctuation, full-width
        return 1.0
    if 0xFF61 <= code <= 0xFF9F:
        # Half-width katakana: Shift-JIS single bytes A1-DF, the mark of misread GBK or Big5.
        return -1.0
    if 0x2010 <= code <= 0x2027:  # dashes, quotes, ellipsis
        return 0.5
    if unicodedata.category(char) in ("Co", "Cn", "Cc", "Cs"):
        return -1.0
    if 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF or code >= 0x20000:
        return -1.0  # rare ideographs
    if 0x2000 <= code <= 0x2BFF:  # symbols, arrows, maths, boxes
        return 0.0
    return -0.5  # Latin, Greek, Cyrillic: unusual inside a CJK export


def _code_in(char: str, encoding: str) -> int | None:
    try:
        return int.from_bytes(char.encode(encoding), "big")
    except UnicodeEncodeError:
        return None


def _hangul_score(char: str) -> float:
    """The 2,350 syllables of KS X 1001 (EUC-KR) cover ordinary Korean; CP949 adds rare ones."""
    code = _code_in(char, "cp949")
    common = code is not None and 0xB0A1 <= code <= 0xC8FE and code & 0xFF >= 0xA1
    return 1.0 if common else 0.4


def _ideograph_score(char: str, encoding: str) -> float:
    """Common characters of the script score 1; rarer ones less; other scripts' characters < 0."""
    if encoding == "gb18030":
        code = _code_in(char, "gb2312")
        if code is not None:
            return 1.0 if code < 0xD800 else 0.6  # GB2312 level 1 ends at row D7
        big5 = _code_in(char, "big5")
        return -0.3 if big5 is not None and 0xA440 <= big5 <= 0xC67E else -0.7
    if encoding == "cp950":
        code = _code_in(char, "big5")
        if code is not None and 0xA440 <= code <= 0xC67E:  # Big5 frequently used characters
            return 1.0
        return 0.4 if code is not None and code >= 0xC940 else -0.5
    code = _code_in(char, "cp932")
    if code is not None and 0x889F <= code <= 0x9872:  # JIS level 1 kanji
        return 1.0
    return 0.4 if code is not None and code <= 0xEAA4 else -0.5


def _window_from_first_non_ascii(data: bytes) -> bytes:
    """A sample that starts at the line holding the first non-ASCII byte."""
    found = _FIRST_NON_ASCII.search(data)
    start = 0 if found is None else data.rfind(b"\n", 0, found.start()) + 1
    return data[start : start + _SAMPLE_BYTES]


def _mostly_utf8(window: bytes) -> bool:
    """True when valid UTF-8 characters far outnumber the invalid bytes (a mixed file)."""
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(window, final=False)
    invalid = text.count("\ufffd") - window.count("\ufffd".encode())
    valid = sum(len(run) for run in _NON_ASCII_RUN.findall(text)) - text.count("\ufffd")
    return valid >= 4 and valid >= 4 * invalid


def _invalid_utf8_offsets(data: bytes) -> Iterator[int]:
    """Offsets of bytes that are not valid UTF-8, in order."""
    for start in range(0, len(data), _CHUNK_BYTES):
        # Extend each chunk by 3 bytes so a character cut at the boundary still decodes.
        chunk = data[start : start + _CHUNK_BYTES + 3]
        limit = min(_CHUNK_BYTES, len(chunk))
        pos = 0
        while pos < limit:
            try:
                chunk[pos:].decode("utf-8")
                break
            except UnicodeDecodeError as error:
                if pos + error.start >= limit:
                    break
                yield start + pos + error.start
                pos += error.end


def _replaced_note(data: bytes) -> Message:
    lines: list[int] = []  # distinct lines, one more than shown to know there are others
    total = 0
    for offset in _invalid_utf8_offsets(data):
        total += 1
        line = line_at(data, offset, "utf-8")
        if len(lines) <= _SHOWN_LINES and line not in lines:
            lines.append(line)
    shown = lines[:_SHOWN_LINES]
    if len(lines) > _SHOWN_LINES:
        where = n_l(
            "line {lines} and others", "lines {lines} and others", len(shown), lines=listing(shown)
        )
    else:
        where = n_l("line {lines}", "lines {lines}", len(shown), lines=listing(shown))
    return n_l(
        "{n} byte on {where} is not valid UTF-8 (shown as \ufffd); check those cells, or save "
        "the file again as 'CSV UTF-8'.",
        "{n} bytes on {where} are not valid UTF-8 (shown as \ufffd); check those cells, or save "
        "the file again as 'CSV UTF-8'.",
        total,
        where=where,
    )


def first_undecodable(data: bytes, encoding: str) -> int | None:
    """Offset of the first byte `encoding` cannot decode, or None when the whole file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK_BYTES):
        try:
            decoder.decode(view[start : start + _CHUNK_BYTES], final=False)
        except UnicodeDecodeError:
            return _error_offset(data, encoding, start)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return _error_offset(data, encoding, len(data))
    return None


def _error_offset(data: bytes, encoding: str, near: int) -> int:
    """Exact offset of the first error, known to lie before `near` plus one chunk."""
    # After a newline byte every supported ASCII-compatible encoding is at a character
    # boundary (0x0A is never part of a multibyte character); UTF-16/32 restart from the top.
    low = 0
    if not encoding.startswith(("utf-16", "utf-32")):
        low = data.rfind(b"\n", 0, max(0, near - 8)) + 1
    try:
        data[low : near + _CHUNK_BYTES].decode(encoding)
    except UnicodeDecodeError as error:
        return low + error.start
    return min(near + _CHUNK_BYTES, len(data))


def line_at(data: bytes, offset: int, encoding: str) -> int:
    """1-based line number of the byte at `offset`."""
    if encoding.startswith(("utf-16", "utf-32")):
        prefix = data[:offset].decode(encoding, "replace")
        newlines = prefix.count("\n") or prefix.count("\r")
    else:
        newlines = data.count(b"\n", 0, offset) or data.count(b"\r", 0, offset)
    return newlines + 1
