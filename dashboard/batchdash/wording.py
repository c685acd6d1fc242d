"""Small helpers that word messages the way an analyst reads them."""

from __future__ import annotations

from collections.abc import Sequence

from batchdash.i18n import Message, _l, n_l


def _listing(items: Sequence[object]) -> Message | str:
    """'3, 7, 9' ('3、7、9' in Chinese), joined in the language in use when shown."""
    listing = items[0] if isinstance(items[0], Message) else str(items[0])
    for item in items[1:]:
        listing = _l("{listing}, {item}", listing=listing, item=item)
    return listing


def listing(items: Sequence[object]) -> Message | str:
    """Words or names one after another: 'a, b, c' ('a、b、c'), in the language when shown."""
    return _listing(items) if items else ""


def alternatives(items: Sequence[object]) -> Message | str:
    """'a or b or c' ('a或b或c'), in the language in use when shown."""
    if not items:
        return ""
    either = items[0] if isinstance(items[0], Message) else str(items[0])
    for item in items[1:]:
        either = _l("{either} or {item}", either=either, item=item)
    return either


def describe_rows(rows: Sequence[int], shown: int = 5) -> Message:
    """'row 3', 'rows 3, 7 and 9', or 'rows 3, 7, 9, 11, 12 and 40 more' (1-based numbers),
    worded when shown: in Chinese '第 3 行', '第 3、7 和 9 行'."""
    if len(rows) == 1:
        return n_l("row {rows}", "rows {rows}", 1, rows=rows[0])
    if len(rows) > shown:
        return n_l(
            "row {head} and {more} more",
            "rows {head} and {more} more",
            len(rows),
            head=_listing(rows[:shown]),
            more=len(rows) - shown,
        )
    return n_l(
        "row {rows}",
        "rows {rows}",
        len(rows),
        rows=_l("{head} and {last}", head=_listing(rows[:-1]), last=rows[-1]),
    )
