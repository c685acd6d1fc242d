"""Dollar amounts as text, with one rounding for every figure shown side by side.

Batch costs run from millionths of a dollar (a sandbox try) to hundreds. Rounding each figure
on its own ($0.02 beside $0.002828 beside $0.0009) hides which is larger and by how much, so
figures shown together are given the same number of decimals: enough for the smallest of them
to keep two significant digits, at least two (cents) and at most six. Parts shown beside their
sum are rounded so that they add up to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

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


def usd_all(
    amounts: Iterable[float | None], sums: Mapping[int, Sequence[int]] | None = None
) -> list[str]:
    """Each amount as `usd` text, all with the same decimals.

    `sums` maps the index of a total to the indexes of its parts, where the page shows them
    together ("$0.000045: $0.000022 for the input and $0.000023 for the answers"): the parts
    are then rounded so that they add up to the total as shown.
    """
    values = list(amounts)
    decimals = usd_decimals(values)
    texts = [usd(amount, decimals) for amount in values]
    for total, parts in (sums or {}).items():
        added = _adding_up(values[total], [values[index] for index in parts], decimals)
        for index, text in zip(parts, added or (), strict=False):
            texts[index] = text
    return texts


def _adding_up(total: float | None, parts: list[float | None], decimals: int) -> list[str] | None:
    """The parts' texts rounded to add up to `total` rounded (None: a part is unknown).

    Each part is rounded down, then the units the rounded total has left over go to the parts
    that lost most in rounding down (the largest-remainder rule): no part moves by a whole unit.
    """
    known = [part for part in parts if part is not None and math.isfinite(part)]
    if total is None or not math.isfinite(total) or len(known) < len(parts):
        return None
    unit = Decimal(1).scaleb(-decimals)
    exact = [Decimal(part) / unit for part in known]
    units = [value.to_integral_value(ROUND_FLOOR) for value in exact]
    short = int(Decimal(total).quantize(unit, ROUND_HALF_EVEN) / unit - sum(units))
    if not 0 <= short <= len(units):
        return None  # the parts do not make this total
    by_loss = sorted(range(len(units)), key=lambda index: exact[index] - units[index], reverse=True)
    for index in by_loss[:short]:
        units[index] += 1
    # A cost rounded to nothing at the finest decimals is still a cost: "under $0.000001".
    return [
        _("under $0.000001")
        if part > 0 and not count and decimals == MAX_DECIMALS
        else usd(float(count * unit), decimals)
        for part, count in zip(known, units, strict=True)
    ]
