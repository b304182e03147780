"""The forecast across currencies: one section per currency, plus a converted total.

Each deal is converted into the company currency at the rate of its close date
(`crmtui.domain.exchange`: the latest rate on or before that day): a won or lost
deal's `closed_at` day, an open deal's expected close, else the day the report is
made. Amount and weighted amount are converted deal by deal and rounded once each,
so the converted total is exactly the sum of the lines `--explain` lists. A deal
with no usable rate is left out of the converted total and listed as such, never
converted with a guessed rate.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from crmtui.domain.exchange import Conversion, NoRate, Rate, RateTable, parse_rate
from crmtui.domain.periods import Period
from crmtui.reports.forecast import CategoryTotal, Forecast, forecast
from crmtui.reports.scope import FORECAST_CATEGORIES, DealRow, Scope
from crmtui.store.types import parse_timestamp


def load_rates(db: sqlite3.Connection, currencies: set[str]) -> RateTable:
    """The live rates quoting any of `currencies`: every leg a conversion between them
    can use (a direct pair quotes one of them; a cross rate's two legs quote both)."""
    if not currencies:
        return RateTable([])
    marks = ",".join("?" * len(currencies))
    rows = db.execute(
        "SELECT base, quote, day, rate FROM exchange_rate WHERE deleted_at IS NULL"
        f" AND quote IN ({marks})",
        sorted(currencies),
    ).fetchall()
    return RateTable([Rate(b, q, date.fromisoformat(d), parse_rate(r)) for b, q, d, r in rows])


def close_day(row: DealRow, tz: tzinfo, today: date) -> date:
    """The day a deal is converted at: closed, else expected close, else today."""
    if row.closed_at:
        return parse_timestamp(row.closed_at).astimezone(tz).date()
    if row.expected_close:
        return date.fromisoformat(row.expected_close)
    return today


@dataclass(frozen=True, slots=True)
class ConvertedLine:
    """One deal in the converted total: its own amounts, the converted ones and the rate."""

    deal: DealRow
    day: date
    amount: Conversion
    weighted: Conversion

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "id": self.deal.id,
            "name": self.deal.name,
            "category": self.deal.forecast_category,
            "currency": self.deal.currency,
            "amount_minor": self.deal.amount_minor,
            "weighted_minor": self.deal.weighted_minor,
            "day": self.day.isoformat(),
            "rate_day": self.amount.rate_day.isoformat() if self.amount.rate_day else None,
            "factor": str(self.amount.factor),
            "rates": self.amount.describe(),
            "converted_amount_minor": self.amount.converted_minor,
            "converted_weighted_minor": self.weighted.converted_minor,
        }


@dataclass
class ConvertedTotal:
    """Every deal of the forecast in the company currency."""

    currency: str
    lines: list[ConvertedLine] = field(default_factory=list)
    unconverted: list[tuple[DealRow, str]] = field(default_factory=list)
    """Deals with no rate on or before their day, and why."""

    @property
    def amount_minor(self) -> int:
        """Sum of the converted amounts."""
        return sum(line.amount.converted_minor for line in self.lines)

    @property
    def weighted_minor(self) -> int:
        """Sum of the converted weighted amounts."""
        return sum(line.weighted.converted_minor for line in self.lines)

    def totals(self) -> list[CategoryTotal]:
        """Per forecast category: deals, converted amount and weighted amount."""
        sums: dict[str, list[int]] = {c: [0, 0, 0] for c in FORECAST_CATEGORIES}
        for line in self.lines:
            entry = sums.setdefault(line.deal.forecast_category, [0, 0, 0])
            entry[0] += 1
            entry[1] += line.amount.converted_minor
            entry[2] += line.weighted.converted_minor
        return [CategoryTotal(c, *v) for c, v in sums.items()]

    def as_dict(self, *, explain: bool) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "weighted_minor": self.weighted_minor,
            "totals": [
                {
                    "category": t.category,
                    "count": t.count,
                    "amount_minor": t.amount_minor,
                    "weighted_minor": t.weighted_minor,
                }
                for t in self.totals()
            ],
            "deals": [line.as_dict() for line in self.lines] if explain else None,
            "unconverted": [
                {"id": row.id, "name": row.name, "currency": row.currency, "reason": why}
                for row, why in self.unconverted
            ],
        }


@dataclass
class MultiForecast:
    """The forecast as a manager first meets it: per currency, and converted when it can be."""

    scope: Scope
    period: Period | None
    sections: list[Forecast]
    converted: ConvertedTotal | None
    company_currency: str | None


def convert_rows(
    rows: list[DealRow], rates: RateTable, target: str, *, tz: tzinfo, today: date
) -> ConvertedTotal:
    """Convert each deal's amount and weighted amount into `target` at its day's rate."""
    out = ConvertedTotal(target)
    for row in rows:
        day = close_day(row, tz, today)
        try:
            amount = rates.convert(row.amount_minor, row.currency, target, day)
            weighted = rates.convert(row.weighted_minor, row.currency, target, day)
        except NoRate as exc:
            out.unconverted.append((row, str(exc)))
            continue
        out.lines.append(ConvertedLine(row, day, amount, weighted))
    return out


def forecast_by_currency(
    db: sqlite3.Connection,
    *,
    scope: Scope,
    period: Period | None,
    tz: tzinfo,
    company_currency: str | None,
    today: date,
) -> MultiForecast:
    """One forecast per currency, and every deal converted into the company currency
    when one is set and the deals are not all in it already (or rates exist)."""
    every = forecast(db, scope=scope, period=period, tz=tz, currency=None, mixed_ok=True)
    currencies = sorted({r.currency for r in every.lines})
    sections = [
        forecast(db, scope=scope, period=period, tz=tz, currency=code, rows=every.lines)
        for code in currencies
    ]
    converted = None
    if company_currency is not None and currencies:
        rates = load_rates(db, {*currencies, company_currency})
        if rates or currencies == [company_currency]:
            converted = convert_rows(every.lines, rates, company_currency, tz=tz, today=today)
    return MultiForecast(scope, period, sections, converted, company_currency)
