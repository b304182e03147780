"""`crm log`, `remind`, `due`, `done`, `snooze`, `defer`, `cancel`, `reopen`, `calls` from the shell."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.when import defer_target
from crmtui.store.database import open_store

BERLIN = ZoneInfo("Europe/Berlin")
runner = CliRunner()
# The real clock, started at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_day")


@pytest.fixture(autouse=True)
def _berlin_config() -> None:
    Path(os.environ["CRMTUI_CONFIG"]).write_text('timezone = "Europe/Berlin"\n', encoding="utf-8")


@pytest.fixture(autouse=True)
def _database() -> None:
    """CRMTUI_DB names the file, so only demo/import/db upgrade would create it: make it first."""
    open_store(Path(os.environ["CRMTUI_DB"])).close()


def crm(*args: str, code: int = 0) -> tuple[str, str]:
    """Run a command; check its exit code; return (stdout, stderr)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


def add(name: str, *extra: str) -> str:
    """Add a contact; its id."""
    return crm("contact", "add", name, *extra)[0].strip()


def _db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["CRMTUI_DB"])


def test_log_a_call_with_a_follow_up_shows_in_due_and_activities() -> None:
    cid = add("Anna Müller", "--company", "Acme", "--phone", "030 1234567")
    out, err = crm(
        "log", "call", "anna müller", "talked pricing", "--outcome", "connected",
        "--duration", "5m", "--at", "today 0:01", "--next", "tomorrow 9am", "send quote",
    )  # fmt: skip
    activity_id = out.strip()
    assert "undo: crm unlog" in err and "crm cancel" in err
    row = (
        _db()
        .execute(
            "SELECT kind, outcome, duration_s, contact_id FROM activity WHERE id = ?",
            (activity_id,),
        )
        .fetchone()
    )
    assert row == ("call", "connected", 300, cid)
    agenda = json.loads(crm("due", "--format", "json")[0])
    (item,) = agenda["upcoming"]
    assert item["text"] == "send quote" and item["contact_id"] == cid
    due = datetime.fromisoformat(item["due_at"])
    assert (due.hour, due.minute) == (9, 0)
    assert due.date() == (datetime.now(BERLIN) + timedelta(days=1)).date()
    listed = json.loads(crm("activities", "anna", "--format", "json")[0])
    assert [a["activity_id"] for a in listed] == [activity_id]
    card = json.loads(crm("show", cid, "--format", "json")[0])
    assert card["activities"][0]["text"] == "talked pricing"
    assert card["ticklers"][0]["text"] == "send quote"
    crm("unlog", activity_id)
    assert json.loads(crm("activities", "--format", "json")[0]) == []


def test_consent_refusal_is_exit_4_and_force_is_recorded() -> None:
    add("Bob Stone", "--phone", "030 1234567", "--do-not-call")
    _, err = crm("log", "call", "bob stone", "hi", code=4)
    assert "do-not-call" in err and "--force" in err
    assert _db().execute("SELECT count(*) FROM activity").fetchone()[0] == 0
    _, err = crm("log", "call", "bob stone", "he called us", "--force")
    assert "consent override recorded" in err
    assert _db().execute("SELECT consent_override FROM activity").fetchone() == (1,)
    crm("log", "note", "bob stone", "notes are fine")


def test_call_cap_from_contact_edit_is_enforced() -> None:
    cid = add("Cara Cap", "--phone", "030 7654321")
    crm("contact", "edit", cid, "--call-cap", "1/7d", "--stay-in-touch", "2 weeks")
    row = (
        _db()
        .execute("SELECT max_calls, max_calls_days, stay_in_touch_days FROM contact")
        .fetchone()
    )
    assert row == (1, 7, 14)
    crm("log", "call", cid, "first")
    _, err = crm("log", "call", cid, "second", code=4)
    assert "the cap is 1" in err
    crm("contact", "edit", cid, "--call-cap", "default", "--stay-in-touch", "off")
    assert _db().execute("SELECT max_calls, stay_in_touch_days FROM contact").fetchone() == (
        None,
        None,
    )
    crm("contact", "edit", cid, "--call-cap", "three", code=2)


def test_ambiguous_who_lists_candidates_and_create_makes_a_contact() -> None:
    add("Anna Müller")
    add("Anna Schmidt")
    _, err = crm("log", "note", "anna", "hello", code=1)
    assert "Anna Müller" in err and "Anna Schmidt" in err
    crm("log", "note", "Zed Nobody", "hello", code=1)
    _, err = crm("log", "note", "Zed Nobody", "met at the fair", "--create")
    assert "created contact Zed Nobody" in err
    assert _db().execute("SELECT count(*) FROM contact WHERE name = 'Zed Nobody'").fetchone() == (
        1,
    )


def test_bad_input_is_exit_2_and_saves_nothing() -> None:
    add("Anna Müller")
    crm("log", "fax", "anna", "x", code=2)
    crm("log", "call", "anna", "x", "--at", "someday maybe", code=2)
    crm("log", "call", "anna", "x", "--duration", "forever", code=2)
    crm("log", "call", "anna", "x", "--outcome", "great", code=2)
    crm("remind", "anna", "x", "--due", "tomorrow", "--every", "sometimes", code=2)
    assert _db().execute("SELECT count(*) FROM activity").fetchone() == (0,)


def test_reminder_lifecycle_with_undo() -> None:
    add("Anna Müller", "--phone", "030 1234567")
    tid = crm("remind", "anna", "check in", "--due", "yesterday 10:00", "--every", "weekly")[0]
    tid = tid.strip()
    assert [i["tickler_id"] for i in json.loads(crm("due", "-f", "json")[0])["overdue"]] == [tid]
    # Snooze hides it; its due date stays.
    _, err = crm("snooze", tid, "2h")
    assert "undo: crm defer" in err
    agenda = json.loads(crm("due", "-f", "json")[0])
    assert agenda["overdue"] == []
    assert json.loads(crm("due", "--all", "-f", "json")[0])["overdue"][0]["tickler_id"] == tid
    # Done: the series goes on with the next occurrence; reopen undoes both.
    _, err = crm("done", tid)
    assert "undo: crm reopen" in err and "next" in err
    rows = _db().execute("SELECT status FROM tickler ORDER BY due_at").fetchall()
    assert rows == [("done",), ("open",)]
    crm("reopen", tid)
    assert _db().execute(
        "SELECT count(*) FROM tickler WHERE status = 'open' AND deleted_at IS NULL"
    ).fetchone() == (1,)
    # Defer moves the due date; cancel and reopen.
    crm("defer", tid, "3d")
    due = _db().execute("SELECT due_at FROM tickler WHERE id = ?", (tid,)).fetchone()[0]
    local = datetime.fromisoformat(due.replace("Z", "+00:00")).astimezone(BERLIN)
    assert local.date() == (datetime.now(BERLIN) + timedelta(days=3)).date()
    assert (local.hour, local.minute) == (10, 0)
    crm("cancel", tid)
    crm("done", tid, code=2)  # already cancelled
    crm("reopen", tid)
    crm("done", "nosuchid", code=1)


def test_remind_about_an_account_with_after_done() -> None:
    add("Anna Müller", "--company", "Acme")
    tid = crm("remind", "quarterly review", "--account", "acme", "--due", "next fri",
              "--after-done", "30d")[0].strip()  # fmt: skip
    row = (
        _db()
        .execute(
            "SELECT account_id IS NOT NULL, contact_id, recur_after_days FROM tickler WHERE id = ?",
            (tid,),
        )
        .fetchone()
    )
    assert row == (1, None, 30)
    crm("remind", "anna", "x", "--account", "acme", "--due", "tomorrow", code=2)


def test_calls_never_lists_do_not_call_and_prints_counters() -> None:
    anna = add("Anna Müller", "--phone", "030 1234567", "--tag", "fair")
    add("Bob Stone", "--phone", "030 7654321", "--tag", "fair", "--do-not-call")
    add("Cara", "--tag", "fair")  # no phone: nothing to dial
    crm("remind", "bob stone", "call", "--due", "yesterday")
    crm("log", "call", "anna müller", "hi", "--outcome", "connected")
    out, err = crm("calls", "--tag", "fair", "-f", "json")
    assert [i["contact_id"] for i in json.loads(out)] == [anna]
    assert "calls today: 1, connects: 1, in queue: 1" in err
    crm("calls", "--untouched", "14d")
    crm("calls", "--territory", "nowhere", code=1)


def test_defer_target_keeps_the_time_of_day_for_whole_days() -> None:
    now = datetime(2026, 3, 28, 15, 0, tzinfo=BERLIN)
    due = datetime(2026, 3, 20, 9, 30, tzinfo=BERLIN)
    assert defer_target("2d", now=now, due_at=due) == datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN)
    two_hours = defer_target("2h", now=now, due_at=due)
    assert two_hours - now == timedelta(hours=2)
    assert defer_target("next fri", now=now, due_at=due).date().isoformat() == "2026-04-03"


def test_due_table_and_csv_show_moments_in_the_shell_style(monkeypatch: pytest.MonkeyPatch) -> None:
    """`crm due` writes its moments as `crm show` does (date_style.in_shell), on the user's clock."""
    monkeypatch.setenv("COLUMNS", "200")  # the table's cells whole, whatever the terminal
    add("Anna Müller", "--phone", "030 1234567")
    crm("remind", "anna", "send quote", "--due", "tomorrow 9am")
    tid = crm("remind", "anna", "check in", "--due", "tomorrow 11:00")[0].strip()
    crm("snooze", tid, "tomorrow 10:30")
    tomorrow = (datetime.now(BERLIN) + timedelta(days=1)).date().isoformat()
    table = crm("due", "--all")[0]
    assert f"{tomorrow} 09:00" in table
    assert f"check in (snoozed until {tomorrow} 10:30)" in table
    rows = list(csv.DictReader(io.StringIO(crm("due", "--all", "-f", "csv")[0])))
    assert [r["due"] for r in rows] == [f"{tomorrow} 09:00", f"{tomorrow} 11:00"]
