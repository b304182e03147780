"""The agenda: what is overdue, due today and coming up, and who is owed a touch.

Read side only, plain sqlite3 (no SQLModel), so the app can call it from a
worker thread and `crm due` stays quick. Times come back as aware datetimes in
the zone of the `now` the caller passes (the user's zone).

Buckets, on the user's wall clock:

- **overdue**: due before `now` (a 9:00 call is overdue at 9:05, even today);
- **today**: due from `now` until the end of the local day;
- **upcoming**: due on one of the next `days` local calendar days.

A snoozed reminder is hidden until its snooze ends; then it shows in the bucket
of its (unchanged) due date, usually still overdue.

Stay in touch: a contact with a cadence (`stay_in_touch_days`) whose last call,
email, meeting or visit is older than the cadence, or who was never touched. A
note is not a touch: it records something without reaching the person.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from crmtui.services.consent import format_timestamp

TOUCH_KINDS = ("call", "email", "meeting", "visit")
BUCKET_LIMIT = 1000  # per bucket: an agenda longer than this is not read, it is triaged


def parse_stamp(text: str, tz: tzinfo) -> datetime:
    """A stored UTC timestamp as an aware datetime in `tz`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).astimezone(tz)


def _opt_stamp(text: str | None, tz: tzinfo) -> datetime | None:
    return None if text is None else parse_stamp(text, tz)


def day_start(now: datetime, offset_days: int = 0) -> datetime:
    """Local midnight `offset_days` after the day of `now` (aware, in now's zone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the user's zone)")
    day = now.date() + timedelta(days=offset_days)
    return datetime.combine(day, time(0), tzinfo=now.tzinfo)


def json_ready(value: Any) -> Any:
    """Datetimes as ISO text, tuples as lists, recursively (for JSON output)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One open reminder with what it is about, for the agenda and `crm due`."""

    tickler_id: str
    text: str
    due_at: datetime
    snoozed_until: datetime | None
    recurrence: str | None
    recur_after_days: int | None
    contact_id: str | None
    contact_name: str | None
    contact_phone: str | None
    do_not_call: bool
    account_id: str | None
    account_name: str | None
    deal_id: str | None
    deal_name: str | None

    @property
    def recurring(self) -> bool:
        """Whether completing it creates the next one."""
        return bool(self.recurrence or self.recur_after_days)

    @property
    def about(self) -> str:
        """Who or what it is about, as one label ("Anna Müller (Acme)")."""
        name = self.contact_name or self.deal_name or self.account_name or ""
        if self.contact_name and self.account_name:
            name = f"{name} ({self.account_name})"
        return name

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO timestamps)."""
        return json_ready(asdict(self) | {"recurring": self.recurring})


@dataclass(frozen=True, slots=True)
class StayInTouch:
    """A contact whose stay-in-touch cadence has run out."""

    contact_id: str
    name: str
    company: str | None
    phone: str | None
    do_not_call: bool
    cadence_days: int
    last_touched: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO timestamps)."""
        return json_ready(asdict(self))


@dataclass(frozen=True, slots=True)
class Agenda:
    """The agenda at a moment: three buckets of reminders and the stay-in-touch list."""

    now: datetime
    overdue: tuple[AgendaItem, ...]
    today: tuple[AgendaItem, ...]
    upcoming: tuple[AgendaItem, ...]
    stay_in_touch: tuple[StayInTouch, ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the buckets."""
        return {
            "now": self.now.isoformat(),
            "overdue": [i.as_dict() for i in self.overdue],
            "today": [i.as_dict() for i in self.today],
            "upcoming": [i.as_dict() for i in self.upcoming],
            "stay_in_touch": [s.as_dict() for s in self.stay_in_touch],
        }


_ITEM_SQL = """
SELECT t.id, t.text, t.due_at, t.snoozed_until, t.recurrence, t.recur_after_days,
       c.id, coalesce(c.name, l.name), coalesce(c.phone, c.mobile, l.phone),
       coalesce(c.do_not_call, 0), a.id, a.name, d.id, d.name
FROM tickler t
LEFT JOIN deal d ON d.id = t.deal_id AND d.deleted_at IS NULL
-- A reminder about a lead (a web lead's plan step) shows the lead's name and phone.
LEFT JOIN lead l ON l.id = t.lead_id AND l.deleted_at IS NULL
LEFT JOIN contact c ON c.id = coalesce(t.contact_id, d.contact_id) AND c.deleted_at IS NULL
LEFT JOIN account a ON a.id = coalesce(t.account_id, c.account_id, d.account_id)
     AND a.deleted_at IS NULL
WHERE t.status = 'open' AND t.deleted_at IS NULL
  AND t.due_at >= :start AND t.due_at < :end {snooze}
ORDER BY t.due_at, t.id
LIMIT :limit
"""
_NOT_SNOOZED = "AND (t.snoozed_until IS NULL OR t.snoozed_until <= :now)"


def _item(row: Sequence[Any], tz: tzinfo) -> AgendaItem:
    return AgendaItem(
        tickler_id=row[0],
        text=row[1],
        due_at=parse_stamp(row[2], tz),
        snoozed_until=_opt_stamp(row[3], tz),
        recurrence=row[4],
        recur_after_days=row[5],
        contact_id=row[6],
        contact_name=row[7],
        contact_phone=row[8],
        do_not_call=bool(row[9]),
        account_id=row[10],
        account_name=row[11],
        deal_id=row[12],
        deal_name=row[13],
    )


def open_ticklers(
    db: sqlite3.Connection,
    *,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    include_snoozed: bool = False,
    limit: int = BUCKET_LIMIT,
) -> list[AgendaItem]:
    """Open reminders due in [start, end) (either side open when None), earliest first."""
    sql = _ITEM_SQL.format(snooze="" if include_snoozed else _NOT_SNOOZED)
    params = {
        "start": format_timestamp(start) if start else "",
        "end": format_timestamp(end) if end else "~",  # '~' sorts after any timestamp
        "now": format_timestamp(now),
        "limit": limit,
    }
    tz = now.tzinfo
    assert tz is not None
    return [_item(row, tz) for row in db.execute(sql, params)]


def stay_in_touch(
    db: sqlite3.Connection, *, now: datetime, limit: int = BUCKET_LIMIT
) -> list[StayInTouch]:
    """Contacts with a cadence not touched within it, the longest overdue first."""
    tz = now.tzinfo
    assert tz is not None
    kinds = ",".join(f"'{k}'" for k in TOUCH_KINDS)
    stamp = format_timestamp(now)
    # The cadence's window start in the stored format (see consent.callable_clause).
    window = "strftime('%Y-%m-%dT%H:%M:%S', :now, '-' || c.stay_in_touch_days || ' days') || :frac"
    sql = f"""
    SELECT * FROM (
      SELECT c.id, c.name, a.name, coalesce(c.phone, c.mobile), c.do_not_call,
             c.stay_in_touch_days AS stay_in_touch_days,
             (SELECT max(x.occurred_at) FROM activity x WHERE x.contact_id = c.id
                AND x.deleted_at IS NULL AND x.kind IN ({kinds})) AS last,
             {window} AS since
      FROM contact c LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL
      WHERE c.stay_in_touch_days IS NOT NULL AND c.deleted_at IS NULL
        AND c.archived_at IS NULL
    ) WHERE last IS NULL OR last < since
    ORDER BY last IS NOT NULL, julianday(last) + stay_in_touch_days, id
    LIMIT :limit
    """
    params = {
        "now": stamp[:19].replace("T", " "),
        "frac": stamp[19:],
        "limit": limit,
    }
    # Never touched first, then by how long ago the cadence ran out.
    return [
        StayInTouch(
            contact_id=r[0],
            name=r[1],
            company=r[2],
            phone=r[3],
            do_not_call=bool(r[4]),
            cadence_days=r[5],
            last_touched=_opt_stamp(r[6], tz),
        )
        for r in db.execute(sql, params)
    ]


def load_agenda(
    db: sqlite3.Connection,
    *,
    now: datetime,
    days: int | None = 7,
    include_snoozed: bool = False,
    limit: int = BUCKET_LIMIT,
) -> Agenda:
    """The agenda at `now` (aware, the user's zone); `days=None` shows every future reminder."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the user's zone)")
    if days is not None and days < 0:
        raise ValueError("days must not be negative")
    tomorrow = day_start(now, 1)
    horizon = day_start(now, 1 + days) if days is not None else None

    def bucket(start: datetime | None, end: datetime | None) -> tuple[AgendaItem, ...]:
        return tuple(
            open_ticklers(
                db, now=now, start=start, end=end, include_snoozed=include_snoozed, limit=limit
            )
        )

    return Agenda(
        now=now,
        overdue=bucket(None, now),
        today=bucket(now, tomorrow),
        upcoming=bucket(tomorrow, horizon) if days != 0 else (),
        stay_in_touch=tuple(stay_in_touch(db, now=now, limit=limit)),
    )


# --------------------------------------------------------------------------- activities


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One logged activity with the names of what it is linked to."""

    activity_id: str
    kind: str
    occurred_at: datetime
    duration_s: int | None
    outcome: str | None
    text: str | None
    consent_override: bool
    contact_id: str | None
    contact_name: str | None
    account_id: str | None
    account_name: str | None
    deal_id: str | None
    deal_name: str | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO timestamps)."""
        return json_ready(asdict(self))


def list_activities(
    db: sqlite3.Connection,
    *,
    tz: tzinfo,
    contact_id: str | None = None,
    since: datetime | None = None,
    kinds: Sequence[str] = (),
    limit: int = 50,
) -> list[ActivityRow]:
    """Activities, newest first: all, or one contact's; since a moment; of some kinds."""
    where = ["x.deleted_at IS NULL"]
    params: list[Any] = []
    if contact_id is not None:
        where.append("x.contact_id = ?")
        params.append(contact_id)
    if since is not None:
        where.append("x.occurred_at >= ?")
        params.append(format_timestamp(since))
    if kinds:
        where.append(f"x.kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)
    sql = f"""
    SELECT x.id, x.kind, x.occurred_at, x.duration_s, x.outcome, x.text, x.consent_override,
           c.id, c.name, a.id, a.name, d.id, d.name
    FROM activity x
    LEFT JOIN contact c ON c.id = x.contact_id
    LEFT JOIN account a ON a.id = x.account_id
    LEFT JOIN deal d ON d.id = x.deal_id
    WHERE {" AND ".join(where)}
    ORDER BY x.occurred_at DESC, x.id DESC
    LIMIT ?
    """
    params.append(limit)
    return [
        ActivityRow(
            activity_id=r[0],
            kind=r[1],
            occurred_at=parse_stamp(r[2], tz),
            duration_s=r[3],
            outcome=r[4],
            text=r[5],
            consent_override=bool(r[6]),
            contact_id=r[7],
            contact_name=r[8],
            account_id=r[9],
            account_name=r[10],
            deal_id=r[11],
            deal_name=r[12],
        )
        for r in db.execute(sql, params)
    ]
