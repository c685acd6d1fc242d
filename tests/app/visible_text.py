"""The part of the text a page shows a person (shown_words.shown_texts) that did not pass
through a catalog: in the pseudo-language, every translated text is wrapped in ⟦ ⟧."""

from __future__ import annotations

import re
from collections.abc import Iterable

from streamlit.testing.v1 import AppTest

from batchdash.i18n.messages import PSEUDO_CLOSE, PSEUDO_OPEN
from tests.app.shown_words import shown_texts

# Words the pages show in every language on purpose: product, format and protocol names, and
# the language picker's own names.
ALWAYS_AS_IS = {
    "Batchdash", "OpenAI", "Azure", "Groq", "DeepInfra", "DashScope", "SiliconFlow", "Gemini",
    "LiteLLM", "Ollama", "vLLM", "serve", "Google", "LM", "Studio", "llama", "JSONL", "JSON", "CSV", "TSV", "XLSX", "API", "URL", "ID",
    "UTF", "BOM", "Excel", "GBK", "HTTP", "HTTPS", "SQLite", "PostgreSQL", "Token", "Tokens",
    "Language", "English", "qps-ploc", "sk", "custom_id", "ok", "error", "expired", "cancelled", "not_run",
    "Webhook", "SMTP", "Slack", "Microsoft", "Teams", "Lark", "UTC",
}  # fmt: skip
# The innermost marked text (a message among the fields of another is marked inside it).
_MARKED = re.compile(f"{PSEUDO_OPEN}[^{PSEUDO_OPEN}{PSEUDO_CLOSE}]*{PSEUDO_CLOSE}")
_ESCAPE = re.compile(r"\\(.)")
_ICON = re.compile(r":material/[a-z_]+:|:[a-z]+\[|\]|\*\*|`[^`]*`")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
# Names rather than words: URLs, paths, ids, model and file names (a digit, _, /, : or . inside).
_NAME = re.compile(r"\S*\w[\d_/:.@]+\w\S*|\S*\d\S*|[a-z]+(?:-[a-z]+){2,}")


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
