"""Text from files, cells and messages shown as written, never as Markdown or HTML."""

from __future__ import annotations

import re

# Characters Streamlit's Markdown gives a meaning to: emphasis, links and images, code,
# headings, tables, LaTeX ($), colour and icon directives (:red[...], :material/...:).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def plain(text: object) -> str:
    """`text` escaped so that Streamlit's Markdown shows it literally."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def usd(amount: float | None) -> str:
    """A cost in dollars: cents, or up to six decimals under a cent; "unknown" for None."""
    if amount is None:
        return "unknown"
    if 0 < amount < 0.000001:
        return "under $0.000001"
    if 0 < amount < 0.01:
        return "$" + f"{amount:.6f}".rstrip("0")
    return f"${amount:,.2f}"
