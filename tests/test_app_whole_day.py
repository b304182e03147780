"""A rep's whole day in the app, keys only, on the 300-contact demo (issue #16, "done when").

Find a contact, edit a field, log a call with an outcome digit and a next touch, add a
reminder, work the call list, move a deal and reopen it, convert a lead, open an
account, then undo two of those from the recent actions list. After each step the
database itself is read (plain SQL on the file), not only the screen.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList

from crmtui.app import make_app
from crmtui.screens.cards.account_card import AccountCardScreen
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.dialogs.quick_log import QuickLogScreen
from crmtui.screens.dialogs.recent_actions import RecentActionsScreen
from crmtui.screens.dialogs.record_form import RecordForm
from crmtui.screens.sections.calls import CallListScreen
from crmtui.screens.sections.contacts import ContactsScreen
from crmtui.screens.sections.leads import LeadsScreen
from crmtui.screens.sections.pipeline import PipelineScreen
from tests.app_support import DEMO_NOW, copy_db, settle

DEAL_STATE = "SELECT stage_id, status FROM deal WHERE id = ?"


def clock() -> Any:
    """The moment the demo was seeded at (a Monday morning)."""
    return DEMO_NOW


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the 300-contact demo database."""
    return copy_db(demo_template, tmp_path / "demo.db")


def q(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a query on the database file, read as another process would."""
    with sqlite3.connect(path) as db:
        return [tuple(r) for r in db.execute(sql, params).fetchall()]


def one(path: Path, sql: str, *params: object) -> tuple[Any, ...]:
    """Exactly one row."""
    found = q(path, sql, *params)
    assert len(found) == 1, (sql, params, found)
    return found[0]


def the_rep_of_the_day(path: Path) -> tuple[str, str, str]:
    """(id, name, account id) of a callable contact with a unique name and an account."""
    return one(
        path,
        "SELECT c.id, c.name, c.account_id FROM contact c WHERE c.deleted_at IS NULL"
        " AND c.account_id IS NOT NULL AND c.do_not_call = 0 AND c.phone IS NOT NULL"
        " AND c.archived_at IS NULL"
        " AND (SELECT count(*) FROM contact o WHERE o.name = c.name) = 1"
        " ORDER BY c.id LIMIT 1",
    )


async def type_into(pilot: Pilot[Any], field: Input, text: str) -> None:
    """Replace a field's text, as a user would."""
    field.focus()
    await pilot.press("end", "ctrl+u", *text)


@dataclass
class Day:
    """The app under test, the database file, the contact of the day, and what the steps saw."""

    pilot: Pilot[Any]
    path: Path
    cid: str
    name: str
    account_id: str
    card: Any = None
    calls_before: int = 0
    reminded: tuple[Any, ...] = ()
    deal: Any = None
    moved: tuple[Any, ...] = ()
    lead_id: str = ""
    converted: tuple[Any, ...] = ()


async def find(d: Day) -> None:
    """Find the contact: type the name, Enter on the hit opens the card."""
    pilot, app = d.pilot, d.pilot.app
    cid, name = d.cid, d.name
    assert isinstance(app.screen, ContactsScreen)
    await pilot.press(*name)
    await settle(pilot)
    assert app.screen.results.highlighted_contact is not None
    assert app.screen.results.highlighted_contact.id == cid
    await pilot.press("enter")
    await settle(pilot)
    d.card = app.screen
    assert isinstance(d.card, ContactCardScreen) and d.card.contact_id == cid


async def edit(d: Day) -> None:
    """Edit a field: the job title."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    cid = d.cid
    await pilot.press("e")
    await settle(pilot)
    form = app.screen
    await type_into(pilot, form.query_one("#f-title", Input), "Head of Operations")
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert app.screen is d.card
    assert one(path, "SELECT title FROM contact WHERE id = ?", cid) == ("Head of Operations",)


async def log_a_call(d: Day) -> None:
    """Log a call: outcome by its digit, a note, a next touch."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    cid = d.cid
    d.calls_before = one(path, "SELECT count(*) FROM activity WHERE contact_id = ?", cid)[0]
    await pilot.press("l")
    await settle(pilot)
    log = app.screen
    assert isinstance(log, QuickLogScreen) and log.contact is not None
    assert log.contact.id == cid  # prefilled from the card
    await pilot.press("1", "tab", "tab", *"Wants a quote for 40 units")
    await pilot.press("tab", *"tomorrow", "tab", *"Send the quote")
    await pilot.press("enter")
    await settle(pilot)
    assert app.screen is d.card
    assert one(path, "SELECT count(*) FROM activity WHERE contact_id = ?", cid) == (
        d.calls_before + 1,
    )
    assert one(
        path,
        "SELECT kind, outcome, text FROM activity WHERE contact_id = ?"
        " ORDER BY occurred_at DESC, id DESC LIMIT 1",
        cid,
    ) == ("call", "connected", "Wants a quote for 40 units")
    follow = one(
        path,
        "SELECT due_at, status FROM tickler WHERE contact_id = ? AND text = 'Send the quote'",
        cid,
    )
    assert follow[0].startswith("2026-03-03T") and follow[1] == "open"


async def add_a_reminder(d: Day) -> None:
    """Add a reminder from the card."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    cid = d.cid
    await pilot.press("t")
    await settle(pilot)
    reminder = app.screen
    assert isinstance(reminder, RecordForm)
    await pilot.press(*"Ask about the second site", "tab", "ctrl+u", *"fri 14:00")
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert app.screen is d.card
    d.reminded = one(
        path,
        "SELECT id, due_at, status FROM tickler WHERE contact_id = ?"
        " AND text = 'Ask about the second site'",
        cid,
    )
    assert d.reminded[2] == "open" and d.reminded[1].startswith("2026-03-06T")


async def open_the_account(d: Day) -> None:
    """Open the account from the card."""
    pilot, app = d.pilot, d.pilot.app
    account_id = d.account_id
    await pilot.press("g")
    await settle(pilot)
    account = app.screen
    assert isinstance(account, AccountCardScreen) and account.account_id == account_id
    await pilot.press("escape", "escape")
    await settle(pilot)


async def work_the_call_list(d: Day) -> None:
    """Work the call list: the first contact, "no answer" with one key."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    await pilot.press("f6")
    await settle(pilot)
    queue = app.screen
    assert isinstance(queue, CallListScreen) and queue.current is not None
    called = queue.current.contact_id
    before = one(path, "SELECT count(*) FROM activity WHERE contact_id = ?", called)[0]
    await pilot.press("2")
    await settle(pilot)
    assert one(path, "SELECT count(*) FROM activity WHERE contact_id = ?", called) == (before + 1,)
    assert one(
        path,
        "SELECT outcome FROM activity WHERE contact_id = ? ORDER BY occurred_at DESC, id DESC"
        " LIMIT 1",
        called,
    ) == ("no-answer",)
    assert queue.current is None or queue.current.contact_id != called  # on to the next


async def move_win_and_reopen_a_deal(d: Day) -> None:
    """Move a deal a stage on, win it, and reopen it from its card."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    await pilot.press("f3")
    await settle(pilot)
    board = app.screen
    assert isinstance(board, PipelineScreen)
    d.deal = board.board.highlighted
    assert d.deal is not None
    first = one(path, DEAL_STATE, d.deal.id)
    await pilot.press("right_square_bracket")
    await settle(pilot)
    d.moved = one(path, DEAL_STATE, d.deal.id)
    assert d.moved[0] != first[0] and d.moved[1] == "open"
    await pilot.press("w", "enter")
    await settle(pilot)
    assert one(path, DEAL_STATE, d.deal.id)[1] == "won"
    await pilot.press("enter")
    await settle(pilot)
    deal_card = app.screen
    assert isinstance(deal_card, DealCardScreen)
    await pilot.press("o")
    await settle(pilot)
    assert one(path, DEAL_STATE, d.deal.id) == d.moved  # open again, in the stage it left
    await pilot.press("escape")
    await settle(pilot)


async def convert_a_lead(d: Day) -> None:
    """Convert a lead: the first new one in the inbox."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    await pilot.press("f8")
    await settle(pilot)
    leads = app.screen
    assert isinstance(leads, LeadsScreen) and leads.inbox is not None
    index = next(i for i, lead in enumerate(leads.inbox.rows) if lead.status == "new")
    d.lead_id = leads.inbox.rows[index].id
    leads.query_one(DataTable).move_cursor(row=index)
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(app.screen, RecordForm)
    await pilot.press("ctrl+s")
    await settle(pilot)
    d.converted = one(path, "SELECT status, converted_deal_id FROM lead WHERE id = ?", d.lead_id)
    assert d.converted[0] == "converted" and d.converted[1] is not None
    assert one(path, "SELECT deleted_at FROM deal WHERE id = ?", d.converted[1]) == (None,)


async def undo_two_from_the_recent_actions(d: Day) -> None:
    """Undo two things from the recent actions list: the conversion (the top)..."""
    pilot, path, app = d.pilot, d.path, d.pilot.app
    cid = d.cid
    app.action_recent_actions()
    await settle(pilot)
    recent = app.screen
    assert isinstance(recent, RecentActionsScreen)
    labels = [s.label for s in recent._steps]
    assert labels[0].startswith("Convert ")
    assert "Reminder: Ask about the second site" in labels
    await pilot.press("enter")
    await settle(pilot)
    assert one(path, "SELECT status FROM lead WHERE id = ?", d.lead_id) == ("new",)
    assert one(
        path,
        "SELECT deleted_at IS NOT NULL FROM deal WHERE id = ?",
        d.converted[1],
    ) == (1,)
    # ... and the reminder added in the morning, picked further down the list.
    app.action_recent_actions()
    await settle(pilot)
    recent = app.screen
    assert isinstance(recent, RecentActionsScreen)
    labels = [s.label for s in recent._steps]
    assert not labels[0].startswith("Convert ")  # undone, so off the list
    options = recent.query_one(OptionList)
    options.highlighted = labels.index("Reminder: Ask about the second site")
    await pilot.press("enter")
    await settle(pilot)
    assert one(path, "SELECT deleted_at IS NOT NULL FROM tickler WHERE id = ?", d.reminded[0]) == (
        1,
    )
    # What was not undone stays: the edit, the logged call, the reopened deal.
    assert one(path, "SELECT title FROM contact WHERE id = ?", cid) == ("Head of Operations",)
    assert one(path, "SELECT count(*) FROM activity WHERE contact_id = ?", cid) == (
        d.calls_before + 1,
    )
    assert one(path, DEAL_STATE, d.deal.id) == d.moved
    # Each undo is journaled, so it syncs like any edit.
    ops = q(
        path,
        "SELECT count(*) FROM journal WHERE row_id IN (?, ?)",
        d.lead_id,
        d.reminded[0],
    )
    assert ops[0][0] >= 4


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_a_whole_day_in_the_app(demo_db: Path, size: tuple[int, int]) -> None:
    cid, name, account_id = the_rep_of_the_day(demo_db)
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        day = Day(pilot, demo_db, cid, name, account_id)
        for step in (
            find,
            edit,
            log_a_call,
            add_a_reminder,
            open_the_account,
            work_the_call_list,
            move_win_and_reopen_a_deal,
            convert_a_lead,
            undo_two_from_the_recent_actions,
        ):
            await step(day)
