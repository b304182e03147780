"""Which price a product has for a customer on a day: price lists, dates and quantity breaks.

The rule (pure; the store reads the candidates):
1. Only lists in the deal's currency that are valid on the day count (`valid_from` and
   `valid_to` inclusive, NULL open-ended), and only lists for everyone, for the
   customer's account, or for its territory or a territory above it.
2. The most specific list that has a price for the product wins: the account's own
   list, then the territory's (the nearest one up the tree first), then a general one.
3. Between lists of one rank, the one valid from the latest day wins (a new list
   replaces an old one without the old one having to end); then the lower id, so every
   laptop picks the same.
4. Inside the list, the price of the largest quantity break not above the quantity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

QUANTITY_SCALE = 1000
"""Quantities are integer thousandths of a unit (1.5 hours is 1500)."""
_QUANTITY = re.compile(r"^\d{1,12}(?:[.,]\d{1,3})?$")


class BadQuantity(ValueError):
    """Text that is not a quantity."""


def parse_quantity(text: str) -> int:
    """A quantity as thousandths: "2" -> 2000, "1.5" -> 1500, "0,250" -> 250."""
    value = text.strip()
    if not _QUANTITY.match(value):
        raise BadQuantity(f"{text!r} is not a quantity (a number, at most 3 decimals)")
    whole, _, frac = value.replace(",", ".").partition(".")
    milli = int(whole) * QUANTITY_SCALE + int(frac.ljust(3, "0") or 0)
    if milli <= 0:
        raise BadQuantity(f"{text!r}: a quantity is more than 0")
    return milli


def format_quantity(milli: int) -> str:
    """Thousandths as text without trailing zeros: 1500 -> "1.5", 2000 -> "2"."""
    whole, frac = divmod(milli, QUANTITY_SCALE)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)


@dataclass(frozen=True, slots=True)
class ListInfo:
    """A price list as the rule sees it."""

    id: str
    name: str
    currency: str
    valid_from: date | None
    valid_to: date | None
    account_id: str | None
    territory_id: str | None


@dataclass(frozen=True, slots=True)
class PriceBreak:
    """A price on a list for a product from a quantity on."""

    price_list_id: str
    min_quantity_milli: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class Resolved:
    """The price found, the list it came from and why that list."""

    unit_price_minor: int
    currency: str
    price_list: ListInfo
    min_quantity_milli: int
    reason: str


def _rank(lst: ListInfo, account_id: str | None, territories: Sequence[str]) -> int | None:
    """0 for the account's list, 1.. for a territory (nearest first), a last rank for a
    general list; None when the list is for someone else."""
    if lst.account_id is not None:
        return 0 if lst.account_id == account_id else None
    if lst.territory_id is not None:
        if lst.territory_id in territories:
            return 1 + list(territories).index(lst.territory_id)
        return None
    return 1 + len(territories)


def resolve_price(
    *,
    lists: Sequence[ListInfo],
    prices: Sequence[PriceBreak],
    currency: str,
    day: date,
    quantity_milli: int,
    account_id: str | None,
    territories: Sequence[str],
) -> Resolved | None:
    """The price by the module's rule, or None when no list in force has the product.

    `prices` are the product's prices on any list; `territories` the account's
    territory and those above it, nearest first.
    """
    by_list: dict[str, list[PriceBreak]] = {}
    for p in prices:
        by_list.setdefault(p.price_list_id, []).append(p)
    candidates: list[tuple[int, int, str, ListInfo]] = []
    for lst in lists:
        if lst.currency != currency or lst.id not in by_list:
            continue
        if (lst.valid_from and lst.valid_from > day) or (lst.valid_to and lst.valid_to < day):
            continue
        rank = _rank(lst, account_id, territories)
        if rank is None:
            continue
        start = lst.valid_from.toordinal() if lst.valid_from else 0
        candidates.append((rank, -start, lst.id, lst))
    for rank, _, _, lst in sorted(candidates, key=lambda c: c[:3]):
        usable = [p for p in by_list[lst.id] if p.min_quantity_milli <= quantity_milli]
        if not usable:
            continue  # every break of this list starts above the quantity
        best = max(usable, key=lambda p: p.min_quantity_milli)
        who = (
            "the account's list"
            if rank == 0
            else "a general list"
            if lst.territory_id is None
            else "the territory's list"
        )
        reason = f"{who} {lst.name!r}"
        if best.min_quantity_milli:
            reason += f", from {format_quantity(best.min_quantity_milli)} on"
        return Resolved(best.unit_price_minor, currency, lst, best.min_quantity_milli, reason)
    return None
