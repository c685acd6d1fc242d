"""The text a page shows a person, read from the elements an AppTest run drew, and the part of
it that did not pass through a catalog (in the pseudo-language, every translated text is
wrapped in ⟦ ⟧)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from streamlit.testing.v1 import AppTest

from batchdash.i18n.messages import PSEUDO_CLOSE, PSEUDO_OPEN

# Proto fields a person reads: bodies, labels, help texts, placeholders, options, captions.
_SHOWN_FIELDS = {"body", "label", "help", "placeholder", "options", "content", "caption", "text"}
# Column configuration of a data frame: a JSON object whose labels and help texts are shown.
_COLUMNS_FIELD = "columns"
# Words the pages show in every language on purpose: product, format and protocol names, and
# the language picker's own names.
ALWAYS_AS_IS = {
    "Batchdash", "OpenAI", "Azure", "Groq", "DeepInfra", "DashScope", "SiliconFlow", "Gemini",
    "LiteLLM", "Ollama", "vLLM", "serve", "Google", "LM", "Studio", "llama", "JSONL", "JSON", "CSV", "TSV", "XLSX", "API", "URL", "ID",
    "UTF", "BOM", "GBK", "HTTP", "HTTPS", "SQLite", "PostgreSQL", "Token", "Tokens",
    "Language", "English", "qps-ploc", "sk", "custom_id", "ok", "error", "expired", "cancelled", "not_run",
}  # fmt: skip
# The innermost marked text (a message among the fields of another is marked inside it).
_MARKED = re.compile(f"{PSEUDO_OPEN}[^{PSEUDO_OPEN}{PSEUDO_CLOSE}]*{PSEUDO_CLOSE}")
_ESCAPE = re.compile(r"\\(.)")
_ICON = re.compile(r":material/[a-z_]+:|:[a-z]+\[|\]|\*\*|`[^`]*`")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
# Names rather than words: URLs, paths, ids, model and file names (a digit, _, /, : or . inside).
_NAME = re.compile(r"\S*\w[\d_/:.@]+\w\S*|\S*\d\S*|[a-z]+(?:-[a-z]+){2,}")


def _strings(message: Any, field: str = "") -> Iterator[tuple[str, str]]:
    for descriptor, value in message.ListFields():
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if descriptor.type == descriptor.TYPE_MESSAGE:
                yield from _strings(item, descriptor.name)
            elif descriptor.type == descriptor.TYPE_STRING:
                yield descriptor.name if descriptor.name != "content" else field, item


def _column_texts(config: str) -> Iterator[str]:
    try:
        columns = json.loads(config)
    except ValueError:
        return
    for column in columns.values() if isinstance(columns, dict) else ():
        if isinstance(column, dict):
            for key in ("label", "help"):
                if isinstance(column.get(key), str):
                    yield column[key]


def shown_texts(at: AppTest) -> list[str]:
    """Every text of every element drawn in the last run (main area, sidebar, dialogs)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        children = getattr(node, "children", None) or {}
        for child in children.values() if isinstance(children, dict) else children:
            proto = getattr(child, "proto", None)
            if proto is not None and hasattr(proto, "ListFields"):
                for name, text in _strings(proto):
                    if name in _SHOWN_FIELDS or name == "options":
                        found.append(text)
                    elif name == _COLUMNS_FIELD:
                        found.extend(_column_texts(text))
            walk(child)

    walk(at._tree)
    return [text for text in found if text.strip()]


def unmarked_words(texts: Iterable[str], data: Iterable[str] = ()) -> list[str]:
    """The words of `texts` outside ⟦ ⟧ marks that are neither `data` (cells, column and file
    names, ids) nor `ALWAYS_AS_IS`: text a person would see untranslated."""
    allowed = set(ALWAYS_AS_IS)
    data_texts = sorted({d for d in data if d}, key=len, reverse=True)
    left: list[str] = []
    for text in texts:
        rest = _ESCAPE.sub(r"\1", text)  # Markdown escapes of data shown as written
        while _MARKED.search(rest):
            rest = _MARKED.sub(" ", rest)
        for datum in data_texts:  # whole values only: "en" is data, not the end of "often"
            rest = re.sub(rf"(?<!\w){re.escape(datum)}(?!\w)", " ", rest)
        rest = _NAME.sub(" ", _ICON.sub(" ", rest))
        left.extend(word for word in _WORD.findall(rest) if word not in allowed)
    return left


def unmarked_texts(at: AppTest, data: Iterable[str] = ()) -> list[str]:
    """The texts of the last run that hold a word outside the catalogs (see unmarked_words)."""
    data = list(data)
    return [text for text in shown_texts(at) if unmarked_words([text], data)]
