"""Every `crm` write is recorded like the app's: `crm undo` and the recent actions list reverse it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crmtui.screens.daily_context import DailyContext
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.store.database import open_store
from tests.cli_commands import Ran, run


@pytest.fixture
def db(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Two contacts (one phone each, no consent flags) and an open deal for the first."""
    path = tmp_path / "crm.db"
    store = open_store(path)
    try:
        with store.write() as tx:
            jon = create_contact(
                tx=tx,
                data=ContactCreate(name="Jon Smith", city="Berlin", phone="+49 30 1234567"),
                region="DE",
            )
            jo = create_contact(
                tx=tx,
                data=ContactCreate(name="Jon Smyth", city="Bonn", email="jon@smyth.example"),
                region="DE",
            )
            deal = create_deal(
                tx=tx, data=DealCreate(name="Big order", contact_id=jon.id, amount_minor=5000)
            )
    finally:
        store.close()
    return path, {"jon": jon.id, "jo": jo.id, "deal": deal.id}


def crm(path: Path, *args: str) -> Ran:
    """`crm ARGS --db PATH`, which must succeed."""
    ran = run([*args, "--db", str(path)])
    assert ran.code == 0 and ran.error is None, (args, ran.err)
    return ran


def listed(path: Path) -> list[str]:
    """What `crm undo --list` shows, latest first."""
    return [r["change"] for r in json.loads(crm(path, "undo", "--list", "--format", "json").out)]


def one(path: Path, sql: str, *params: str) -> tuple[object, ...]:
    """One row of a query on the database."""
    with sqlite3.connect(path) as conn:
        return tuple(conn.execute(sql, params).fetchone())


def test_a_logged_call_and_its_follow_up_are_undone_together(db) -> None:
    path, ids = db
    activity_id = crm(
        path, "log", "call", ids["jon"], "Asked for a quote", "--next", "tomorrow", "Send it"
    ).out.strip()
    assert listed(path) == ["Log call: Jon Smith"]
    assert one(path, "SELECT count(*) FROM tickler WHERE deleted_at IS NULL") == (1,)
    journal = one(path, "SELECT count(*) FROM journal")[0]
    assert "undone: Log call: Jon Smith" in crm(path, "undo").err
    assert one(path, "SELECT deleted_at IS NOT NULL FROM activity WHERE id = ?", activity_id) == (
        1,
    )
    assert one(path, "SELECT count(*) FROM tickler WHERE deleted_at IS NULL") == (0,)
    assert one(path, "SELECT count(*) FROM journal")[0] > journal  # the undo syncs
    assert listed(path) == []


def test_a_contact_edit_and_a_tag_are_undone_latest_first(db) -> None:
    path, ids = db
    crm(path, "contact", "edit", ids["jon"], "--city", "Hamburg")
    crm(path, "contact", "tag", ids["jon"], "vip")
    assert listed(path) == ["Tags of Jon Smith", "Edit Jon Smith"]
    crm(path, "undo")
    assert one(path, "SELECT city, tags FROM contact WHERE id = ?", ids["jon"]) == ("Hamburg", "[]")
    crm(path, "undo")
    assert one(path, "SELECT city FROM contact WHERE id = ?", ids["jon"]) == ("Berlin",)


def test_reminder_writes_are_undone_one_by_one(db) -> None:
    path, ids = db
    tid = crm(path, "remind", ids["jon"], "Call about the order", "--due", "tomorrow 10:00")
    tid_ = tid.out.strip()
    due = one(path, "SELECT due_at FROM tickler WHERE id = ?", tid_)
    crm(path, "snooze", tid_, "in 2 days")
    crm(path, "done", tid_)
    assert listed(path) == [
        "Done: Call about the order",
        "Snooze: Call about the order",
        "Reminder: Call about the order",
    ]
    crm(path, "undo")
    row = "SELECT done_at, snoozed_until IS NOT NULL, due_at, deleted_at FROM tickler WHERE id = ?"
    assert one(path, row, tid_) == (None, 1, *due, None)
    crm(path, "undo")
    assert one(path, row, tid_) == (None, 0, *due, None)
    crm(path, "undo")
    assert one(path, row, tid_)[3] is not None  # the reminder itself is gone (a tombstone)


def test_deal_won_moved_and_reopened_are_undone(db) -> None:
    path, ids = db
    deal = "SELECT status, stage_id FROM deal WHERE id = ?"
    first = one(path, deal, ids["deal"])
    crm(path, "deal", "move", ids["deal"], "proposal")
    moved = one(path, deal, ids["deal"])
    crm(path, "deal", "won", ids["deal"])
    crm(path, "deal", "reopen", ids["deal"])
    assert listed(path) == ["Reopen Big order", "Big order won", "Big order → proposal"]
    crm(path, "undo")
    assert one(path, deal, ids["deal"])[0] == "won"
    crm(path, "undo")
    assert one(path, deal, ids["deal"]) == moved
    crm(path, "undo")
    assert one(path, deal, ids["deal"]) == first
    history = "SELECT count(*) FROM deal_stage_change WHERE deal_id = ? AND deleted_at IS NULL"
    assert one(path, history, ids["deal"]) == (1,)  # only the creation's entry is left


def test_a_lead_convert_is_undone_and_the_lead_is_open_again(db) -> None:
    path, _ids = db
    lead = crm(path, "lead", "add", "Ada Lead", "--company", "Lovelace Ltd").out.strip()
    deal_id = crm(path, "lead", "convert", lead, "--new", "--deal-name", "Engines").out.strip()
    assert listed(path)[0] == "Convert Ada Lead"
    assert one(path, "SELECT status FROM lead WHERE id = ?", lead) == ("converted",)
    crm(path, "undo")
    assert one(path, "SELECT status FROM lead WHERE id = ?", lead) != ("converted",)
    assert one(path, "SELECT deleted_at IS NOT NULL FROM deal WHERE id = ?", deal_id) == (1,)
    live = "SELECT count(*) FROM contact WHERE name = 'Ada Lead' AND deleted_at IS NULL"
    assert one(path, live) == (0,)


def test_a_merge_is_undone_by_crm_undo(db) -> None:
    path, ids = db
    crm(path, "merge", ids["jon"], ids["jo"], "--prefer", "A")
    assert listed(path) == ["Merge Jon Smyth into Jon Smith"]
    assert one(path, "SELECT deleted_at IS NOT NULL FROM contact WHERE id = ?", ids["jo"]) == (1,)
    crm(path, "undo")
    both = "SELECT count(*) FROM contact WHERE id IN (?, ?) AND deleted_at IS NULL"
    assert one(path, both, ids["jon"], ids["jo"]) == (2,)


def test_a_shell_write_is_listed_and_undone_in_the_app(db) -> None:
    path, ids = db
    crm(path, "deal", "lost", ids["deal"], "--reason", "price")
    daily = DailyContext(path)
    try:
        assert [s.label for s in daily.kept()] == ["Big order lost"]
        undone = daily.undo()  # the app made nothing yet: ctrl+z takes the device's latest
        assert undone.label == "Big order lost"
        assert daily.kept() == []
    finally:
        daily.close()
    assert one(path, "SELECT status, lost_reason FROM deal WHERE id = ?", ids["deal"]) == (
        "open",
        None,
    )
    again = run(["undo", "--db", str(path)])
    assert again.code == 2 and "nothing to undo" in again.err


def test_an_account_edit_is_named_by_the_account_and_undone(db) -> None:
    path, _ids = db
    account = crm(path, "account", "add", "Kranich Logistik", "--city", "Berlin").out.strip()
    crm(path, "account", "edit", account[:13], "--city", "Hamburg")
    assert listed(path) == ["Edit account Kranich Logistik", "Add account Kranich Logistik"]
    crm(path, "undo")
    assert one(path, "SELECT city FROM account WHERE id = ?", account) == ("Berlin",)
