"""The call queue: who to call next, and today's call counters.

Read side only, plain sqlite3 (no SQLModel), shared by `crm calls` and the
app's call-list mode (from a worker thread). The queue is built from

1. open reminders due before the end of the local day (overdue first, by due
   date), about a contact, a deal's contact or a lead, not snoozed;
2. then, when a `CallFilter` is given, contacts matching it, least recently
   touched first (never touched before all others).

Every contact entry is a live, unarchived contact with a phone or mobile that may
be called now: never a do-not-call contact, never one at or over its call cap
(the same rule as the write path, `consent.callable_clause`). A contact appears
once, for its earliest reason.

A lead not converted yet (a web lead's plan step, a reminder on a lead) is a row of
its own (`CallItem.lead_id`): live, not disqualified, with a phone. A lead has no
consent record, so no do-not-call applies; the team's default cap does, counted over
the calls logged on the lead (`consent.lead_callable_clause`); calling hours use its
number's zone; claims hold it under `lead:ID`. A converted lead's reminders are its
contact's: they list once, as the contact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from crmtui.reports.agenda import TOUCH_KINDS, day_start, json_ready, parse_stamp
from crmtui.services.consent import (
    CallCap,
    callable_clause,
    format_timestamp,
    lead_callable_clause,
)

# Outcomes that mean a person answered (the "connects" counter).
CONNECT_OUTCOMES = ("connected", "meeting-booked", "callback-requested", "not-interested")
RECENT_ACTIVITIES = 3


@dataclass(frozen=True, slots=True)
class CallFilter:
    """A saved list: contacts in a territory (and below), with a tag, at a stage, untouched."""

    territory_id: str | None = None
    tag: str | None = None
    stage_id: str | None = None
    untouched_days: int | None = None

    @property
    def is_empty(self) -> bool:
        """True when the filter selects nothing beyond the due reminders."""
        return not (self.territory_id or self.tag or self.stage_id or self.untouched_days)


@dataclass(frozen=True, slots=True)
class RecentActivity:
    """One of the last activities with a contact, shown before dialling."""

    kind: str
    outcome: str | None
    text: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class OpenDeal:
    """An open deal of the contact, shown before dialling."""

    deal_id: str
    name: str
    stage: str | None
    amount_minor: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class CallItem:
    """One entry of the call queue: a contact, or a lead not converted yet (`lead_id`)."""

    contact_id: str | None
    name: str
    company: str | None
    phone: str
    reason: str  # "overdue", "today" or "list"
    tickler_id: str | None
    tickler_text: str | None
    due_at: datetime | None
    last_touched: datetime | None
    recent: tuple[RecentActivity, ...]
    deals: tuple[OpenDeal, ...]
    claimed: bool = False
    """This rep holds the contact by a claim (team calling, `services.follow_ups.call_claims`)."""
    lead_id: str | None = None
    """A lead not converted yet (then `contact_id` is None and `deals` is empty)."""

    @property
    def key(self) -> str:
        """Who this row is, as claims key it: the contact's id, or `lead:` and the lead's."""
        return self.contact_id if self.contact_id else LEAD_KEY + (self.lead_id or "")

    @property
    def kind(self) -> str:
        """ "contact" or "lead"."""
        return "lead" if self.contact_id is None else "contact"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO timestamps), with its kind ("contact" or "lead")."""
        return {"kind": self.kind, **json_ready(asdict(self))}


@dataclass(frozen=True, slots=True)
class CallStats:
    """Today's counters (local day): calls logged and how many reached a person."""

    calls_today: int
    connects_today: int


LEAD_KEY = "lead:"
"""A lead's row key (the claim key, `services.follow_ups.call_claims.claim_key`)."""

_PHONE = "coalesce(c.phone, c.mobile)"
_LIVE = "c.deleted_at IS NULL AND c.archived_at IS NULL AND coalesce(c.phone, c.mobile) IS NOT NULL"


def _due_rows(
    db: sqlite3.Connection, *, now: datetime, cap: CallCap, limit: int
) -> list[tuple[Any, ...]]:
    allowed, params = callable_clause("c", now=now, cap=cap)
    sql = f"""
    SELECT c.id, c.name, a.name, {_PHONE}, t.id, t.text, t.due_at
    FROM tickler t
    LEFT JOIN deal d ON d.id = t.deal_id AND d.deleted_at IS NULL
    LEFT JOIN lead l ON l.id = t.lead_id
    JOIN contact c ON c.id = coalesce(t.contact_id, d.contact_id, l.converted_contact_id)
    LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL
    WHERE t.status = 'open' AND t.deleted_at IS NULL AND t.due_at < :end
      AND (t.snoozed_until IS NULL OR t.snoozed_until <= :now)
      AND {_LIVE} AND {allowed}
    ORDER BY t.due_at, t.id
    LIMIT :limit
    """
    params |= {
        "end": format_timestamp(day_start(now, 1)),
        "now": format_timestamp(now),
        # Several reminders may name one contact; fetch enough to fill the queue.
        "limit": limit * 4,
    }
    return db.execute(sql, params).fetchall()


def _lead_due_rows(
    db: sqlite3.Connection, *, now: datetime, cap: CallCap, limit: int
) -> list[tuple[Any, ...]]:
    """Due reminders about a lead not converted yet (no contact or deal of its own)."""
    allowed, params = lead_callable_clause("l", now=now, cap=cap)
    sql = f"""
    SELECT l.id, l.name, l.company, l.phone, t.id, t.text, t.due_at
    FROM tickler t JOIN lead l ON l.id = t.lead_id
    WHERE t.status = 'open' AND t.deleted_at IS NULL AND t.due_at < :end
      AND (t.snoozed_until IS NULL OR t.snoozed_until <= :now)
      AND t.contact_id IS NULL AND t.deal_id IS NULL
      AND l.deleted_at IS NULL AND l.status NOT IN ('converted', 'disqualified')
      AND l.converted_contact_id IS NULL AND nullif(trim(l.phone), '') IS NOT NULL
      AND {allowed}
    ORDER BY t.due_at, t.id
    LIMIT :limit
    """
    params |= {
        "end": format_timestamp(day_start(now, 1)),
        "now": format_timestamp(now),
        "limit": limit * 4,
    }
    return db.execute(sql, params).fetchall()


def _list_rows(
    db: sqlite3.Connection, *, now: datetime, cap: CallCap, flt: CallFilter, limit: int
) -> list[tuple[Any, ...]]:
    allowed, params = callable_clause("c", now=now, cap=cap)
    kinds = ",".join(f"'{k}'" for k in TOUCH_KINDS)
    inner = [_LIVE, allowed]
    outer = ["1"]
    prefix = ""
    if flt.territory_id:
        # A territory includes its sub-territories; a contact without its own
        # territory is in its account's.
        prefix = (
            "WITH RECURSIVE sub(id) AS (SELECT :territory UNION "
            "SELECT t.id FROM territory t JOIN sub ON t.parent_id = sub.id "
            "WHERE t.deleted_at IS NULL)"
        )
        inner.append("coalesce(c.territory_id, a.territory_id) IN (SELECT id FROM sub)")
        params["territory"] = flt.territory_id
    if flt.tag:
        inner.append("EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = :tag)")
        params["tag"] = flt.tag
    if flt.stage_id:
        inner.append(
            "EXISTS (SELECT 1 FROM deal sd WHERE sd.contact_id = c.id AND sd.stage_id = :stage "
            "AND sd.status = 'open' AND sd.deleted_at IS NULL)"
        )
        params["stage"] = flt.stage_id
    if flt.untouched_days:
        outer.append("(last IS NULL OR last < :untouched)")
        params["untouched"] = format_timestamp(now - timedelta(days=flt.untouched_days))
    sql = f"""
    {prefix}
    SELECT id, name, company, phone, last FROM (
      SELECT c.id AS id, c.name AS name, a.name AS company, {_PHONE} AS phone,
             (SELECT max(x.occurred_at) FROM activity x WHERE x.contact_id = c.id
                AND x.deleted_at IS NULL AND x.kind IN ({kinds})) AS last
      FROM contact c LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL
      WHERE {" AND ".join(inner)}
    ) WHERE {" AND ".join(outer)}
    ORDER BY last IS NOT NULL, last, id
    LIMIT :limit
    """
    params["limit"] = limit
    return db.execute(sql, params).fetchall()


def _recent(
    db: sqlite3.Connection, contact_id: str | None, tz: tzinfo, lead_id: str | None = None
) -> tuple[RecentActivity, ...]:
    column = "contact_id" if contact_id else "lead_id"
    rows = db.execute(
        f"SELECT kind, outcome, text, occurred_at FROM activity WHERE {column} = ? "
        "AND deleted_at IS NULL ORDER BY occurred_at DESC, id DESC LIMIT ?",
        (contact_id or lead_id, RECENT_ACTIVITIES),
    )
    return tuple(RecentActivity(r[0], r[1], r[2], parse_stamp(r[3], tz)) for r in rows)


def _deals(db: sqlite3.Connection, contact_id: str) -> tuple[OpenDeal, ...]:
    rows = db.execute(
        "SELECT d.id, d.name, s.name, d.amount_minor, d.currency FROM deal d "
        "LEFT JOIN stage s ON s.id = d.stage_id WHERE d.contact_id = ? "
        "AND d.status = 'open' AND d.deleted_at IS NULL ORDER BY d.expected_close, d.id",
        (contact_id,),
    )
    return tuple(OpenDeal(*r) for r in rows)


def _last_touched(
    db: sqlite3.Connection, contact_id: str | None, lead_id: str | None = None
) -> str | None:
    kinds = ",".join("?" * len(TOUCH_KINDS))
    column = "contact_id" if contact_id else "lead_id"
    row = db.execute(
        f"SELECT max(occurred_at) FROM activity WHERE {column} = ? AND deleted_at IS NULL "
        f"AND kind IN ({kinds})",
        (contact_id or lead_id, *TOUCH_KINDS),
    ).fetchone()
    return row[0] if row else None


def _callable_now(db: sqlite3.Connection, key: str, now: datetime, hours: Any) -> bool:
    """Whether the calling hours hold now where the contact's (or lead's) dialled number is."""
    from crmtui.domain.calling_hours import number_zones, within

    if key.startswith(LEAD_KEY):
        row = db.execute(
            "SELECT phone_e164 FROM lead WHERE id = ?", (key.removeprefix(LEAD_KEY),)
        ).fetchone()
    else:
        row = db.execute(
            "SELECT coalesce(phone_e164, mobile_e164) FROM contact WHERE id = ?", (key,)
        ).fetchone()
    zones = number_zones(row[0]) if row and row[0] else ()
    return within(now, zones, hours)


def call_queue(
    db: sqlite3.Connection,
    *,
    now: datetime,
    cap: CallCap,
    filter: CallFilter | None = None,  # the name the brief and the app use
    limit: int = 200,
    me: str | None = None,
    hours: tuple[time, time] | None = None,
) -> list[CallItem]:
    """Who to call next at `now` (aware, the user's zone): due reminders, then the list.

    A contact another rep holds by a claim is left out (team calling); `me` is this
    laptop's rep, whose claims put their contacts first. With calling `hours`, a
    contact is offered only while they hold in its own time zone (its number's).
    Leads with due reminders are rows of their own, by due date among the contacts'.
    """
    from crmtui.services.follow_ups.call_claims import held_by_me, held_by_others

    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the user's zone)")
    tz = now.tzinfo
    # Another rep's contacts count as seen: they are skipped like a second reminder.
    # Claims are keyed as rows are: a contact's id, or `lead:` and a lead's id.
    seen: set[str] = set(held_by_others(db, me, now))
    mine = set(held_by_me(db, me, now))
    # (key, contact id, lead id, name, company, phone, reminder, its text, due), why, last
    picked: list[tuple[Sequence[Any], str, str | None]] = []
    due_rows = [(r[0], None, *r) for r in _due_rows(db, now=now, cap=cap, limit=limit)]
    due_rows += [
        (LEAD_KEY + r[0], r[0], *r) for r in _lead_due_rows(db, now=now, cap=cap, limit=limit)
    ]
    due_rows.sort(key=lambda r: (r[8], r[6]))
    for key, lead_id, rid, name, company, phone, tid, text, due in due_rows:
        if key in seen or len(picked) >= limit:
            continue
        seen.add(key)
        reason = "overdue" if parse_stamp(due, tz) < now else "today"
        contact_id = None if lead_id else rid
        row = (key, contact_id, lead_id, name, company, phone, tid, text, due)
        picked.append((row, reason, None))
    if filter is not None and not filter.is_empty and len(picked) < limit:
        rows = _list_rows(db, now=now, cap=cap, flt=filter, limit=limit - len(picked) + len(seen))
        for cid, name, company, phone, last in rows:
            if cid in seen or len(picked) >= limit:
                continue
            seen.add(cid)
            picked.append(((cid, cid, None, name, company, phone, None, None, None), "list", last))
    if hours is not None:
        picked = [p for p in picked if _callable_now(db, p[0][0], now, hours)]
    if mine:
        # A claimed contact is this rep's to call now: first, in the order found.
        picked.sort(key=lambda p: p[0][0] not in mine)
    items: list[CallItem] = []
    for (key, cid, lead_id, name, company, phone, tid, text, due), reason, listed_last in picked:
        last = listed_last if reason == "list" else _last_touched(db, cid, lead_id)
        items.append(
            CallItem(
                contact_id=cid,
                name=name,
                company=company,
                phone=phone,
                reason=reason,
                tickler_id=tid,
                tickler_text=text,
                due_at=parse_stamp(due, tz) if due else None,
                last_touched=parse_stamp(last, tz) if last else None,
                recent=_recent(db, cid, tz, lead_id),
                deals=_deals(db, cid) if cid else (),
                claimed=key in mine,
                lead_id=lead_id,
            )
        )
    return items


def call_stats(db: sqlite3.Connection, *, now: datetime) -> CallStats:
    """Calls logged today (the user's local day) and how many of them connected."""
    marks = ",".join("?" * len(CONNECT_OUTCOMES))
    row = db.execute(
        f"SELECT count(*), coalesce(sum(outcome IN ({marks})), 0) FROM activity "
        "WHERE kind = 'call' AND deleted_at IS NULL AND occurred_at >= ? AND occurred_at < ?",
        (
            *CONNECT_OUTCOMES,
            format_timestamp(day_start(now)),
            format_timestamp(day_start(now, 1)),
        ),
    ).fetchone()
    return CallStats(calls_today=int(row[0]), connects_today=int(row[1]))


@dataclass(frozen=True, slots=True)
class OverCap:
    """A contact called more often than its cap allows, without a recorded override."""

    contact_id: str
    name: str
    calls: int
    cap: int
    days: int
    reps: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return json_ready(asdict(self))


def over_cap(db: sqlite3.Connection, *, now: datetime, cap: CallCap) -> list[OverCap]:
    """Contacts over their call cap by calls nobody forced: reps calling offline, seen after sync.

    A rep who calls a capped contact is refused unless they force it (recorded as an
    override); two reps offline are not refused, and their calls meet at sync. Those are
    the ones listed: more calls without an override in the cap's window than the cap.
    """
    stamp = format_timestamp(now)
    longest = db.execute(
        "SELECT max(max_calls_days) FROM contact WHERE max_calls_days IS NOT NULL"
    ).fetchone()[0]
    floor = format_timestamp(now - timedelta(days=max(cap.days, longest or 0)))
    window = (
        "strftime('%Y-%m-%dT%H:%M:%S', :now, '-' || coalesce(c.max_calls_days, :days)"
        " || ' days') || :frac"
    )
    rows = db.execute(
        "SELECT c.id, c.name, count(*), coalesce(c.max_calls, :calls),"
        " coalesce(c.max_calls_days, :days), group_concat(DISTINCT coalesce(r.name, '?'))"
        " FROM activity a JOIN contact c ON c.id = a.contact_id"
        " LEFT JOIN rep r ON r.id = a.rep_id"
        " WHERE a.kind = 'call' AND a.deleted_at IS NULL AND a.occurred_at >= :floor"
        f" AND NOT a.consent_override AND a.occurred_at >= {window} AND c.deleted_at IS NULL"
        " GROUP BY c.id HAVING count(*) > coalesce(c.max_calls, :calls)"
        " ORDER BY c.name, c.id",
        {
            "now": stamp[:19].replace("T", " "),
            "frac": stamp[19:],
            "days": cap.days,
            "calls": cap.calls,
            "floor": floor,
        },
    ).fetchall()
    return [
        OverCap(r[0], r[1], r[2], r[3], r[4], tuple(sorted((r[5] or "").split(",")))) for r in rows
    ]
