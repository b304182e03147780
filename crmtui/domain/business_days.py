"""Business days: which days are worked (weekdays, holidays) and waits counted in them.

A follow-up plan says "two business days later"; this module turns that into a
moment on the user's wall clock, skipping weekends and the configured holidays,
at the start of the working day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WAIT_DAYS = 366
"""A plan's waits are bounded, so a calendar with no working day cannot loop forever."""


@dataclass(frozen=True)
class WorkCalendar:
    """Worked weekdays (0 = Monday), holidays and the hour a working day starts."""

    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = field(default_factory=frozenset)
    start: time = time(9, 0)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is worked: a working weekday and not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """`day` itself when worked, else the first worked day after it."""
        for _ in range(MAX_WAIT_DAYS * 2):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("the working calendar has no working day within two years")

    def add_days(self, day: date, days: int) -> date:
        """The working day `days` business days after `day` (0: `day` or the next worked one).

        Friday + 1 and Saturday + 1 are both Monday: each business day counted is a
        worked day strictly after the previous one.
        """
        if days == 0:
            return self.next_working_day(day)
        for _ in range(days):
            day = self.next_working_day(day + timedelta(days=1))
        return day

    def due_after(self, base: datetime, days: int, tz: tzinfo) -> datetime:
        """When a step waiting `days` business days after `base` is due (aware, in `tz`).

        With a wait the step is due at the start of that working day. Without one it is
        due at `base` when that is within a working day already begun, else at the start
        of the next working day.
        """
        local = base.astimezone(tz)
        if days == 0 and self.is_working_day(local.date()) and local.time() >= self.start:
            return local
        day = self.add_days(local.date(), days)
        return datetime.combine(day, self.start, tzinfo=tz)


def parse_weekdays(text: str) -> frozenset[int]:
    """Worked weekdays from text like "mon-fri" or "mon,tue,thu" (ValueError when unreadable)."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if first not in DAY_NAMES or (dash and last not in DAY_NAMES):
            raise ValueError(f"{part!r} is not a weekday or a range like mon-fri")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if dash else a
        out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not out:
        raise ValueError("names no working day")
    return frozenset(out)


def parse_holidays(values: list[str]) -> frozenset[date]:
    """Holidays from ISO dates (ValueError naming the first one that is not a date)."""
    out: set[date] = set()
    for value in values:
        try:
            out.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(out)
