"""Dollar amounts as text, with one rounding for every figure shown side by side.

Batch costs run from millionths of a dollar (a sandbox try) to hundreds. Rounding each figure
on its own ($0.02 beside $0.002828 beside $0.0009) hides which is larger and by how much, so
figures shown together are given the same number of decimals: enough for the smallest of them
to keep two significant digits, at least two (cents) and at most six.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from batchdash.i18n import _

#: Fewest decimals: cents.
MIN_DECIMALS = 2
#: Most decimals: a millionth of a dollar, finer than any one request is billed.
MAX_DECIMALS = 6
# Significant digits the smallest figure keeps.
_SIGNIFICANT = 2


def usd_decimals(amounts: Iterable[float | None]) -> int:
    """The decimals that show every amount of `amounts` with the same rounding."""
    smallest = min((abs(a) for a in amounts if a is not None and math.isfinite(a) and a), default=0)
    if not smallest or smallest >= 10**-MIN_DECIMALS:
        return MIN_DECIMALS
    first_digit = -math.floor(math.log10(smallest))
    return min(max(first_digit + _SIGNIFICANT - 1, MIN_DECIMALS), MAX_DECIMALS)


def usd(amount: float | None, decimals: int | None = None) -> str:
    """`amount` in dollars with `decimals` (default: its own, as `usd_decimals`); "unknown" for
    None, and "under $0.000001" for a cost too small to show; in the language in use."""
    if amount is None or not math.isfinite(amount):
        return _("unknown")
    places = usd_decimals([amount]) if decimals is None else decimals
    if 0 < amount < 10**-MAX_DECIMALS / 2:
        return _("under $0.000001")
    return f"${amount:,.{places}f}"


def usd_all(amounts: Iterable[float | None]) -> list[str]:
    """Each amount as `usd` text, all with the same decimals."""
    values = list(amounts)
    decimals = usd_decimals(values)
    return [usd(amount, decimals) for amount in values]
