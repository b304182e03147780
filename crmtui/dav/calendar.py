"""Reminders (VTODO) and meetings (VEVENT) in sync with a CalDAV calendar.

Each open reminder is one to-do (its series keeps one UID, so the next occurrence
replaces the done one on the phone), each meeting one event, written by the same
code as `crm export ics` (`formats.icalendar_export`), so the phone alarms at the
due time. What the phone does to a to-do comes back, diffed against the to-do last
synced like a card: ticked off → the reminder is done (a series makes its next
occurrence); a new due time → the reminder is deferred; a new title → its text.
A field changed on both sides keeps crmtui's value (it is listed). A to-do deleted
on the phone never cancels the reminder: it stays open in crmtui, is listed, and
is not put back until `crm dav restore`. Meetings are written to the calendar; an
edit of a meeting on the phone is overwritten by crmtui's (listed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlmodel import select

from crmtui.dav.client import ICAL_TYPE, DavClient, DavError
from crmtui.dav.contacts import drop_link, save_link
from crmtui.domain.validate import InvalidInput
from crmtui.formats.icalendar_export import calendar_objects
from crmtui.services.follow_ups.ticklers import (
    TicklerUpdate,
    complete_tickler,
    defer_tickler,
    update_tickler,
)
from crmtui.store.database import Store
from crmtui.store.dav_state import DavLink
from crmtui.store.models import Tickler


@dataclass
class CalendarReport:
    """What one calendar round did."""

    done_on_phone: list[str] = field(default_factory=list)
    moved_on_phone: list[str] = field(default_factory=list)
    renamed_on_phone: list[str] = field(default_factory=list)
    to_phone: int = 0
    new_to_phone: int = 0
    removed: int = 0
    deleted_on_phone: list[str] = field(default_factory=list)
    """Reminders or meetings whose object the phone deleted (kept open here)."""
    kept_ours: list[str] = field(default_factory=list)
    """Edited on both sides, or a meeting edited on the phone: crmtui's value stays."""
    retry: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    not_ours: int = 0
    """Objects in the calendar that crmtui did not write (left alone)."""


@dataclass(frozen=True)
class TodoView:
    """The comparable content of one to-do or event."""

    kind: str
    summary: str
    due: datetime | None
    done: bool


def _instant(value: Any, tz: tzinfo) -> datetime | None:
    if value is None:
        return None
    moment = value.dt
    if not isinstance(moment, datetime):  # a date: its start, in the rep's zone
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=tz)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def view(text: str | bytes, tz: tzinfo) -> TodoView | str:
    """The view of one calendar object's text, or why it cannot be read."""
    from icalendar import Calendar

    try:
        cal = Calendar.from_ical(text)
    except ValueError as exc:
        return f"not a readable iCalendar object ({exc})"
    for part in cal.walk():
        if part.name in ("VTODO", "VEVENT"):
            status = str(part.get("status", "")).upper()
            return TodoView(
                "todo" if part.name == "VTODO" else "event",
                str(part.get("summary", "")).strip(),
                _instant(part.get("due") or part.get("dtstart"), tz),
                status == "COMPLETED" or "completed" in part,
            )
    return "no VTODO or VEVENT in it"


def _text_of(summary: str, old_summary: str, old_text: str) -> str:
    """The reminder's text from a new title: without the " — about" part we added."""
    suffix = old_summary[len(old_text) :] if old_summary.startswith(old_text) else ""
    return summary[: -len(suffix)].strip() if suffix and summary.endswith(suffix) else summary


def _read(store: Store, tz: tzinfo, now: datetime) -> dict[str, tuple[str, str, bytes]]:
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        return calendar_objects(conn, tz=tz, now=now)
    finally:
        conn.close()


def sync_calendar(
    store: Store,
    client: DavClient,
    calendar: str,
    *,
    tz: tzinfo,
    now: Callable[[], datetime],
) -> CalendarReport:
    """One round of the calendar's sync (see the module's docstring)."""
    report = CalendarReport()
    remote = client.listing(calendar)
    with store.read() as s:
        links = {
            (link.kind, link.record_key): link
            for link in s.exec(select(DavLink).where(DavLink.kind != "card"))
        }
    local = _read(store, tz, now())
    linked_hrefs = {link.href for link in links.values()}
    for (kind, key), link in links.items():
        if link.state != "synced":
            remote.pop(link.href, None)
            local.pop(key, None)
            continue
        etag = remote.pop(link.href, "gone")
        mine = local.pop(key, None)
        try:
            if etag == "gone":
                _phone_deleted(store, link, mine, report)
            elif mine is None:
                client.delete(link.href, etag)
                with store.write() as tx:
                    drop_link(tx, kind, key)
                report.removed += 1
            elif etag != link.etag:
                _merge(store, client, link, mine, tz, now, report)
            elif _differs(mine[2], link.body, tz):
                _write(store, client, link.href, kind, key, mine[2], link.etag)
                report.to_phone += 1
        except DavError as exc:
            if exc.kind != "changed":
                raise
            report.retry.append(key)
    report.not_ours = len([h for h in remote if h not in linked_hrefs])
    for key, (kind, _record, body) in local.items():
        try:
            _write(store, client, f"{calendar}{key}.ics", kind, key, body, None)
        except DavError as exc:
            if exc.kind != "changed":
                raise
            report.retry.append(key)
            continue
        report.new_to_phone += 1
    return report


def _differs(a: bytes | str, b: bytes | str, tz: tzinfo) -> bool:
    return view(a, tz) != view(b, tz)


def _write(
    store: Store,
    client: DavClient,
    href: str,
    kind: str,
    key: str,
    body: bytes,
    etag: str | None,
) -> None:
    text = body.decode("utf-8")
    new = client.put(href, text, ICAL_TYPE, etag)
    with store.write() as tx:
        save_link(tx, DavLink(kind=kind, record_key=key, href=href, etag=new, body=text))


def _phone_deleted(
    store: Store, link: DavLink, mine: tuple[str, str, bytes] | None, report: CalendarReport
) -> None:
    with store.write() as tx:
        if mine is None:
            drop_link(tx, link.kind, link.record_key)  # gone on both sides
            return
        found = tx.session.get(DavLink, (link.kind, link.record_key))
        if found is not None:
            found.state = "phone_deleted"
            found.synced_at = tx.now
            tx.session.add(found)
    base = view(link.body, UTC)
    report.deleted_on_phone.append(base.summary if not isinstance(base, str) else link.record_key)


def _merge(
    store: Store,
    client: DavClient,
    link: DavLink,
    mine: tuple[str, str, bytes],
    tz: tzinfo,
    now: Callable[[], datetime],
    report: CalendarReport,
) -> None:
    kind, record, body = mine
    text, etag = client.get(link.href)
    phone, base, ours = view(text, tz), view(link.body, tz), view(body, tz)
    if isinstance(phone, str) or isinstance(base, str) or isinstance(ours, str):
        report.unreadable.append(f"{link.href}: {phone if isinstance(phone, str) else base}")
        return
    if kind == "event":
        if phone != base:
            report.kept_ours.append(ours.summary)
    else:
        try:
            _apply_todo(store, record, phone, base, ours, tz, report)
        except InvalidInput as exc:
            report.unreadable.append(f"{link.href}: {exc.message}")
            return
    fresh = _read(store, tz, now()).get(link.record_key)
    if fresh is None:  # done for good: the to-do leaves the calendar
        client.delete(link.href, etag)
        with store.write() as tx:
            drop_link(tx, link.kind, link.record_key)
        return
    if view(fresh[2], tz) != phone:
        _write(store, client, link.href, kind, link.record_key, fresh[2], etag)
        report.to_phone += 1
    else:
        with store.write() as tx:
            save_link(
                tx,
                DavLink(
                    kind=kind, record_key=link.record_key, href=link.href, etag=etag, body=text
                ),
            )


def _apply_todo(
    store: Store,
    tickler_id: str,
    phone: TodoView,
    base: TodoView,
    ours: TodoView,
    tz: tzinfo,
    report: CalendarReport,
) -> None:
    """The phone's changes to one reminder, in one transaction (journaled)."""
    with store.write() as tx:
        tickler = tx.session.get(Tickler, tickler_id)
        if tickler is None:
            return
        if phone.summary != base.summary:
            if ours.summary != base.summary:
                report.kept_ours.append(ours.summary)
            else:
                text = _text_of(phone.summary, base.summary, tickler.text)
                update_tickler(tx=tx, tickler_id=tickler_id, data=TicklerUpdate(text=text))
                report.renamed_on_phone.append(text)
        if phone.due != base.due and phone.due is not None:
            if ours.due != base.due:
                report.kept_ours.append(ours.summary)
            else:
                defer_tickler(tx=tx, tickler_id=tickler_id, due_at=phone.due)
                report.moved_on_phone.append(tickler.text)
        if phone.done and not base.done:
            complete_tickler(tx=tx, tickler_id=tickler_id, tz=tz)
            report.done_on_phone.append(tickler.text)


def deleted_on_phone(store: Store) -> list[DavLink]:
    """The links whose card or object the phone deleted (the records are kept here)."""
    with store.read() as s:
        return list(s.exec(select(DavLink).where(DavLink.state == "phone_deleted")))


def restore(store: Store, ref: str) -> list[str]:
    """Put back at the next sync what the phone deleted; `ref` starts the record id ("" = all).

    A contact archived because its card was deleted is unarchived (a journaled edit).
    """
    from crmtui.services.address_book.contacts import archive_contact
    from crmtui.store.models import Contact

    out = []
    with store.write() as tx:
        for link in tx.session.exec(select(DavLink).where(DavLink.state == "phone_deleted")):
            if not link.record_key.startswith(ref):
                continue
            out.append(link.record_key)
            if link.kind == "card":
                contact = tx.session.get(Contact, link.record_key)
                if contact is not None and contact.deleted_at is None and contact.archived_at:
                    archive_contact(tx=tx, contact_id=contact.id, archived=False)
            tx.session.delete(link)
    return out
