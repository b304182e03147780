"""A VTIMEZONE for one IANA zone, written with yearly rules as calendar programs write them.

`icalendar`'s own VTIMEZONE lists every transition as RDATEs from 1970 to 2038:
dateutil (and so vobject and the programs built on it) misread that long form
(every offset came out as standard time), and a recurring reminder goes on past
2038. So the zone's transitions in the first year the export uses are turned
into `FREQ=YEARLY;BYMONTH=..;BYDAY=..` rules, as Outlook and Apple Calendar
write them, and the rules are checked against the zone for YEARS_CHECKED years.
A zone whose changes follow no such rule (or that changed its rules inside that
span) gets `icalendar`'s RDATE form for just that span instead.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

YEARS_CHECKED = 30
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    """One change of offset: the local wall clock just before it, and the offsets."""

    local: datetime  # naive, on the clock of `before`
    before: timedelta
    after: timedelta
    name: str


def transitions(zone: ZoneInfo, year: int) -> list[Transition]:
    """The zone's offset changes in `year`, to the quarter hour (as tzdata makes them)."""
    out: list[Transition] = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        following = moment + timedelta(days=1)
        new = following.astimezone(zone).utcoffset()
        if new != offset and offset is not None and new is not None:
            at = moment  # the last quarter hour on the old offset, found step by step
            for step in (timedelta(hours=1), timedelta(minutes=15)):
                while (at + step).astimezone(zone).utcoffset() == offset:
                    at += step
            at += timedelta(minutes=15)
            name = at.astimezone(zone).tzname() or ""
            out.append(Transition((at + offset).replace(tzinfo=None), offset, new, name))
            offset = new
        moment = following
    return out


def _byday(day: datetime) -> str:
    """The month's n-th (or last, -1) weekday of `day`, as BYDAY writes it."""
    last = calendar.monthrange(day.year, day.month)[1]
    n = -1 if day.day + 7 > last else (day.day - 1) // 7 + 1
    return f"{n}{_DAYS[day.weekday()]}"


def _rule_day(year: int, month: int, byday: str) -> int:
    n, weekday = int(byday[:-2]), _DAYS.index(byday[-2:])
    days = [
        d for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if calendar.weekday(year, month, d) == weekday
    ]  # fmt: skip
    return days[n - 1] if n > 0 else days[n]


def _rules_hold(zone: ZoneInfo, first: list[Transition], start: int) -> bool:
    for year in range(start + 1, start + YEARS_CHECKED):
        found = transitions(zone, year)
        if len(found) != len(first):
            return False
        for rule, actual in zip(first, found, strict=True):
            expected = rule.local.replace(
                year=year, day=_rule_day(year, rule.local.month, _byday(rule.local))
            )
            if (actual.local, actual.before, actual.after) != (expected, rule.before, rule.after):
                return False
    return True


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def vtimezone(zone: ZoneInfo, first_year: int) -> Any:
    """An `icalendar.Timezone` for `zone`, right from `first_year` on."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    # Both observances begin a year early: a date before every onset is undefined.
    first_year -= 1
    found = transitions(zone, first_year)
    if found and not _rules_hold(zone, found, first_year):
        return Timezone.from_tzid(
            zone.key,
            first_date=datetime(first_year, 1, 1).date(),
            last_date=datetime(first_year + YEARS_CHECKED, 1, 1).date(),
        )
    tz = Timezone()
    tz.add("tzid", zone.key)
    if not found:
        moment = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        only = TimezoneStandard()
        only.add("dtstart", datetime(1970, 1, 1))
        only.add("tzoffsetfrom", offset)
        only.add("tzoffsetto", offset)
        only.add("tzname", moment.tzname() or _offset(offset))
        tz.add_component(only)
        return tz
    for change in found:
        part: TimezoneDaylight | TimezoneStandard = (
            TimezoneDaylight() if change.after > change.before else TimezoneStandard()
        )
        part.add("dtstart", change.local)
        part.add("tzoffsetfrom", change.before)
        part.add("tzoffsetto", change.after)
        part.add("tzname", change.name)
        part.add("rrule", {"FREQ": "YEARLY", "BYMONTH": change.local.month,
                           "BYDAY": _byday(change.local)})  # fmt: skip
        tz.add_component(part)
    return tz
