"""A deal's lines in integer minor units: net per line, tax per class, totals.

- A line's net = unit price × quantity × (1 − discount), computed exactly in integers
  (quantity in thousandths, discount in basis points) and rounded once to the minor
  unit, half up (commercial rounding: amounts are never negative).
- Tax per tax class, by the class's rounding rule: "line" rounds each line's tax half
  up and adds them (what an invoice line shows); "total" adds the class's nets and
  rounds the tax once (what some tax offices ask for). The two can differ by a cent
  per line; the quote prints the one the class says.
- The deal's amount is the sum of its lines' nets (before tax), as forecasts compare
  net amounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crmtui.domain.pricing import QUANTITY_SCALE

BP = 10_000
"""Basis points in one whole (a 12.5% discount is 1250)."""


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (both not negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class LineValues:
    """What the arithmetic needs of a line."""

    quantity_milli: int
    unit_price_minor: int
    discount_bp: int = 0
    tax_class: str | None = None
    tax_rate_bp: int = 0
    tax_rounding: str = "line"


def line_net(line: LineValues) -> int:
    """The line's net amount in minor units (after discount, before tax)."""
    numerator = line.unit_price_minor * line.quantity_milli * (BP - line.discount_bp)
    return _round_half_up(numerator, QUANTITY_SCALE * BP)


def line_tax(line: LineValues) -> int:
    """The line's own tax, rounded half up (what a "line" class adds up)."""
    return _round_half_up(line_net(line) * line.tax_rate_bp, BP)


@dataclass(frozen=True, slots=True)
class TaxTotal:
    """One tax class of a set of lines: its rate, rounding, net and tax."""

    tax_class: str
    rate_bp: int
    rounding: str
    net_minor: int
    tax_minor: int


@dataclass(frozen=True, slots=True)
class Totals:
    """Net, tax per class and gross of a set of lines."""

    net_minor: int
    taxes: tuple[TaxTotal, ...]

    @property
    def tax_minor(self) -> int:
        """All taxes."""
        return sum(t.tax_minor for t in self.taxes)

    @property
    def gross_minor(self) -> int:
        """Net plus taxes."""
        return self.net_minor + self.tax_minor


def totals(lines: Iterable[LineValues]) -> Totals:
    """Net total and taxes per (class, rate, rounding) of the lines."""
    groups: dict[tuple[str, int, str], list[LineValues]] = {}
    net = 0
    for line in lines:
        net += line_net(line)
        key = (line.tax_class or "", line.tax_rate_bp, line.tax_rounding)
        groups.setdefault(key, []).append(line)
    taxes = []
    for (code, rate, rounding), members in sorted(groups.items()):
        class_net = sum(line_net(m) for m in members)
        if rounding == "total":
            tax = _round_half_up(class_net * rate, BP)
        else:
            tax = sum(line_tax(m) for m in members)
        taxes.append(TaxTotal(code, rate, rounding, class_net, tax))
    return Totals(net, tuple(taxes))


def parse_percent_bp(text: str) -> int:
    """A percentage as basis points: "10" -> 1000, "12.5%" -> 1250; 0..100 only."""
    value = text.strip().rstrip("%").strip().replace(",", ".")
    whole, _, frac = value.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ValueError(f"{text!r} is not a percentage (like 10 or 12.5)")
    bp = int(whole) * 100 + int(frac.ljust(2, "0") or 0)
    if bp > BP:
        raise ValueError(f"{text!r} is more than 100%")
    return bp


def format_percent(bp: int) -> str:
    """Basis points as a percentage: 1250 -> "12.5%"."""
    whole, frac = divmod(bp, 100)
    return (f"{whole}.{frac:02d}".rstrip("0").rstrip(".") if frac else str(whole)) + "%"
