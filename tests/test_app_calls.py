"""Pilot tests of the call list: the three-key flow asserted end to end against the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from crmtui.app import make_app
from crmtui.reports.calls import CONNECT_OUTCOMES
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.prompts import WhenPrompt
from crmtui.screens.sections.calls import OUTCOME_KEYS, CallListScreen, outcome_words
from crmtui.store.models import ACTIVITY_OUTCOMES
from tests.app_support import PEOPLE, build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, counts, fixed_clock, reading

DO_NOT_CALL = {p[0] for p in PEOPLE if p[7]}


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database, built once; tests that write take a copy."""
    path = tmp_path_factory.mktemp("calls") / "daily.db"
    return path, build_daily_db(path)


@pytest.fixture
def daily_db(daily_template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy of the daily database."""
    path, ids = daily_template
    return copy_db(path, tmp_path / "daily.db"), ids


async def call_list(pilot) -> CallListScreen:
    """Open the call list (F6) and wait until the queue has been read."""
    await settle(pilot)
    await pilot.press("f6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CallListScreen), type(screen)
    return screen


def queue_names(screen: CallListScreen) -> list[str]:
    """Names in the queue on screen, in order."""
    return [item.name for item in screen.queue]


def counters(screen: CallListScreen) -> str:
    """The counters line as text."""
    return str(screen.query_one("#call-counters", Static).render())


async def test_two_logs_no_answer_schedules_tomorrow_and_advances(daily_db):
    path, ids = daily_db
    carla = ids["Carla Rossi"]
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        assert queue_names(screen) == ["Carla Rossi", "Emma Johnson"]
        assert screen.current is not None and screen.current.name == "Carla Rossi"
        assert "Calls today 0" in counters(screen) and "Remaining 2" in counters(screen)
        card = str(
            screen.query_one("#call-recent").query_one(".card-section--body", Static).render()
        )
        assert "Sent the invoice copy" in card  # the last notes are on screen before dialling

        await pilot.press("2")
        await settle(pilot)

        assert queue_names(screen) == ["Emma Johnson"]
        assert screen.current is not None and screen.current.name == "Emma Johnson"
        text = counters(screen)
        assert "Calls today 1" in text and "Connects 0" in text and "Remaining 1" in text
    after = counts(path)
    assert after["activity"] == before["activity"] + 1
    assert after["tickler"] == before["tickler"] + 1
    with reading(path) as db:
        activity = db.execute(
            "SELECT kind, outcome, occurred_at FROM activity WHERE contact_id = ? "
            "ORDER BY occurred_at DESC LIMIT 1",
            (carla,),
        ).fetchone()
        reminders = db.execute(
            "SELECT text, status, due_at FROM tickler WHERE contact_id = ? ORDER BY due_at",
            (carla,),
        ).fetchall()
    assert activity[:2] == ("call", "no-answer")
    assert activity[2].startswith("2026-03-09T08:30")
    # The reminder that queued the call is done; the next attempt is due tomorrow.
    assert [(t, s) for t, s, _ in reminders] == [
        ("Call back about the invoice", "done"),
        ("Call again (no answer)", "open"),
    ]
    assert reminders[1][2].startswith("2026-03-10T09:00")


async def test_connected_counts_as_a_connect(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        await pilot.press("1", "1")  # Carla connected, then Emma connected
        await settle(pilot)
        assert queue_names(screen) == []
        text = counters(screen)
        assert "Calls today 2" in text and "Connects 2" in text and "Remaining 0" in text
        assert "Nobody left to call" in str(screen.query_one("#call-name", Static).render())
        assert not screen.check_action("outcome", ("1",))
    with reading(path) as db:
        outcomes = db.execute(
            "SELECT contact_id, outcome FROM activity WHERE occurred_at LIKE '2026-03-09T08:30%'"
        ).fetchall()
        due = db.execute(
            "SELECT due_at FROM tickler WHERE contact_id = ? AND status = 'open'",
            (ids["Emma Johnson"],),
        ).fetchone()
    assert sorted(outcomes) == sorted(
        [(ids["Carla Rossi"], "connected"), (ids["Emma Johnson"], "connected")]
    )
    assert due[0].startswith("2026-03-16T09:00")  # connected: in a week, at the working hour


async def test_call_back_asks_when_and_enter_takes_the_default(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await call_list(pilot)
        await pilot.press("8")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, WhenPrompt)
        assert prompt.query_one("#when", Input).value == "tomorrow 10am"
        await pilot.press("enter")  # three keys: 8, Enter ... done
        await settle(pilot)
        assert isinstance(app.screen, CallListScreen)
    with reading(path) as db:
        row = db.execute(
            "SELECT text, due_at FROM tickler WHERE contact_id = ? AND status = 'open'",
            (ids["Carla Rossi"],),
        ).fetchone()
    assert row[0] == "Call back as asked" and row[1].startswith("2026-03-10T10:00")


async def test_call_back_leaves_the_queue_while_another_read_is_running(daily_db):
    """The app's shared connection is busy with another query (the warm-up, a search, an
    older queue read) while the call is written: the queue read after the write must
    still see it, not bring the contact back with its done reminder."""
    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        assert queue_names(screen) == ["Carla Rossi", "Emma Johnson"]
        assert app.db is not None
        busy = app.db.execute("SELECT id FROM contact")
        assert busy.fetchone() is not None  # a statement still running on that connection
        await pilot.press("8")
        await settle(pilot)
        assert isinstance(app.screen, WhenPrompt)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert queue_names(screen) == ["Emma Johnson"]
        assert "Calls today 1" in counters(screen) and "Connects 1" in counters(screen)
        assert "Remaining 1" in counters(screen)
        busy.close()
        await pilot.press("r")
        await settle(pilot)
        assert queue_names(screen) == ["Emma Johnson"]
        await pilot.press("1")  # a digit on the contact now on screen logs it
        await settle(pilot)
        assert queue_names(screen) == []
        assert "Calls today 2" in counters(screen)
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_remaining_says_more_the_same_before_and_after_a_call(daily_db, monkeypatch):
    """At the window's limit "Remaining" reads N+ before, during and after a call."""
    from crmtui.screens.sections import calls

    path, _ = daily_db
    monkeypatch.setattr(calls, "QUEUE_LIMIT", 1)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        assert queue_names(screen) == ["Carla Rossi"]
        assert "Remaining 1+" in counters(screen)
        seen = []
        original = screen._show_counters

        def recording() -> None:
            original()
            seen.append(counters(screen))

        monkeypatch.setattr(screen, "_show_counters", recording)
        await pilot.press("2")
        await settle(pilot)
        assert queue_names(screen) == ["Emma Johnson"]
        assert seen and all("Remaining 1" in line for line in seen), seen
        assert "Remaining 1" in counters(screen) and "Remaining 1+" not in counters(screen)


async def test_skip_moves_on_without_writing(daily_db):
    path, _ = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert screen.current is not None and screen.current.name == "Emma Johnson"
        assert queue_names(screen) == ["Emma Johnson", "Carla Rossi"]
        await pilot.press("r")  # a fresh read keeps the skipped contact at the end
        await settle(pilot)
        assert queue_names(screen) == ["Emma Johnson", "Carla Rossi"]
    assert counts(path) == before


async def test_enter_opens_the_full_card(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen) and card.contact_id == ids["Carla Rossi"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_do_not_call_contacts_never_appear_even_with_a_wide_filter(daily_db):
    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        # John Smith and Dieter Wagner have reminders due today, but are do-not-call.
        assert not DO_NOT_CALL & set(queue_names(screen))
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("tab", "tab", "tab", *"30d", "enter")  # untouched for 30 days
        await settle(pilot)
        names = queue_names(screen)
        assert len(names) == len(PEOPLE) - len(DO_NOT_CALL)
        assert not DO_NOT_CALL & set(names)
        assert names[:2] == ["Carla Rossi", "Emma Johnson"]  # due reminders first
        assert "untouched 30d" in counters(screen)


async def test_a_filter_that_names_nothing_says_so(daily_db):
    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        await pilot.press("f", *"Atlantis", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CallListScreen)
        assert "due reminders only" in counters(screen)  # the filter did not change
        assert queue_names(screen) == ["Carla Rossi", "Emma Johnson"]


def test_the_keymap_logs_only_outcomes_the_store_accepts():
    assert set(outcome_words()) <= set(ACTIVITY_OUTCOMES)
    keys = [k.key for k in OUTCOME_KEYS]
    assert keys == sorted(set(keys))  # one outcome per key
    assert {"connected", "meeting-booked"} <= set(CONNECT_OUTCOMES)
    assert next(k for k in OUTCOME_KEYS if k.outcome == "no-answer").next_when == "in 1 day"
