"""The agenda: buckets on the user's wall clock, snoozes, stay-in-touch, activity lists."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from crmtui.reports.agenda import day_start, list_activities, load_agenda
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.ticklers import (
    TicklerCreate,
    complete_tickler,
    create_tickler,
    snooze_tickler,
)
from crmtui.store.database import Store

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
CAP = CallCap(99, 30)


def _contact(store: Store, name: str = "Anna Müller", **fields: object) -> str:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(name=name, **fields), region="DE").id


def _remind(store: Store, cid: str, due: datetime, text: str = "call", **extra: object) -> str:
    with store.write() as tx:
        data = TicklerCreate(text=text, due_at=due, contact_id=cid, **extra)
        return create_tickler(tx=tx, data=data).id


def _ids(items: tuple) -> list[str]:
    return [i.text for i in items]


def test_read_modules_do_not_import_sqlalchemy() -> None:
    code = (
        "import sys, crmtui.reports.agenda, crmtui.reports.calls; "
        "bad = [m for m in ('sqlalchemy', 'sqlmodel', 'textual') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_buckets_follow_the_local_day(store: Store) -> None:
    cid = _contact(store)
    now = datetime(2026, 6, 10, 11, 0, tzinfo=BERLIN)
    _remind(store, cid, now - timedelta(days=3), "last week")
    _remind(store, cid, now - timedelta(hours=2), "this morning")  # today, but past: overdue
    _remind(store, cid, now + timedelta(hours=2), "this afternoon")
    _remind(store, cid, datetime(2026, 6, 10, 23, 59, tzinfo=BERLIN), "late tonight")
    _remind(store, cid, datetime(2026, 6, 11, 0, 0, tzinfo=BERLIN), "tomorrow midnight")
    _remind(store, cid, datetime(2026, 6, 17, 23, 0, tzinfo=BERLIN), "in a week")
    _remind(store, cid, datetime(2026, 6, 18, 0, 0, tzinfo=BERLIN), "beyond")
    db = sqlite3.connect(store.path)
    agenda = load_agenda(db, now=now, days=7)
    assert _ids(agenda.overdue) == ["last week", "this morning"]
    assert _ids(agenda.today) == ["this afternoon", "late tonight"]
    assert _ids(agenda.upcoming) == ["tomorrow midnight", "in a week"]
    assert agenda.today[0].due_at.tzinfo == BERLIN
    assert agenda.today[0].contact_name == "Anna Müller"
    everything = load_agenda(db, now=now, days=None)
    assert _ids(everything.upcoming)[-1] == "beyond"
    assert load_agenda(db, now=now, days=0).upcoming == ()


def test_the_same_moment_is_today_in_one_zone_and_tomorrow_in_another(store: Store) -> None:
    cid = _contact(store)
    moment = datetime(2026, 6, 11, 2, 0, tzinfo=UTC)  # 04:00 Berlin, 22:00 New York
    _remind(store, cid, moment, "early")
    db = sqlite3.connect(store.path)
    berlin = load_agenda(db, now=datetime(2026, 6, 10, 21, 0, tzinfo=BERLIN))
    assert _ids(berlin.upcoming) == ["early"]
    new_york = load_agenda(db, now=datetime(2026, 6, 10, 15, 0, tzinfo=NY))
    assert _ids(new_york.today) == ["early"]


def test_day_bounds_across_dst_changes() -> None:
    spring = datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)  # a 23-hour day
    start, end = day_start(spring).astimezone(UTC), day_start(spring, 1).astimezone(UTC)
    assert end - start == timedelta(hours=23)
    autumn = datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN)  # a 25-hour day
    start, end = day_start(autumn).astimezone(UTC), day_start(autumn, 1).astimezone(UTC)
    assert end - start == timedelta(hours=25)


def test_snoozed_is_hidden_until_the_snooze_ends_and_stays_overdue(store: Store) -> None:
    cid = _contact(store)
    real_now = datetime.now(BERLIN)
    tid = _remind(store, cid, real_now - timedelta(days=1), "overdue one")
    with store.write() as tx:
        snooze_tickler(tx=tx, tickler_id=tid, until=real_now + timedelta(hours=2))
    db = sqlite3.connect(store.path)
    assert load_agenda(db, now=real_now).overdue == ()
    shown = load_agenda(db, now=real_now, include_snoozed=True).overdue
    assert [i.tickler_id for i in shown] == [tid]
    assert shown[0].snoozed_until is not None
    later = load_agenda(db, now=real_now + timedelta(hours=3))
    assert [i.tickler_id for i in later.overdue] == [tid]  # its due date never moved


def test_completing_one_occurrence_keeps_the_series_on_the_agenda(store: Store) -> None:
    cid = _contact(store)
    due = datetime.now(BERLIN) - timedelta(days=1)
    tid = _remind(store, cid, due, "weekly", recurrence="FREQ=WEEKLY")
    with store.write() as tx:
        complete_tickler(tx=tx, tickler_id=tid, tz=BERLIN)
    agenda = load_agenda(sqlite3.connect(store.path), now=datetime.now(BERLIN))
    assert agenda.overdue == ()
    assert len(agenda.upcoming) == 1 and agenda.upcoming[0].recurring
    assert agenda.upcoming[0].due_at.date() == (due + timedelta(days=7)).date()


def test_stay_in_touch_lists_contacts_past_their_cadence(store: Store) -> None:
    never = _contact(store, "Never touched", stay_in_touch_days=30)
    stale = _contact(store, "Stale", stay_in_touch_days=30)
    fresh = _contact(store, "Fresh", stay_in_touch_days=30)
    noted = _contact(store, "Only a note", stay_in_touch_days=10)
    _contact(store, "No cadence")
    now = datetime.now(UTC)
    with store.write() as tx:
        for cid, days, kind in ((stale, 31, "call"), (fresh, 29, "email"), (noted, 1, "note")):
            log_activity(
                tx=tx,
                data=ActivityCreate(
                    kind=kind, contact_id=cid, occurred_at=now - timedelta(days=days)
                ),
                cap=CAP,
            )
    agenda = load_agenda(sqlite3.connect(store.path), now=now.astimezone(BERLIN))
    names = [s.name for s in agenda.stay_in_touch]
    assert names[:2] in (["Never touched", "Only a note"], ["Only a note", "Never touched"])
    assert names[2:] == ["Stale"]
    assert agenda.stay_in_touch[2].last_touched is not None
    assert never in {s.contact_id for s in agenda.stay_in_touch}
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=stale, data=ContactUpdate(stay_in_touch_days=60), region="DE"
        )
    names = [s.name for s in load_agenda(sqlite3.connect(store.path), now=now).stay_in_touch]
    assert "Stale" not in names


def test_list_activities_filters(store: Store) -> None:
    anna = _contact(store)
    bob = _contact(store, "Bob")
    now = datetime.now(UTC)
    with store.write() as tx:
        for cid, kind, days in ((anna, "call", 1), (anna, "email", 5), (bob, "call", 2)):
            log_activity(
                tx=tx,
                data=ActivityCreate(
                    kind=kind, contact_id=cid, occurred_at=now - timedelta(days=days)
                ),
                cap=CAP,
            )
    db = sqlite3.connect(store.path)
    everything = list_activities(db, tz=BERLIN)
    assert [(a.contact_name, a.kind) for a in everything] == [
        ("Anna Müller", "call"),
        ("Bob", "call"),
        ("Anna Müller", "email"),
    ]
    assert [a.kind for a in list_activities(db, tz=BERLIN, contact_id=anna)] == ["call", "email"]
    recent = list_activities(db, tz=BERLIN, since=now - timedelta(days=3), kinds=["call"])
    assert len(recent) == 2
    assert everything[0].as_dict()["occurred_at"].endswith(("+01:00", "+02:00"))
