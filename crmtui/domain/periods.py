"""Reporting periods in plain words: this-quarter, next-quarter, 2026-Q1, 2026-03, last-90d ...

A period is a half-open range of calendar days [start, end) in the user's zone.
Dates (a deal's expected close) are compared with the days; timestamps (a deal's
`closed_at`, an activity's time) with the UTC instants of local midnight at both
ends, so "this-month" means the month on the user's wall calendar. Pure Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# The stored timestamp format (`crmtui.store.types.TIMESTAMP_FORMAT`), repeated so
# the read side never imports SQLAlchemy; a test checks that they agree.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(value: datetime) -> str:
    """An aware datetime as stored timestamp text (UTC)."""
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Stored timestamp text as an aware UTC datetime."""
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


PERIOD_HELP = (
    "this-quarter, next-quarter, last-quarter, this-month, next-month, last-month, "
    "this-year, next-year, last-year, 2026, 2026-Q1, 2026-03, last-90d, next-30d, all"
)


class BadPeriod(ValueError):
    """Text that is not a period this module understands."""


@dataclass(frozen=True, slots=True)
class Period:
    """Calendar days [start, end) with the words they were asked for by."""

    label: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        """Tell whether a calendar day falls inside the period."""
        return self.start <= day < self.end

    def utc_bounds(self, tz: tzinfo) -> tuple[str, str]:
        """Stored-timestamp text of local midnight at the start and at the end."""
        return (
            format_timestamp(datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC)),
            format_timestamp(datetime.combine(self.end, time(0), tzinfo=tz).astimezone(UTC)),
        )

    def weeks(self) -> list[date]:
        """The Mondays of the ISO weeks the period touches, in order."""
        first = self.start - timedelta(days=self.start.weekday())
        out = []
        while first < self.end:
            out.append(first)
            first += timedelta(days=7)
        return out


def _quarter(year: int, q: int) -> tuple[date, date]:
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, end


def _month(year: int, month: int) -> tuple[date, date]:
    while month < 1:
        year, month = year - 1, month + 12
    while month > 12:
        year, month = year + 1, month - 12
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), end


def parse_period(text: str, *, today: date) -> Period:
    """Read a period relative to `today` (the user's local date)."""
    t = text.strip().lower()
    q = (today.month - 1) // 3 + 1
    if t == "all":
        return Period(t, date(1, 1, 1), date(9999, 12, 31))
    if t in ("this-quarter", "next-quarter", "last-quarter"):
        shift = {"this": 0, "next": 1, "last": -1}[t.split("-")[0]]
        index = today.year * 4 + (q - 1) + shift
        return Period(t, *_quarter(index // 4, index % 4 + 1))
    if t in ("this-month", "next-month", "last-month"):
        shift = {"this": 0, "next": 1, "last": -1}[t.split("-")[0]]
        return Period(t, *_month(today.year, today.month + shift))
    if t in ("this-year", "next-year", "last-year"):
        year = today.year + {"this": 0, "next": 1, "last": -1}[t.split("-")[0]]
        return Period(t, date(year, 1, 1), date(year + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-?q([1-4])", t):
        return Period(t.upper(), *_quarter(int(m.group(1)), int(m.group(2))))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise BadPeriod(f"{text!r}: there is no month {month}")
        return Period(t, *_month(int(m.group(1)), month))
    if re.fullmatch(r"\d{4}", t):
        return Period(t, date(int(t), 1, 1), date(int(t) + 1, 1, 1))
    if m := re.fullmatch(r"(last|next)-(\d+)d", t):
        days = int(m.group(2))
        if days < 1:
            raise BadPeriod(f"{text!r}: give at least one day")
        if m.group(1) == "last":
            # The last N days end with today, inclusive.
            return Period(t, today - timedelta(days=days - 1), today + timedelta(days=1))
        return Period(t, today, today + timedelta(days=days))
    raise BadPeriod(f"{text!r} is not a period (try {PERIOD_HELP})")
