"""Calling hours in the contact's own time zone: a phone number's zones, and whether now is inside.

The zone comes from the number the call list dials (libphonenumber's time zones for
its area); a number spanning several zones is callable only when the hours hold in
every one of them, so nobody is rung at night. A number with no known zone is judged
in the user's own zone.
"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_hours(text: str) -> tuple[time, time]:
    """ "09:00-18:00" as (start, end); ValueError with a clear message otherwise."""
    start, sep, end = text.replace(" ", "").partition("-")
    try:
        if not sep:
            raise ValueError
        first, last = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        raise ValueError(f"must be HH:MM-HH:MM (like 09:00-18:00), not {text!r}") from None
    if first >= last:
        raise ValueError(f"must start before it ends, not {text!r}")
    return first, last


@lru_cache(maxsize=4096)
def number_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The time zones of a number in E.164 (empty when unknown)."""
    import phonenumbers
    from phonenumbers import timezone

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = []
    for name in timezone.time_zones_for_number(parsed):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown" and the like
    return tuple(zones)


def within(now: datetime, zones: tuple[ZoneInfo, ...], hours: tuple[time, time]) -> bool:
    """Whether `now` falls within the calling hours in every zone (the user's zone: none known)."""
    start, end = hours
    moments = [now.astimezone(z) for z in zones] or [now]
    return all(start <= m.time().replace(tzinfo=None) < end for m in moments)
