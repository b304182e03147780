"""iCalendar export: open ticklers as VTODO, meetings as VEVENT (built with `icalendar`).

- UIDs are stable: a tickler series (a recurring reminder makes a new row per
  occurrence) keeps one UID, `<series or tickler id>@crmtui`, so importing or
  subscribing to a later export updates the to-do instead of adding another;
  a meeting's UID is its activity id.
- Times are written in the user's zone (config `timezone`, else the system's,
  `domain.when.zone`) with its VTIMEZONE, so "every Monday 0:30" is a Monday in
  the calendar too and stays at 0:30 across DST, as crmtui computes it. A zone
  without an IANA name (a bare offset) is written as floating local time: the
  wall clock and the weekday stay right, which UTC would not keep.
- A recurring to-do has DTSTART = DUE (RFC 5545 expands a rule from DTSTART) and
  its DUE lies on the rule. An occurrence moved off its rule (deferred) is
  exported as a one-off with the rule in its DESCRIPTION: a DTSTART off the rule
  makes the recurrence set undefined, and crmtui makes the next occurrence when
  this one is done anyway (the next export updates the to-do by its UID).
- Every open tickler gets a VALARM at its due time (relative to DUE); a snoozed
  one at the end of its snooze (absolute, VALUE=DATE-TIME in UTC). "N days after
  done" cannot be an RRULE (it depends on when it is done), so it is said in the
  DESCRIPTION.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from crmtui.formats.ical_zone import vtimezone
from crmtui.store.types import parse_timestamp

PRODID = "-//crmtui//crmtui export//EN"
MEETING_DEFAULT = timedelta(minutes=30)

_TICKLERS = """
SELECT t.id, t.series_id, t.text, t.due_at, t.snoozed_until, t.recurrence, t.recur_after_days,
       t.created_at, t.updated_at, c.name, a.name, d.name, c.phone, c.email
FROM tickler t
LEFT JOIN contact c ON c.id = t.contact_id
LEFT JOIN account a ON a.id = t.account_id
LEFT JOIN deal d ON d.id = t.deal_id
WHERE t.deleted_at IS NULL AND t.status = 'open'
ORDER BY t.due_at, t.id
"""
_MEETINGS = """
SELECT x.id, x.occurred_at, x.duration_s, x.text, x.outcome, x.created_at,
       c.name, a.name, d.name
FROM activity x
LEFT JOIN contact c ON c.id = x.contact_id
LEFT JOIN account a ON a.id = x.account_id
LEFT JOIN deal d ON d.id = x.deal_id
WHERE x.deleted_at IS NULL AND x.kind = 'meeting'
ORDER BY x.occurred_at, x.id
"""


def _about(contact: str | None, account: str | None, deal: str | None) -> str:
    return " · ".join(p for p in (contact, account, deal) if p)


def _on_rule(rule: str, start: datetime) -> bool:
    """Whether `start` (wall clock) is an occurrence of `rule` counted from itself."""
    from dateutil.rrule import rrulestr

    local = start.replace(tzinfo=None)
    first = next(iter(rrulestr(f"RRULE:{rule}", dtstart=local)), None)
    return first == local


def _local(stamp: str, zone: tzinfo) -> datetime:
    """A stored UTC timestamp in the export's zone (naive wall clock when it has no name)."""
    moment = parse_timestamp(stamp).astimezone(zone)
    return moment if export_zone(zone) else moment.replace(tzinfo=None)


def _todo(row: tuple[Any, ...], zone: tzinfo, stamp: datetime) -> Any:
    from icalendar import Alarm, Todo, vRecur

    (tid, series, text, due, snoozed, rule, after_days, created, updated, *names) = row
    contact, account, deal, phone, email = names
    todo = Todo()
    todo.add("uid", f"{series or tid}@crmtui")
    todo.add("dtstamp", stamp)
    todo.add("created", parse_timestamp(created))
    todo.add("last-modified", parse_timestamp(updated))
    about = _about(contact, account, deal)
    todo.add("summary", f"{text} — {about}" if about else text)
    details = [d for d in (about, phone, email) if d]
    if after_days:
        details.append(f"repeats {after_days} days after it is done")
    local_due = _local(due, zone)
    recurring = bool(rule) and _on_rule(rule, local_due)
    if rule and not recurring:
        details.append(f"repeats ({rule}); this one was moved off the rule")
    if details:
        todo.add("description", "\n".join(details))
    if recurring:
        todo.add("dtstart", local_due)
    todo.add("due", local_due)
    todo.add("status", "NEEDS-ACTION")
    if recurring:
        todo.add("rrule", vRecur.from_ical(rule))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    if snoozed:
        alarm.add(
            "trigger", parse_timestamp(snoozed).astimezone(UTC), parameters={"VALUE": "DATE-TIME"}
        )
    else:
        alarm.add("trigger", timedelta(0), parameters={"RELATED": "END"})
    todo.add_component(alarm)
    return todo


def _event(row: tuple[Any, ...], zone: tzinfo, stamp: datetime) -> Any:
    from icalendar import Event

    aid, occurred, duration, text, outcome, created, contact, account, deal = row
    event = Event()
    event.add("uid", f"{aid}@crmtui")
    event.add("dtstamp", stamp)
    event.add("created", parse_timestamp(created))
    start = _local(occurred, zone)
    event.add("dtstart", start)
    event.add("dtend", start + (timedelta(seconds=duration) if duration else MEETING_DEFAULT))
    about = _about(contact, account, deal)
    first = text.strip().splitlines()[0] if text and text.strip() else "Meeting"
    event.add("summary", f"{first} — {about}" if about else first)
    if text:
        event.add("description", text)
    event.add("status", "CANCELLED" if outcome == "cancelled" else "CONFIRMED")
    return event


def export_zone(tz: tzinfo) -> tzinfo | None:
    """The zone times are written in: `tz` when it has an IANA name, else None (floating)."""
    return tz if getattr(tz, "key", None) else None


def build_calendar(db: sqlite3.Connection, *, tz: tzinfo, now: datetime) -> Any:
    """An `icalendar.Calendar` with every open tickler and every meeting."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "crmtui")
    stamp = now.astimezone(UTC)
    for row in db.execute(_TICKLERS):
        cal.add_component(_todo(row, tz, stamp))
    for row in db.execute(_MEETINGS):
        cal.add_component(_event(row, tz, stamp))
    named = export_zone(tz)
    if isinstance(named, ZoneInfo):
        years = [
            part.decoded(name).year
            for part in cal.subcomponents
            for name in ("dtstart", "due")
            if name in part
        ]
        cal.subcomponents.insert(0, vtimezone(named, min(years, default=now.year)))
    return cal


def export_ics(db: sqlite3.Connection, *, tz: tzinfo, now: datetime) -> bytes:
    """The calendar as iCalendar bytes (CRLF lines, folded at 75 octets)."""
    return bytes(build_calendar(db, tz=tz, now=now).to_ical())


def calendar_objects(
    db: sqlite3.Connection, *, tz: tzinfo, now: datetime
) -> dict[str, tuple[str, str, bytes]]:
    """{key: (kind, record id, one VCALENDAR)} for a CalDAV collection: one object each.

    The key is what stays the same for the phone: a reminder's series (or own) id, a
    meeting's activity id; kind is "todo" or "event"; the record is the tickler row
    open now, or the activity.
    """
    from icalendar import Calendar

    stamp = now.astimezone(UTC)
    named = export_zone(tz)
    out: dict[str, tuple[str, str, bytes]] = {}
    parts = [("todo", row, _todo(row, tz, stamp)) for row in db.execute(_TICKLERS)]
    parts += [("event", row, _event(row, tz, stamp)) for row in db.execute(_MEETINGS)]
    for kind, row, part in parts:
        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        if isinstance(named, ZoneInfo):
            first = part.decoded("due" if "due" in part else "dtstart")
            cal.add_component(vtimezone(named, first.year))
        cal.add_component(part)
        key = (row[1] or row[0]) if kind == "todo" else row[0]
        out[key] = (kind, row[0], bytes(cal.to_ical()))
    return out
