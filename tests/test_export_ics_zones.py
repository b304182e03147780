"""iCalendar export in the user's zone: checked with `icalendar` and re-read by vobject.

vobject parses the file on its own (its own VTIMEZONE reader and dateutil's rule
expansion), so the occurrences below are where a second calendar program would
put them: "every Monday 0:30" in Berlin must stay a Monday at 0:30, before and
after a DST change, whichever zone the export is read in.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.when import system_zone_name, zone
from crmtui.formats.icalendar_export import export_ics
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler, snooze_tickler
from crmtui.store.database import Store

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _reminder(store: Store, due: datetime, rule: str | None, text: str = "Weekly call") -> str:
    with store.write() as tx:
        anna = create_contact(tx=tx, data=ContactCreate(name="Anna Müller"), region="DE")
        tickler = create_tickler(
            tx=tx,
            data=TicklerCreate(text=text, due_at=due, contact_id=anna.id, recurrence=rule),
        )
    return tickler.id


def _vobject_todo(data: bytes) -> vobject.base.Component:
    cal = vobject.readOne(data.decode("utf-8"))
    (todo,) = cal.vtodo_list
    return todo


def _occurrences(data: bytes, count: int) -> list[datetime]:
    """The first `count` occurrences as vobject expands them (aware, vobject's own zone)."""
    rules = _vobject_todo(data).getrruleset(addRDate=True)
    assert rules is not None, "no recurrence vobject can read"
    out: list[datetime] = []
    for moment in rules:
        out.append(moment)
        if len(out) == count:
            break
    return out


def _cli_ics(db_path: Path, tmp_path: Path) -> tuple[bytes, str]:
    target = tmp_path / "crm.ics"
    result = CliRunner().invoke(app, ["--db", str(db_path), "export", "ics", str(target)])
    assert result.exit_code == 0, result.stderr
    return target.read_bytes(), result.stderr


def _configure(tmp_path: Path, timezone: str) -> None:
    import os

    Path(os.environ["CRMTUI_CONFIG"]).write_text(f'timezone = "{timezone}"\n', encoding="utf-8")


@pytest.mark.parametrize(
    ("tz", "due", "rule", "weekday", "clock"),
    [
        # Monday 0:30 in Berlin is Sunday 23:30 UTC: in UTC the BYDAY=MO rule misses it.
        ("Europe/Berlin", datetime(2027, 3, 22, 0, 30), "FREQ=WEEKLY;BYDAY=MO", 0, time(0, 30)),
        # Sunday 21:00 in New York is Monday 01:00/02:00 UTC.
        ("America/New_York", datetime(2027, 3, 7, 21, 0), "FREQ=WEEKLY;BYDAY=SU", 6, time(21, 0)),
    ],
)
def test_configured_zone_keeps_the_weekday_and_clock_across_dst(
    store: Store,
    db_path: Path,
    tmp_path: Path,
    tz: str,
    due: datetime,
    rule: str,
    weekday: int,
    clock: time,
) -> None:
    _configure(tmp_path, tz)
    _reminder(store, due.replace(tzinfo=ZoneInfo(tz)), rule)
    data, _ = _cli_ics(db_path, tmp_path)

    cal = Calendar.from_ical(data)
    (todo,) = cal.walk("VTODO")
    assert todo["due"].params["TZID"] == tz
    assert todo["dtstart"].params["TZID"] == tz
    assert todo.decoded("dtstart") == todo.decoded("due") == due.replace(tzinfo=ZoneInfo(tz))
    assert [str(z["tzid"]) for z in cal.walk("VTIMEZONE")] == [tz]

    # Six weeks: the DST change (Berlin 28 March, New York 14 March 2027) lies inside.
    found = _occurrences(data, 6)
    local = [m.astimezone(ZoneInfo(tz)) for m in found]
    assert [m.date() for m in local] == [due.date() + timedelta(weeks=i) for i in range(6)]
    assert {(m.weekday(), m.time()) for m in local} == {(weekday, clock)}
    # vobject's own reading of the VTIMEZONE agrees (wall clock in the file's zone).
    assert {(m.weekday(), m.time()) for m in found} == {(weekday, clock)}
    offsets = {m.utcoffset() for m in local}
    assert len(offsets) == 2, "the six weeks straddle a DST change"


def test_system_zone_is_used_when_none_is_configured(
    store: Store, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    _reminder(store, datetime(2027, 3, 22, 0, 30, tzinfo=BERLIN), "FREQ=WEEKLY;BYDAY=MO")
    data, stderr = _cli_ics(db_path, tmp_path)
    assert "floating" not in stderr
    (todo,) = Calendar.from_ical(data).walk("VTODO")
    assert todo["due"].params["TZID"] == "Europe/Berlin"
    first = _occurrences(data, 1)[0].astimezone(BERLIN)
    assert (first.date(), first.time()) == (date(2027, 3, 22), time(0, 30))


def test_system_zone_name_reads_tz_then_localtime_then_etc_timezone(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    assert system_zone_name({}, etc) is None
    (etc / "timezone").write_text("America/New_York\n", encoding="utf-8")
    assert system_zone_name({}, etc) == "America/New_York"
    # macOS points /etc/localtime into /var/db/timezone/zoneinfo/.
    (etc / "localtime").symlink_to("/var/db/timezone/zoneinfo/Europe/Berlin")
    assert system_zone_name({}, etc) == "Europe/Berlin"
    assert system_zone_name({"TZ": ":Asia/Tokyo"}, etc) == "Asia/Tokyo"
    # A POSIX TZ string has no IANA name: the next place decides.
    assert system_zone_name({"TZ": "CET-1CEST"}, etc) == "Europe/Berlin"
    assert system_zone_name({"TZ": "Not/AZone"}, tmp_path / "nowhere") is None


def test_zone_without_a_config_is_the_named_system_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert getattr(zone(None), "key", None) == "America/New_York"


def test_absolute_alarm_is_a_date_time_and_relative_alarm_ends_at_due(
    store: Store, db_path: Path
) -> None:
    due = datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN)
    weekly = _reminder(store, due, "FREQ=WEEKLY;BYDAY=MO")
    snoozed = _reminder(store, due, None, text="Send the quote")
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    with store.write() as tx:
        snooze_tickler(tx=tx, tickler_id=snoozed, until=until)
    data = export_ics(sqlite3.connect(db_path), tz=BERLIN, now=NOW)
    assert b"TRIGGER;VALUE=DATE-TIME:" + until.strftime("%Y%m%dT%H%M%SZ").encode() in data
    todos = {str(t["uid"]): t for t in Calendar.from_ical(data).walk("VTODO")}
    (relative,) = todos[f"{weekly}@crmtui"].walk("VALARM")
    assert relative["trigger"].params["RELATED"] == "END"
    assert relative.decoded("trigger") == timedelta(0)
    # vobject reads both triggers as what they are: a moment and an offset.
    for todo in vobject.readOne(data.decode()).vtodo_list:
        trigger = todo.valarm.trigger.value
        if todo.uid.value == f"{snoozed}@crmtui":
            assert trigger == until
        else:
            assert trigger == timedelta(0)


def test_a_deferred_occurrence_off_its_rule_is_a_one_off_with_the_rule_said(
    store: Store, db_path: Path
) -> None:
    # Moved from Monday to Tuesday: a DTSTART off the rule makes the recurrence undefined.
    _reminder(store, datetime(2027, 3, 23, 9, 0, tzinfo=BERLIN), "FREQ=WEEKLY;BYDAY=MO")
    data = export_ics(sqlite3.connect(db_path), tz=BERLIN, now=NOW)
    (todo,) = Calendar.from_ical(data).walk("VTODO")
    assert "rrule" not in todo and "dtstart" not in todo
    assert todo.decoded("due") == datetime(2027, 3, 23, 9, 0, tzinfo=BERLIN)
    assert "FREQ=WEEKLY;BYDAY=MO" in str(todo["description"])
    assert _vobject_todo(data).getrruleset() is None


def test_a_zone_without_a_name_is_written_as_floating_local_time(
    store: Store, db_path: Path
) -> None:
    from datetime import timezone

    plus_one = timezone(timedelta(hours=1))
    _reminder(store, datetime(2027, 3, 22, 0, 30, tzinfo=plus_one), "FREQ=WEEKLY;BYDAY=MO")
    data = export_ics(sqlite3.connect(db_path), tz=plus_one, now=NOW)
    assert b"BEGIN:VTIMEZONE" not in data
    (todo,) = Calendar.from_ical(data).walk("VTODO")
    assert "TZID" not in todo["due"].params
    assert todo.decoded("due").tzinfo is None
