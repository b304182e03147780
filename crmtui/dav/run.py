"""Set up and run the CardDAV/CalDAV sync of one database: settings, the client, a round."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlmodel import select

from crmtui.dav.calendar import CalendarReport, sync_calendar
from crmtui.dav.client import DavClient, DavError
from crmtui.dav.contacts import MassDelete, Report, scope_sql, sync_cards
from crmtui.dav.settings import META_KEY, DavSettings, from_json, password
from crmtui.store.database import Store
from crmtui.store.dav_state import DavLink
from crmtui.store.models import LocalMeta


def load_settings(store: Store) -> DavSettings | None:
    """This database's DAV settings, or None before `crm dav setup`."""
    with store.read() as s:
        row = s.get(LocalMeta, META_KEY)
        return from_json(row.value) if row is not None else None


def save_settings(store: Store, settings: DavSettings) -> None:
    """Keep the settings (local: never synced)."""
    with store.write() as tx:
        tx.session.merge(LocalMeta(key=META_KEY, value=settings.to_json()))


def client_for(settings: DavSettings) -> DavClient:
    """A client with the account's credentials (the password read now)."""
    return DavClient(settings.url, settings.user, password(settings))


def set_up(
    store: Store, settings: DavSettings, *, contacts: bool = True, calendar: bool = True
) -> DavSettings:
    """Check the account, find or make the collections, and keep the settings.

    An address book or calendar URL already in `settings` is used as it is (made when
    missing); else a "crmtui" collection under the principal's home.
    """
    with client_for(settings) as client:
        client.check()
        homes = client.homes()
        book = settings.addressbook
        cal = settings.calendar
        if contacts:
            book = client.ensure_collection(
                book or homes.addressbooks + "crmtui/", "addressbook", "crmtui"
            )
        if calendar:
            cal = client.ensure_collection(
                cal or homes.calendars + "crmtui-calendar/", "calendar", "crmtui"
            )
    done = DavSettings(**{**settings.__dict__, "addressbook": book, "calendar": cal})
    before = load_settings(store)
    kept = {
        "card": before is not None and before.addressbook == book,
        "todo": before is not None and before.calendar == cal,
        "event": before is not None and before.calendar == cal,
    }
    with store.write() as tx:
        # Links name resources of the collections they were made in: another collection
        # (or none) starts afresh, or its cards would all look deleted on the phone.
        for link in tx.session.exec(select(DavLink)):
            if not kept.get(link.kind, False):
                tx.session.delete(link)
        tx.session.merge(LocalMeta(key=META_KEY, value=done.to_json()))
    return done


@dataclass
class SyncResult:
    """One `crm dav sync`: the address book's report and the calendar's."""

    cards: Report | None
    calendar: CalendarReport | None


def run_sync(
    store: Store,
    settings: DavSettings,
    *,
    region: str,
    tz: tzinfo,
    now: Callable[[], datetime],
    accept_deletes: bool = False,
) -> SyncResult:
    """One round for the address book and the calendar the settings name."""
    cards = cal = None
    with client_for(settings) as client:
        if settings.addressbook:
            cards = sync_cards(
                store,
                client,
                settings.addressbook,
                scope=scope_sql(settings.tag, settings.territory),
                region=region,
                now=now,
                accept_deletes=accept_deletes,
            )
        if settings.calendar:
            cal = sync_calendar(store, client, settings.calendar, tz=tz, now=now)
    return SyncResult(cards, cal)


__all__ = [
    "DavError",
    "DavSettings",
    "MassDelete",
    "SyncResult",
    "load_settings",
    "run_sync",
    "set_up",
]
