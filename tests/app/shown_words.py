"""The words a page shows in its own voice, read from an AppTest's element tree.

Labels, help, placeholders, option labels, bodies of text and alerts, tab, expander and dialog
titles: what Batchdash writes. Code blocks, tables and typed values are the analyst's data and
are left out; so is what Streamlit's own frontend writes (not in the tree).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from streamlit.testing.v1 import AppTest

# Elements whose content is data: code and JSON, tables, the value typed into a box.
_DATA_ELEMENTS = {"code", "json", "dataframe", "arrow_data_frame", "table"}
_TEXT_FIELDS = ("label", "body", "help", "placeholder", "title")
# Markdown that carries no words: escapes, icons, inline code (commands, variable names).
_NOT_WORDS = re.compile(r":material/[a-z_]+:|`[^`]*`|:[a-z]+\[|\]")
_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_']{2,}")

#: Product, format, API and option names that stay in Latin letters in every language.
NAMES = frozenset(
    [
        "OpenAI",
        "JSONL",
        "CSV",
        "TSV",
        "XLSX",
        "UTF",
        "BOM",
        "Unicode",
        "API",
        "Batch",
        "Batchdash",
        "Token",
        "Excel",
        "Google",
        "Azure",
        "Chat",
        "Completions",
        "Responses",
        "Embeddings",
        "Moderation",
        "GBK",
        "GB18030",
        "GB2312",
        "Big5",
        "CP949",
        "CP1252",
        "Big",
        "HKSCS",
        "Shift",
        "JIS",
        "CP",
        "EUC",
        "KR",
        "Windows",
        "Latin",
        "schema",
        "o200k_base",
        "none",
        "flagged",
        # Row status values, as the merged table writes them (contract 6).
        "ok",
        "error",
        "expired",
        "cancelled",
        "not_run",
        "score_violence",
    ]
)


def _texts_of(proto: object) -> Iterator[str]:
    for name in _TEXT_FIELDS:
        value = getattr(proto, name, None)
        if isinstance(value, str) and value:
            yield value
    for option in getattr(proto, "options", ()):
        yield option if isinstance(option, str) else getattr(option, "content", "")
    dialog = getattr(proto, "dialog", None)
    if dialog is not None and getattr(dialog, "title", ""):
        yield dialog.title


def shown_texts(at: AppTest) -> list[str]:
    """Every text of the page and its sidebar and dialogs written by the app, in page order."""
    found: list[str] = []

    def walk(node: object) -> None:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if kind in _DATA_ELEMENTS:
            return
        if proto is not None:
            found.extend(text for text in _texts_of(proto) if text)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def english_words(texts: Iterable[str], data: Iterable[object] = ()) -> list[str]:
    """The Latin words of `texts` that are neither names (NAMES) nor words of `data`."""
    allowed = {word.lower() for word in NAMES}
    for cell in data:
        allowed |= {word.lower() for word in _LATIN_WORD.findall(str(cell))}
    return [
        word
        for text in texts
        # A Markdown escape goes, not the word it is in: batch\_1 is batch_1.
        for word in _LATIN_WORD.findall(_NOT_WORDS.sub(" ", text.replace("\\", "")))
        if word.lower() not in allowed
    ]


def chinese_texts(texts: Iterable[str]) -> list[str]:
    """The texts that hold Chinese characters or full-width punctuation."""
    return [text for text in texts if _CJK.search(text)]
