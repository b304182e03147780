"""Pilot tests of the Agenda screen: buckets, counts, and done/snooze/defer against the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.prompts import WhenPrompt
from crmtui.screens.sections.agenda import AgendaScreen
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, counts, fixed_clock, reading


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database, built once; tests that write take a copy."""
    path = tmp_path_factory.mktemp("agenda") / "daily.db"
    return path, build_daily_db(path)


@pytest.fixture
def daily_db(daily_template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy of the daily database."""
    path, ids = daily_template
    return copy_db(path, tmp_path / "daily.db"), ids


async def agenda_screen(pilot) -> AgendaScreen:
    """Open the agenda (F2) and wait until it has been read."""
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AgendaScreen), type(screen)
    return screen


def shown(screen: AgendaScreen) -> list[tuple[str, str]]:
    """(bucket, who) of every row, in order."""
    return [(row.bucket, row.about.split(" (")[0]) for row in screen.agenda_list.rows]


async def move_to(pilot, screen: AgendaScreen, name: str) -> None:
    """Put the cursor on the first row about `name`."""
    for _ in range(len(screen.agenda_list.rows) + 8):
        current = screen.current
        if current is not None and current.about.startswith(name):
            return
        await pilot.press("down")
    raise AssertionError(f"{name} is not in the agenda")


async def test_buckets_counts_and_hidden_snoozed(daily_db):
    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await agenda_screen(pilot)
        assert shown(screen) == [
            ("overdue", "Carla Rossi"),
            ("overdue", "John Smith"),
            ("today", "Emma Johnson"),
            ("today", "Dieter Wagner"),
            ("upcoming", "Fatima Haddad"),
            ("upcoming", "Georg Becker"),
            ("stay_in_touch", "Jonas Weber"),
        ]
        header = str(screen.query_one("#agenda-counts", Static).render())
        assert "2 overdue" in header and "2 today" in header and "2 upcoming" in header
        assert "1 to stay in touch with" in header
        assert screen.current is not None and screen.current.about.startswith("Carla Rossi")
        assert screen.current.when == "yesterday 09:30"
        # Hannah's reminder is snoozed until tomorrow: not on the agenda.
        assert all("Hannah" not in row.about for row in screen.agenda_list.rows)


async def test_done_closes_the_reminder_and_refreshes_the_list(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await agenda_screen(pilot)
        await pilot.press("d")
        await settle(pilot)
        with reading(path) as db:
            status, done_at = db.execute(
                "SELECT status, done_at FROM tickler WHERE contact_id = ? AND text LIKE 'Call back%'",
                (ids["Carla Rossi"],),
            ).fetchone()
        assert status == "done"
        assert done_at.startswith("2026-03-09T08:30")  # the app's clock, not the machine's
        assert ("overdue", "Carla Rossi") not in shown(screen)
        assert "1 overdue" in str(screen.query_one("#agenda-counts", Static).render())
        # The cursor stays in place: now on the next overdue reminder.
        assert screen.current is not None and screen.current.about.startswith("John Smith")


async def test_snooze_asks_until_when_and_hides_the_reminder(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await agenda_screen(pilot)
        await pilot.press("s")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, WhenPrompt)
        box = prompt.query_one("#when", Input)
        assert box.value == "2h"
        assert "Mon 09 Mar 2026 10:30" in str(prompt.query_one("#reading", Static).render())
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        with reading(path) as db:
            due, snoozed = db.execute(
                "SELECT due_at, snoozed_until FROM tickler WHERE contact_id = ? AND status = 'open'",
                (ids["Carla Rossi"],),
            ).fetchone()
        assert snoozed.startswith("2026-03-09T10:30")
        assert due.startswith("2026-03-08T09:30")  # snoozing keeps the due date
        assert ("overdue", "Carla Rossi") not in shown(screen)


async def test_defer_takes_plain_words_and_moves_the_due_date(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await agenda_screen(pilot)
        await move_to(pilot, screen, "Emma Johnson")
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, WhenPrompt)
        await pilot.press("ctrl+u", *"3d", "enter")  # clear the default, then three days
        await settle(pilot)
        with reading(path) as db:
            (due,) = db.execute(
                "SELECT due_at FROM tickler WHERE contact_id = ? AND status = 'open'",
                (ids["Emma Johnson"],),
            ).fetchone()
        assert due.startswith("2026-03-12T14:00")  # whole days keep the time of day
        assert ("upcoming", "Emma Johnson") in shown(screen)
        assert ("today", "Emma Johnson") not in shown(screen)


async def test_unreadable_words_keep_the_prompt_open_and_write_nothing(daily_db):
    path, _ = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await agenda_screen(pilot)
        await pilot.press("m", "ctrl+u", *"someday soon", "enter")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, WhenPrompt)
        assert "cannot read" in str(prompt.query_one("#reading", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
    assert counts(path) == before


async def test_stay_in_touch_rows_offer_open_but_not_reminder_keys(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await agenda_screen(pilot)
        await move_to(pilot, screen, "Jonas Weber")
        assert screen.current is not None and screen.current.text == "never touched"
        assert not screen.check_action("done", ())
        assert not screen.check_action("snooze", ())
        assert screen.check_action("open", ())
        before = counts(path)
        await pilot.press("d")  # not offered here: nothing happens
        await settle(pilot)
        assert counts(path) == before
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        assert card.contact_id == ids["Jonas Weber"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_a_visit_reads_again_only_after_a_commit_or_a_refresh(daily_db, monkeypatch):
    import crmtui.screens.sections.agenda as agenda_module

    reads: list[int] = []
    real = agenda_module.load_agenda

    def counted(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(agenda_module, "load_agenda", counted)
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await agenda_screen(pilot)
        first = len(reads)
        assert first >= 1
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert len(reads) == first  # nothing committed: the list read before is kept
        assert not screen.loading_agenda
        # A commit from elsewhere (a `crm` command in a shell): the next visit reads it.
        with reading(path) as db:
            db.execute(
                "UPDATE tickler SET status = 'done' WHERE contact_id = ? AND text LIKE 'Call back%'",
                (ids["Carla Rossi"],),
            )
            db.commit()
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert len(reads) == first + 1
        assert ("overdue", "Carla Rossi") not in shown(screen)
        await pilot.press("r")  # asked for: read even though nothing changed
        await settle(pilot)
        assert len(reads) == first + 2
