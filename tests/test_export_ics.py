"""iCalendar export: VTODO for open reminders (DUE, RRULE, VALARM, stable UID), VEVENT for meetings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.formats.icalendar_export import export_ics
from crmtui.services.address_book.contacts import ContactCreate, create_contact
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
NOW = datetime.now(UTC).replace(microsecond=0)
# The services refuse snoozes into the past, so the dates follow the real clock.
_TODAY = NOW.astimezone(BERLIN).replace(hour=9, minute=0, second=0, tzinfo=None)
MONDAY = (_TODAY + timedelta(days=7 - _TODAY.weekday())).replace(tzinfo=BERLIN)
SNOOZE_END = NOW + timedelta(days=1)
NO_CAP = CallCap(10**6, 30)


def _seed(store: Store) -> dict[str, str]:
    with store.write() as tx:
        anna = create_contact(
            tx=tx, data=ContactCreate(name="Anna Müller", phone="+49 30 1234567"), region="DE"
        )
        weekly = create_tickler(
            tx=tx,
            data=TicklerCreate(
                text="Weekly check-in",
                due_at=MONDAY,
                contact_id=anna.id,
                recurrence="FREQ=WEEKLY;BYDAY=MO",
            ),
        )
        once = create_tickler(
            tx=tx,
            data=TicklerCreate(
                text="Send the quote",
                due_at=MONDAY - timedelta(days=2),
                contact_id=anna.id,
                recur_after_days=14,
            ),
        )
        done = create_tickler(
            tx=tx,
            data=TicklerCreate(text="Old one", due_at=NOW - timedelta(days=3), contact_id=anna.id),
        )
        meeting, _ = log_activity(
            tx=tx,
            data=ActivityCreate(
                kind="meeting",
                contact_id=anna.id,
                occurred_at=NOW - timedelta(days=1),
                duration_s=3600,
                text="Demo of the new line, brought samples",
                outcome="held",
            ),
            cap=NO_CAP,
        )
    with store.write() as tx:
        snooze_tickler(tx=tx, tickler_id=once.id, until=SNOOZE_END)
        complete_tickler(tx=tx, tickler_id=done.id, tz=BERLIN)
    return {"weekly": weekly.id, "once": once.id, "meeting": meeting.id, "done": done.id}


def _calendar(db_path: Path) -> Calendar:
    return Calendar.from_ical(export_ics(sqlite3.connect(db_path), tz=BERLIN, now=NOW))


def test_todos_and_events_validate_and_carry_the_details(store: Store, db_path: Path) -> None:
    ids = _seed(store)
    cal = _calendar(db_path)
    todos = {str(t["uid"]): t for t in cal.walk("VTODO")}
    assert set(todos) == {f"{ids['weekly']}@crmtui", f"{ids['once']}@crmtui"}
    weekly = todos[f"{ids['weekly']}@crmtui"]
    assert weekly.decoded("due") == MONDAY
    assert weekly["due"].params["TZID"] == "Europe/Berlin"
    assert weekly["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    assert str(weekly["status"]) == "NEEDS-ACTION"
    assert "Anna Müller" in str(weekly["summary"])
    (alarm,) = weekly.walk("VALARM")
    assert alarm["trigger"].params["RELATED"] == "END"
    once = todos[f"{ids['once']}@crmtui"]
    assert "rrule" not in once
    assert "14 days after it is done" in str(once["description"])
    (snooze_alarm,) = once.walk("VALARM")
    assert snooze_alarm.decoded("trigger") == SNOOZE_END
    (event,) = cal.walk("VEVENT")
    assert str(event["uid"]) == f"{ids['meeting']}@crmtui"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=1)
    assert str(event["summary"]).startswith("Demo of the new line")
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_a_recurring_series_keeps_its_uid_when_an_occurrence_is_done(
    store: Store, db_path: Path
) -> None:
    ids = _seed(store)
    with store.write() as tx:
        _, following = complete_tickler(tx=tx, tickler_id=ids["weekly"], tz=BERLIN)
    assert following is not None and following.id != ids["weekly"]
    todos = {str(t["uid"]): t for t in _calendar(db_path).walk("VTODO")}
    assert f"{ids['weekly']}@crmtui" in todos
    assert todos[f"{ids['weekly']}@crmtui"].decoded("due") == (
        MONDAY.replace(tzinfo=None) + timedelta(days=7)
    ).replace(tzinfo=BERLIN)


def test_cli_writes_a_file(store: Store, db_path: Path, tmp_path: Path) -> None:
    _seed(store)
    target = tmp_path / "crm.ics"
    result = CliRunner().invoke(app, ["--db", str(db_path), "export", "ics", str(target)])
    assert result.exit_code == 0, result.stderr
    assert "2 to-dos and 1 meetings" in result.stderr
    assert target.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert len(Calendar.from_ical(target.read_bytes()).walk("VTODO")) == 2
