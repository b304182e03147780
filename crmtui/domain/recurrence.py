"""Tickler recurrence: calendar rules (RRULE) and "N days after done"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from crmtui.domain.when import BadWhen

_DAYS = {
    "mon": "MO", "monday": "MO", "tue": "TU", "tuesday": "TU", "wed": "WE", "wednesday": "WE",
    "thu": "TH", "thursday": "TH", "fri": "FR", "friday": "FR", "sat": "SA", "saturday": "SA",
    "sun": "SU", "sunday": "SU",
}  # fmt: skip
_ADVERBS = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "yearly": "year",
    "annually": "year",
}
_FREQ = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
_EVERY = re.compile(
    r"^(?:every\s+)?(?:(\d+)\s+)?(day|week|month|year)s?"
    r"(?:\s+on\s+(?:the\s+)?([a-z0-9,\s]+?))?$"
)


def parse_every(text: str) -> str:
    """Turn "2 weeks on mon", "monthly", "weekdays" or an RRULE into an RRULE string."""
    t = " ".join(text.strip().lower().split())
    if t.upper().startswith(("FREQ=", "RRULE:")):
        rule = t.upper().removeprefix("RRULE:")
    else:
        t = re.sub(r"^(?:every\s+)?(daily|weekly|monthly|yearly|annually)\b",
                   lambda m: _ADVERBS[m.group(1)], t)  # fmt: skip
        if t in ("weekdays", "every weekday"):
            rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        else:
            m = _EVERY.match(t)
            if not m:
                raise BadWhen(
                    f"cannot read the repeat rule {text!r} (try: weekly, 2 weeks on mon, "
                    "monthly on the 15th, weekdays, or an RRULE like FREQ=WEEKLY;BYDAY=MO)"
                )
            interval, unit, on = m.group(1), m.group(2), m.group(3)
            parts = [f"FREQ={_FREQ[unit]}"]
            if interval and int(interval) > 1:
                parts.append(f"INTERVAL={int(interval)}")
            if on:
                parts.append(_on_clause(unit, on, text))
            rule = ";".join(parts)
    check_rule(rule)
    return rule


def _on_clause(unit: str, on: str, text: str) -> str:
    items = [i.strip() for i in re.split(r"[,\s]+(?:and\s+)?", on) if i.strip() and i != "and"]
    if unit == "week" and all(i in _DAYS for i in items):
        return "BYDAY=" + ",".join(_DAYS[i] for i in items)
    days = [re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", i) for i in items]
    if unit == "month" and all(days):
        nums = [int(d.group(1)) for d in days if d]
        if all(1 <= n <= 31 for n in nums):
            return "BYMONTHDAY=" + ",".join(str(n) for n in nums)
    raise BadWhen(f"cannot read {on!r} in the repeat rule {text!r}")


def check_rule(rule: str) -> None:
    """Refuse an RRULE that dateutil cannot read or that never repeats."""
    from dateutil.rrule import rrulestr

    try:
        parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        raise BadWhen(f"invalid RRULE {rule!r}: {exc}") from exc
    if parsed.after(datetime(2026, 1, 1)) is None:
        raise BadWhen(f"the rule {rule!r} never repeats")


def next_occurrence(
    rule: str, *, due: datetime, not_before: datetime, tz: tzinfo
) -> datetime | None:
    """The next calendar occurrence after `due` that is not before `not_before`.

    Computed on the wall clock of `tz` so that "every Monday 9:00" stays at 9:00
    across DST changes; a series that fell behind skips the missed dates.
    """
    from dateutil.rrule import rrulestr

    start = due.astimezone(tz).replace(tzinfo=None)
    floor = max(start, not_before.astimezone(tz).replace(tzinfo=None) - timedelta(microseconds=1))
    naive = rrulestr(f"RRULE:{rule}", dtstart=start).after(floor, inc=False)
    if naive is None:
        return None
    return naive.replace(tzinfo=tz)
