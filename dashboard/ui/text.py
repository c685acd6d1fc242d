"""Text from files, cells and messages shown as written, never as Markdown or HTML."""

from __future__ import annotations

import re

from batchdash.money import usd

__all__ = ["plain", "usd", "visible"]

# Characters Streamlit's Markdown gives a meaning to: emphasis, links and images, code,
# headings, tables, LaTeX ($), colour and icon directives (:red[...], :material/...:).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


# Characters that are not seen but change what is seen: C0 controls but tab and line feed,
# DEL, and the direction embeddings, overrides and isolates that can turn the words after a
# name around. Shown as their code point instead.
_UNSEEN = {
    code: f"[U+{code:04X}]"
    for code in (
        *range(0x00, 0x09),
        0x0B,
        0x0C,
        *range(0x0E, 0x20),
        0x7F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}


def visible(text: object) -> str:
    """`text` with its unseen characters shown as their code, for texts Streamlit does not read
    as Markdown (select box options)."""
    return str(text).translate(_UNSEEN)


def plain(text: object) -> str:
    """`text` escaped so that Streamlit's Markdown shows it literally, unseen characters as
    their code (U+202E would otherwise reverse the sentence it stands in)."""
    return _MARKDOWN.sub(r"\\\1", visible(text))
