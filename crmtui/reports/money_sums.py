"""Sums of deal amounts and weighted amounts in SQL that cannot overflow 64 bits.

SQLite's `sum()` stops with "integer overflow" past 2^63 and `total()` rounds to a
double. Amounts are limited at input (`money.MAX_MINOR`), but rows written by hand, by
an old version or by a synced peer may hold anything up to 2^63 - 1, and two of those
must still add up (to the true total: Python's integers are exact). So every sum is
taken in two parts: the value divided by 2^32 and the remainder, each under 2^31 in
size, which no count of rows below 2^32 can overflow; Python joins them.

The weighted amount (amount × probability, half up, as `scope.weighted`) is exact in
SQL only while the product fits in 64 bits. Rows past that (`SAFE_AMOUNT`) are handed
out as text, one "amount probability" pair each, and weighted in Python (a deal with
no probability at all weighs nothing, as in SQL). Deal `d` and
its stage `s` are the names the queries use.
"""

from __future__ import annotations

from decimal import Decimal

from crmtui.reports.scope import weighted

SPLIT = 1 << 32
SAFE_AMOUNT = 1 << 53
"""Past this amount (or a probability outside ±1000) the product may leave 64 bits."""

_AMOUNT = "COALESCE(d.amount_minor, 0)"
_PROBABILITY = "COALESCE(d.probability, s.probability)"
# Weighted per deal, rounded half up (scope.weighted: `(amount * p + 50) // 100`). SQLite's
# integer `/` truncates toward zero where Python's `//` floors, so the remainder is taken
# out first: the same result for negative amounts too.
_HALF_UP = f"({_AMOUNT} * {_PROBABILITY} + 50)"
_WEIGHTED = f"(({_HALF_UP} - (({_HALF_UP} % 100) + 100) % 100) / 100)"
_SAFE = (
    f"({_AMOUNT} BETWEEN -{SAFE_AMOUNT} AND {SAFE_AMOUNT}"
    f" AND ({_PROBABILITY} IS NULL OR {_PROBABILITY} BETWEEN -1000 AND 1000))"
)
_SAFE_WEIGHTED = f"(CASE WHEN {_SAFE} THEN {_WEIGHTED} END)"
_UNSAFE_PAIR = f"(CASE WHEN NOT {_SAFE} THEN {_AMOUNT} || ' ' || {_PROBABILITY} END)"

AMOUNT_SUM_SQL = f"sum({_AMOUNT} / {SPLIT}), sum({_AMOUNT} % {SPLIT})"
"""Two result columns: the group's amount, split (join them with `amount_sum`)."""

WEIGHTED_SUM_SQL = f"sum({_SAFE_WEIGHTED} / {SPLIT}), sum({_SAFE_WEIGHTED} % {SPLIT}), group_concat({_UNSAFE_PAIR})"
"""Three result columns: the group's weighted amount (join them with `weighted_sum`)."""


def amount_sum(high: int | None, low: int | None) -> int:
    """The exact sum from the two columns of `AMOUNT_SUM_SQL` (0 for no rows)."""
    return (high or 0) * SPLIT + (low or 0)


def weighted_sum(high: int | None, low: int | None, unsafe: str | None) -> int:
    """The exact weighted sum from the three columns of `WEIGHTED_SUM_SQL`."""
    total = amount_sum(high, low)
    # Decimal reads a REAL written by hand ("1.0e+20") as well as an integer's digits.
    for pair in unsafe.split(",") if unsafe else ():
        amount, probability = pair.split(" ")
        total += weighted(int(Decimal(amount)), int(Decimal(probability)))
    return total
