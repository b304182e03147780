"""Dates, times and durations in plain words, read in the user's time zone.

"tomorrow 9am", "next fri", "in 2 days", "2d", "yesterday 15:00", "2026-12-01",
"dec 3 14:30". Results are aware datetimes; the services store them in UTC. Day
arithmetic happens on the wall clock of the zone, so "in 1 day" across a DST change
keeps the hour a person expects.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_HOUR = 9  # a date without a time means the start of the working day

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_MONTH_UNITS = {"mo": 1, "month": 1, "months": 1, "y": 12, "yr": 12, "year": 12, "years": 12}
_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_AMOUNT = re.compile(r"^\+?(\d+(?:\.\d+)?)\s*([a-z]+)$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


class BadWhen(ValueError):
    """Text that cannot be read as a date, time or duration."""


def zone(name: str | None) -> tzinfo:
    """The user's zone: an IANA name, else the system's (by name when it can be found).

    A named zone keeps day arithmetic and recurrences right across DST; only when
    the system's zone has no findable name is its current fixed offset used.
    """
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BadWhen(f"unknown time zone {name!r}") from exc
    found = system_zone_name()
    if found:
        return ZoneInfo(found)
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def system_zone_name(
    environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")
) -> str | None:
    """The IANA name of the system's zone: $TZ, /etc/localtime's link, /etc/timezone; else None.

    The same places tzlocal looks on Linux and macOS (where /etc/localtime points into
    /var/db/timezone/zoneinfo/). A name that zoneinfo cannot load counts as unknown.
    """
    env = os.environ if environ is None else environ
    candidates: list[str] = []
    if tz := env.get("TZ", "").strip().lstrip(":"):
        candidates.append(tz.split("zoneinfo/", 1)[-1] if tz.startswith("/") else tz)
    target = _link_target(etc / "localtime")
    if "zoneinfo/" in target:
        candidates.append(target.rsplit("zoneinfo/", 1)[1])
    candidates.append(_first_line(etc / "timezone"))
    for candidate in filter(None, candidates):
        try:
            ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return candidate
    return None


def _link_target(path: Path) -> str:
    """Where a symbolic link points, or "" (not a link, or missing)."""
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _first_line(path: Path) -> str:
    """A small text file's first line, or "" when it cannot be read (missing on macOS)."""
    try:
        return path.read_text(encoding="utf-8").strip().split("\n")[0]
    except (OSError, UnicodeDecodeError):
        return ""


def parse_duration(text: str) -> timedelta:
    """'5m', '1h30m', '90 seconds', '2d', '3 weeks', '1:30' (h:mm) as a timedelta."""
    try:
        return _parse_duration(text)
    except (OverflowError, ValueError):  # more days than timedelta holds; odd digits
        raise BadWhen(f"{text!r} is not a duration crm can use (too long?)") from None


def _parse_duration(text: str) -> timedelta:
    t = text.strip().lower()
    if m := re.fullmatch(r"(\d+):(\d{2})", t):
        return timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))
    if t.isdigit():
        return timedelta(minutes=int(t))  # a bare number is minutes, as on a call sheet
    parts = _PART.findall(t)
    if not parts or _PART.sub("", t).strip(" ,and"):
        raise BadWhen(f"{text!r} is not a duration (try 5m, 1h30m, 2d, 3 weeks)")
    seconds = 0.0
    for amount, unit in parts:
        if unit not in _UNITS:
            raise BadWhen(f"{text!r}: unknown unit {unit!r} (use s, m, h, d or w)")
        seconds += float(amount) * _UNITS[unit]
    return timedelta(seconds=seconds)


def _add_months(day: date, months: int) -> date:
    """Calendar months, clamping to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    from dateutil.relativedelta import relativedelta

    return day + relativedelta(months=months)


def _parse_clock(text: str) -> time | None:
    m = _CLOCK.match(text.strip())
    if not m:
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (half and not 1 <= int(m.group(1)) <= 12):
        return None
    if half is None and m.group(2) is None:
        return None  # "5" alone is not a time
    return time(hour, minute)


def _at(day: date, clock: time | None, tz: tzinfo, day_time: time | None = None) -> datetime:
    clock = clock or day_time or time(DEFAULT_HOUR)
    return datetime.combine(day, clock, tzinfo=tz)


def _relative(t: str, now: datetime, day_time: time | None = None) -> datetime | None:
    """'in 2 days', '2d', '+3h', '1 month', 'in 3 weeks'."""
    body = t.removeprefix("in ").strip()
    m = _AMOUNT.match(body.replace(" ", "")) or _AMOUNT.match(body)
    if not m:
        return None
    amount, unit = m.group(1), m.group(2)
    if unit in _MONTH_UNITS:
        if "." in amount:
            return None
        months = int(amount) * _MONTH_UNITS[unit]
        clock = day_time.replace(tzinfo=now.tzinfo) if day_time else now.timetz()
        return datetime.combine(_add_months(now.date(), months), clock)
    if unit not in _UNITS:
        return None
    seconds = float(amount) * _UNITS[unit]
    if seconds % 86400 == 0:
        # Whole days move the calendar date and keep the wall-clock time (DST-safe),
        # or land at `day_time` (a next touch "in 2 days" is at the working hour).
        clock = day_time.replace(tzinfo=now.tzinfo) if day_time else now.timetz()
        return datetime.combine(now.date() + timedelta(days=seconds // 86400), clock)
    # Hours and minutes are elapsed time: count them in UTC, then show in the zone.
    return (now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(now.tzinfo)


def parse_when(text: str, *, now: datetime, day_time: time | None = None) -> datetime:
    """Read a point in time in the zone of `now` (which must be aware).

    With `day_time`, a day without a time ("tomorrow", "in 2 days", "fri") is at that
    time of day (a next touch at the working hour) instead of 09:00 or now's time.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        return _parse_when(text, now, day_time)
    except BadWhen:
        raise
    except (OverflowError, ValueError):  # "in 99999999 years": past the calendar's end
        raise BadWhen(f"{text!r} is not a date crm can use (out of range)") from None


def _parse_when(text: str, now: datetime, day_time: time | None = None) -> datetime:
    tz = now.tzinfo
    assert tz is not None  # checked by parse_when
    t = " ".join(text.strip().lower().split())
    if not t:
        raise BadWhen("empty date")
    if t == "now":
        return now
    if (rel := _relative(t, now, day_time)) is not None:
        return rel
    words = t.split(" ", 1)
    head, rest = words[0], (words[1] if len(words) > 1 else "")
    day: date | None = None
    if head in ("today", "tonight"):
        day = now.date()
        if head == "tonight" and not rest:
            rest = "7pm"
    elif head == "tomorrow":
        day = now.date() + timedelta(days=1)
    elif head == "yesterday":
        day = now.date() - timedelta(days=1)
    elif head in ("next", "this") and rest.split(" ", 1)[0] in _WEEKDAYS:
        wd, _, rest = rest.partition(" ")
        ahead = (_WEEKDAYS[wd] - now.weekday()) % 7 or 7
        day = now.date() + timedelta(days=ahead)
    elif head == "next" and rest.split(" ", 1)[0] in ("week", "month"):
        unit, _, rest = rest.partition(" ")
        if unit == "week":
            day = now.date() + timedelta(days=7 - now.weekday())  # next Monday
        else:
            day = _add_months(now.date().replace(day=1), 1)
    elif head in _WEEKDAYS:
        ahead = (_WEEKDAYS[head] - now.weekday()) % 7 or 7
        day = now.date() + timedelta(days=ahead)
    if day is not None:
        clock = None
        if rest:
            clock = _parse_clock(rest.removeprefix("at ").strip())
            if clock is None:
                raise BadWhen(f"{text!r}: cannot read the time {rest!r} (try 9am or 15:00)")
        return _at(day, clock, tz, day_time)
    if (clock := _parse_clock(t.removeprefix("at "))) is not None:
        return _at(now.date(), clock, tz)
    return _absolute(text, now, day_time)


def _absolute(text: str, now: datetime, day_time: time | None = None) -> datetime:
    from dateutil import parser

    default = datetime.combine(now.date(), day_time or time(DEFAULT_HOUR))
    try:
        parsed = parser.parse(text, default=default, dayfirst=False)
    except (ValueError, OverflowError) as exc:
        raise BadWhen(
            f"cannot read {text!r} as a date (try: tomorrow 9am, next fri, in 2 days, "
            "2026-12-01 14:30)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=now.tzinfo)
    return parsed


def defer_target(text: str, *, now: datetime, due_at: datetime) -> datetime:
    """Where a defer moves a reminder: whole days keep its time of day.

    "3d" means three days from today at the reminder's own time; "2h" means two
    hours from now; anything else is a moment ("next fri 10am"). Used by
    `crm defer` and the Agenda screen alike.
    """
    tz = now.tzinfo
    if tz is None:
        raise ValueError("now must be timezone-aware")
    try:
        span = parse_duration(text)
    except BadWhen:
        return parse_when(text, now=now)
    if span and not span % timedelta(days=1):
        clock = due_at.astimezone(tz).time()
        return datetime.combine(now.date() + timedelta(days=span.days), clock, tzinfo=tz)
    return now + span
