"""How a table was read, in the words of the language in use: encodings and delimiters.

The core names them in English (batchdash.inputs); the page says them in the analyst's
language, falling back to the core's words for a codec or delimiter without a label here.
"""

from __future__ import annotations

from batchdash.i18n import _
from batchdash.inputs.delimiters import OFFERED_DELIMITERS
from batchdash.inputs.encodings import describe_encoding


def encoding_words(name: str) -> str:
    """A codec as an analyst recognises it, e.g. 'Chinese simplified (GB18030/GBK)'."""
    gbk = _("Chinese simplified (GBK)")
    big5 = _("Chinese traditional (Big5)")
    shift_jis = _("Japanese (Shift-JIS)")
    latin_1 = _("Western European (Latin-1)")
    labels = {
        "utf-8-sig": _("UTF-8 with BOM"),
        "utf-16": _("UTF-16 (Unicode text)"),
        "gb18030": _("Chinese simplified (GB18030/GBK)"),
        "gbk": gbk,
        "cp936": gbk,
        "gb2312": _("Chinese simplified (GB2312)"),
        "cp950": big5,
        "big5": big5,
        "big5hkscs": _("Chinese traditional (Big5-HKSCS)"),
        "cp932": shift_jis,
        "shift_jis": shift_jis,
        "cp949": _("Korean (CP949/EUC-KR)"),
        "euc_kr": _("Korean (EUC-KR)"),
        "cp1252": _("Western European (Windows-1252)"),
        "latin-1": latin_1,
        "iso8859-1": latin_1,
    }
    return labels.get(name) or str(describe_encoding(name))


def delimiter_name(delimiter: str) -> str:
    """An offered delimiter by its name ('Comma'); any other as it is."""
    names = {",": _("Comma"), ";": _("Semicolon"), "\t": _("Tab"), "|": _("Pipe")}
    return names.get(delimiter) or str(OFFERED_DELIMITERS.get(delimiter, delimiter))


def separated_words(delimiter: str) -> str:
    """How the cells of a row are separated, e.g. 'comma-separated'."""
    words = {
        ",": _("comma-separated"),
        ";": _("semicolon-separated"),
        "\t": _("tab-separated"),
        "|": _("pipe-separated"),
    }
    return words.get(delimiter) or _("{delimiter}-separated", delimiter=delimiter)
