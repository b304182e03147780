"""Converting money between currencies at dated rates: pure, exact, no database.

A rate says 1 `base` buys `rate` of `quote` (the ECB publishes 1 EUR = 1.1357 USD).
Conversion of an amount on a day uses, for the pair, the latest rate published on or
before that day (the nearest earlier rate: a deal closing on a Saturday takes Friday's
rate; a rate published after the day is never used). The pair is found directly
(base→quote or quote→base) or through one shared base on the same day (USD→GBP via
EUR, as the ECB's table gives every currency against the euro). Decimal arithmetic
throughout; the result is rounded once to the target's minor unit, half to even, so
a converted total is the sum of the converted amounts it lists.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from crmtui.domain.money import exponent


class BadRate(ValueError):
    """A rate that is not a positive decimal number."""


def parse_rate(text: str) -> Decimal:
    """A rate's decimal text as a positive Decimal ("1.1357"), or BadRate."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise BadRate(f"{text!r} is not a rate (a decimal number like 1.1357)") from exc
    if not value.is_finite() or value <= 0:
        raise BadRate(f"{text!r} is not a rate (it must be more than 0)")
    return value


@dataclass(frozen=True, slots=True)
class Rate:
    """1 `base` buys `rate` of `quote` on `day`."""

    base: str
    quote: str
    day: date
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Conversion:
    """One amount converted: what went in, what came out and the rates used."""

    minor: int
    currency: str
    converted_minor: int
    target: str
    day: date
    """The day the amount was converted for (the deal's close date)."""
    rate_day: date | None
    """The day of the rate used (on or before `day`); None when no conversion was needed."""
    factor: Decimal
    """Target units per unit of the amount's currency."""
    via: tuple[Rate, ...]
    """The published rates behind `factor` (none for the same currency)."""

    def describe(self) -> str:
        """The rates in words: "1 EUR = 1.1357 USD (2025-04-25)"."""
        if not self.via:
            return "same currency"
        return "; ".join(f"1 {r.base} = {r.rate} {r.quote} ({r.day})" for r in self.via)


class NoRate(LookupError):
    """No rate on or before the day links the two currencies."""

    def __init__(self, currency: str, target: str, day: date) -> None:
        super().__init__(f"no {currency}→{target} rate on or before {day}")
        self.currency = currency
        self.target = target
        self.day = day


def scale(minor: int, currency: str, factor: Decimal, target: str) -> int:
    """Minor units of `currency` times `factor`, in minor units of `target` (half to even)."""
    amount = Decimal(minor).scaleb(-exponent(currency)) * factor
    return int(amount.scaleb(exponent(target)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class RateTable:
    """Every known rate, indexed by pair and day, answering "the rate on or before"."""

    def __init__(self, rates: list[Rate]) -> None:
        by_pair: dict[tuple[str, str], dict[date, Rate]] = defaultdict(dict)
        for r in rates:
            by_pair[(r.base, r.quote)][r.day] = r
        self._days = {pair: sorted(days) for pair, days in by_pair.items()}
        self._rates = dict(by_pair)
        self._bases: dict[str, set[str]] = defaultdict(set)
        for base, quote in self._rates:
            self._bases[quote].add(base)

    def __bool__(self) -> bool:
        return bool(self._rates)

    def _on_or_before(self, base: str, quote: str, day: date) -> Rate | None:
        days = self._days.get((base, quote))
        if not days:
            return None
        i = bisect.bisect_right(days, day)
        return self._rates[(base, quote)][days[i - 1]] if i else None

    def _paths(self, source: str, target: str, day: date) -> list[tuple[Decimal, tuple[Rate, ...]]]:
        """Every way to go from `source` to `target` with the latest rates on or before `day`."""
        out: list[tuple[Decimal, tuple[Rate, ...]]] = []
        direct = self._on_or_before(target, source, day)
        if direct is not None:  # 1 target = r source
            out.append((1 / direct.rate, (direct,)))
        inverse = self._on_or_before(source, target, day)
        if inverse is not None:  # 1 source = r target
            out.append((inverse.rate, (inverse,)))
        for base in sorted(self._bases[source] & self._bases[target]):
            a = self._on_or_before(base, source, day)
            b = self._on_or_before(base, target, day)
            if a is not None and b is not None and a.day == b.day:
                out.append((b.rate / a.rate, (a, b)))
        return out

    def convert(self, minor: int, currency: str, target: str, day: date) -> Conversion:
        """Convert `minor` of `currency` into `target` at the rate of `day`, or NoRate."""
        if currency == target:
            return Conversion(minor, currency, minor, target, day, None, Decimal(1), ())
        paths = self._paths(currency, target, day)
        if not paths:
            raise NoRate(currency, target, day)
        # The newest rate wins; a direct quote before a cross rate of the same day.
        factor, via = max(paths, key=lambda p: (min(r.day for r in p[1]), -len(p[1])))
        rate_day = min(r.day for r in via)
        converted = scale(minor, currency, factor, target)
        return Conversion(minor, currency, converted, target, day, rate_day, factor, via)
