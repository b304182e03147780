"""Price resolution across dates, quantity breaks and customer lists; line arithmetic.

Every expected figure below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import date

import pytest

from crmtui.domain.lines import LineValues, line_net, parse_percent_bp, totals
from crmtui.domain.pricing import (
    BadQuantity,
    ListInfo,
    PriceBreak,
    format_quantity,
    parse_quantity,
    resolve_price,
)

# Lists: a general 2025 list, a general list from July replacing it, a USD list, a
# list for territory "dach" (whose parent is "europe"), one for "europe", and one for
# account "acme" valid only in Q3.
GENERAL = ListInfo("l1", "Standard 2025", "EUR", date(2025, 1, 1), date(2025, 12, 31), None, None)
SUMMER = ListInfo("l2", "Summer", "EUR", date(2025, 7, 1), None, None, None)
USD = ListInfo("l3", "US", "USD", None, None, None, None)
DACH = ListInfo("l4", "DACH", "EUR", None, None, None, "dach")
EUROPE = ListInfo("l5", "Europe", "EUR", None, None, None, "europe")
ACME = ListInfo("l6", "Acme Q3", "EUR", date(2025, 7, 1), date(2025, 9, 30), "acme", None)
OTHER = ListInfo("l7", "Other account", "EUR", None, None, "globex", None)
LISTS = [GENERAL, SUMMER, USD, DACH, EUROPE, ACME, OTHER]
PRICES = [
    PriceBreak("l1", 0, 10_000),  # 100.00 EUR each
    PriceBreak("l1", 10_000, 9_000),  # from 10 on: 90.00
    PriceBreak("l1", 100_000, 8_000),  # from 100 on: 80.00
    PriceBreak("l2", 0, 9_500),
    PriceBreak("l3", 0, 11_000),
    PriceBreak("l5", 0, 9_200),
    PriceBreak("l6", 5_000, 7_000),  # Acme: from 5 on only
    PriceBreak("l7", 0, 1),
]


def price(day: date, qty: int, *, account: str | None = None, territories: tuple[str, ...] = (),
          currency: str = "EUR", lists: list[ListInfo] = LISTS) -> tuple[int, str] | None:  # fmt: skip
    found = resolve_price(lists=lists, prices=PRICES, currency=currency, day=day,
                          quantity_milli=qty, account_id=account, territories=territories)  # fmt: skip
    return None if found is None else (found.unit_price_minor, found.price_list.id)


@pytest.mark.parametrize(
    ("day", "qty", "account", "territories", "currency", "expected"),
    [
        # March, 1 unit, nobody special: the general 2025 list, base price.
        (date(2025, 3, 1), 1_000, None, (), "EUR", (10_000, "l1")),
        # 10 units hits the 10 break exactly; 99.999 stays on it; 100 moves on.
        (date(2025, 3, 1), 10_000, None, (), "EUR", (9_000, "l1")),
        (date(2025, 3, 1), 99_999, None, (), "EUR", (9_000, "l1")),
        (date(2025, 3, 1), 100_000, None, (), "EUR", (8_000, "l1")),
        # From 1 July the Summer list (valid from later) replaces the 2025 list.
        (date(2025, 7, 1), 100_000, None, (), "EUR", (9_500, "l2")),
        # 2024: the 2025 list is not valid yet, Summer neither: nothing.
        (date(2024, 12, 31), 1_000, None, (), "EUR", None),
        # USD deals only see the USD list.
        (date(2025, 3, 1), 1_000, None, (), "USD", (11_000, "l3")),
        # A DACH account: DACH has no price for it, so Europe (one up) does: 92.00.
        (date(2025, 3, 1), 1_000, "x", ("dach", "europe"), "EUR", (9_200, "l5")),
        # Acme in August, 5 units: its own list; 4 units is below its only break, so
        # the next list down (territory europe) answers.
        (date(2025, 8, 15), 5_000, "acme", ("dach", "europe"), "EUR", (7_000, "l6")),
        (date(2025, 8, 15), 4_000, "acme", ("dach", "europe"), "EUR", (9_200, "l5")),
        # Acme in October: its list has ended; no territory: the Summer list.
        (date(2025, 10, 1), 5_000, "acme", (), "EUR", (9_500, "l2")),
        # Another account's list is never used for Acme.
        (date(2025, 3, 1), 1_000, "acme", (), "EUR", (10_000, "l1")),
    ],
)
def test_price_resolution(day, qty, account, territories, currency, expected) -> None:  # type: ignore[no-untyped-def]
    assert price(day, qty, account=account, territories=territories, currency=currency) == expected


def test_last_day_of_a_list_is_inclusive() -> None:
    assert price(date(2025, 9, 30), 5_000, account="acme") == (7_000, "l6")
    assert price(date(2025, 12, 31), 1_000, lists=[GENERAL]) == (10_000, "l1")
    assert price(date(2026, 1, 1), 1_000, lists=[GENERAL]) is None


def test_quantities_and_percentages() -> None:
    assert parse_quantity("2") == 2_000 and parse_quantity("1.5") == 1_500
    assert parse_quantity("0,250") == 250 and format_quantity(1_500) == "1.5"
    for bad in ("0", "-1", "1.2345", "abc", ""):
        with pytest.raises(BadQuantity):
            parse_quantity(bad)
    assert parse_percent_bp("12.5%") == 1_250 and parse_percent_bp("19") == 1_900
    with pytest.raises(ValueError):
        parse_percent_bp("101")


def test_line_arithmetic_and_tax_rounding_per_class() -> None:
    # 3 x 33.33 EUR less 10% = 89.991 -> 89.99 (half up).
    assert line_net(LineValues(3_000, 3_333, 1_000)) == 8_999
    # 1.5 h x 0.99 = 1.485 -> 1.49 (half up at exactly half a cent).
    assert line_net(LineValues(1_500, 99)) == 149
    # Three lines of 0.10 at 19%: per line tax 0.019 -> 0.02 each = 0.06 ("line"),
    # on the total 0.30 x 19% = 0.057 -> 0.06 too; at 15%: 0.015 -> 0.02 each = 0.06
    # per line, but 0.045 -> 0.05 on the total.
    per_line = [LineValues(1_000, 10, 0, "std", 1_500, "line")] * 3
    on_total = [LineValues(1_000, 10, 0, "std", 1_500, "total")] * 3
    assert totals(per_line).tax_minor == 6 and totals(on_total).tax_minor == 5
    mixed = totals(
        [LineValues(2_000, 5_000, 0, "std", 1_900), LineValues(1_000, 1_000, 0, "red", 700)]
    )
    # Net 100.00 + 10.00; taxes 19.00 and 0.70; gross 129.70.
    assert mixed.net_minor == 11_000 and mixed.tax_minor == 1_970 and mixed.gross_minor == 12_970
    assert [t.tax_class for t in mixed.taxes] == ["red", "std"]
