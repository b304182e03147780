"""Reminders and meetings in sync with a CalDAV calendar on a real Radicale server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crmtui.dav.calendar import deleted_on_phone, restore
from crmtui.dav.run import DavSettings, run_sync, set_up
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler
from crmtui.store.database import Store
from crmtui.store.models import Tickler
from tests.dav_support import Phone, Radicale, radicale

BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with radicale(tmp_path_factory.mktemp("radicale")) as srv:
        yield srv


def _now() -> datetime:
    return datetime.now(UTC)


def _sync(store: Store, settings: DavSettings):
    return run_sync(store, settings, region="DE", tz=BERLIN, now=_now).calendar


def test_reminders_both_ways(store: Store, server: Radicale, monkeypatch) -> None:
    monkeypatch.setenv("DAV_TEST_PASSWORD", server.password)
    with store.write() as tx:
        ann = create_contact(tx=tx, data=ContactCreate(name="Ann Lee"), region="DE")
        call = create_tickler(
            tx=tx, data=TicklerCreate(text="call back", due_at=DUE, contact_id=ann.id)
        )
        mail = create_tickler(
            tx=tx, data=TicklerCreate(text="send offer", due_at=DUE, contact_id=ann.id)
        )
        gone = create_tickler(
            tx=tx, data=TicklerCreate(text="visit", due_at=DUE, contact_id=ann.id)
        )
    settings = set_up(
        store,
        DavSettings(url=server.url, user=server.user, password_env="DAV_TEST_PASSWORD"),
        contacts=False,
    )
    assert settings.addressbook is None and settings.calendar
    first = _sync(store, settings)
    assert first.new_to_phone == 3
    phone = Phone(server)
    try:
        href = f"{settings.calendar}{call.id}.ics"
        todo = phone.get(href)
        assert "SUMMARY:call back — Ann Lee" in todo and "BEGIN:VALARM" in todo
        # The phone ticks one off, moves another a day on, deletes the third.
        phone.put(href, todo.replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED"), "text/calendar")
        moved = phone.get(f"{settings.calendar}{mail.id}.ics").replace(
            "DUE;TZID=Europe/Berlin:20300304T100000", "DUE;TZID=Europe/Berlin:20300305T100000"
        )
        assert "DUE;TZID=Europe/Berlin:20300305T100000" in moved
        phone.put(f"{settings.calendar}{mail.id}.ics", moved, "text/calendar")
        phone.delete(f"{settings.calendar}{gone.id}.ics")
        report = _sync(store, settings)
    finally:
        phone.close()
    assert report.done_on_phone == ["call back"]
    assert report.moved_on_phone == ["send offer"]
    assert report.deleted_on_phone == ["visit — Ann Lee"]
    with store.read() as s:
        rows = {t.text: t for t in s.exec(select(Tickler))}
    assert rows["call back"].status == "done"
    assert rows["send offer"].due_at == DUE + timedelta(days=1)
    assert rows["visit"].status == "open"  # a phone's delete never cancels a reminder
    assert [link.record_key for link in deleted_on_phone(store)] == [gone.id]
    # Not put back until asked; then it is.
    assert _sync(store, settings).new_to_phone == 0
    assert restore(store, gone.id[:8]) == [gone.id]
    assert _sync(store, settings).new_to_phone == 1


def test_a_series_done_on_the_phone_comes_back_as_its_next_one(
    store: Store, server: Radicale, monkeypatch
) -> None:
    """A weekly reminder ticked off on the phone: done here, the next one on the phone (same UID)."""
    monkeypatch.setenv("DAV_TEST_PASSWORD", server.password)
    with store.write() as tx:
        bo = create_contact(tx=tx, data=ContactCreate(name="Bo Berg"), region="DE")
        weekly = create_tickler(
            tx=tx,
            data=TicklerCreate(
                text="weekly check-in", due_at=DUE, contact_id=bo.id, recurrence="FREQ=WEEKLY"
            ),
        )
        both = create_tickler(tx=tx, data=TicklerCreate(text="quote", due_at=DUE, contact_id=bo.id))
    settings = set_up(
        store,
        DavSettings(
            url=server.url,
            user=server.user,
            password_env="DAV_TEST_PASSWORD",
            calendar=f"{server.url}{server.user}/series-{Path(store.path).parent.name}/",
        ),
        contacts=False,
    )
    _sync(store, settings)
    phone = Phone(server)
    try:
        href = f"{settings.calendar}{weekly.series_id or weekly.id}.ics"
        todo = phone.get(href)
        phone.put(href, todo.replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED"), "text/calendar")
        # Renamed on both sides: crmtui's stays and is listed.
        other = f"{settings.calendar}{both.id}.ics"
        phone.put(
            other, phone.get(other).replace("SUMMARY:quote", "SUMMARY:offer"), "text/calendar"
        )
        with store.write() as tx:
            from crmtui.services.follow_ups.ticklers import TicklerUpdate, update_tickler

            update_tickler(tx=tx, tickler_id=both.id, data=TicklerUpdate(text="quote v2"))
        report = _sync(store, settings)
        assert report.done_on_phone == ["weekly check-in"]
        assert report.kept_ours == ["quote v2 — Bo Berg"]
        nxt = phone.get(href)
        assert "STATUS:NEEDS-ACTION" in nxt and "20300311T100000" in nxt
        assert "SUMMARY:quote v2" in phone.get(other)
    finally:
        phone.close()
    with store.read() as s:
        rows = s.exec(select(Tickler).where(Tickler.contact_id == bo.id)).all()
    assert sorted((t.text, t.status) for t in rows) == [
        ("quote v2", "open"),
        ("weekly check-in", "done"),
        ("weekly check-in", "open"),
    ]
