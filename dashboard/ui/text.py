"""Text from files, cells and messages shown as written, never as Markdown or HTML."""

from __future__ import annotations

import re

from batchdash.money import usd

__all__ = ["plain", "usd"]

# Characters Streamlit's Markdown gives a meaning to: emphasis, links and images, code,
# headings, tables, LaTeX ($), colour and icon directives (:red[...], :material/...:).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def plain(text: object) -> str:
    """`text` escaped so that Streamlit's Markdown shows it literally."""
    return _MARKDOWN.sub(r"\\\1", str(text))
