"""Pilot tests of the quick log: Enter writes exactly one activity (and tickler), Escape nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

import crmtui.startup as startup_module
from crmtui.app import make_app
from crmtui.screens.dialogs.prompts import ConfirmOverride
from crmtui.screens.dialogs.quick_log import OUTCOMES, QuickLogScreen, outcome_choices
from crmtui.screens.sections.agenda import AgendaScreen
from crmtui.store.models import ACTIVITY_KINDS, ACTIVITY_OUTCOMES
from crmtui.widgets.choice_bar import ChoiceBar
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, counts, fixed_clock, reading


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database, built once; tests that write take a copy."""
    path = tmp_path_factory.mktemp("quick") / "daily.db"
    return path, build_daily_db(path)


@pytest.fixture
def daily_db(daily_template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy of the daily database."""
    path, ids = daily_template
    return copy_db(path, tmp_path / "daily.db"), ids


async def open_from_agenda(pilot) -> QuickLogScreen:
    """Agenda (cursor on Carla Rossi's overdue reminder), then `l`."""
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AgendaScreen)
    await pilot.press("l")
    await settle(pilot)
    modal = pilot.app.screen
    assert isinstance(modal, QuickLogScreen)
    return modal


async def test_enter_writes_one_activity_and_one_follow_up(daily_db):
    path, ids = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_from_agenda(pilot)
        assert modal.contact is not None and modal.contact.id == ids["Carla Rossi"]
        assert modal.query_one("#kind", ChoiceBar).has_focus
        await pilot.press("tab", "right", "right")  # outcome: no outcome → connected → no answer
        assert modal.query_one("#outcome", ChoiceBar).value == "no-answer"
        await pilot.press("tab", *"Left a message with reception")
        await pilot.press("tab", *"in 2 days", "tab", *"Try the mobile")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)  # closed after saving
    after = counts(path)
    assert after["activity"] == before["activity"] + 1
    assert after["tickler"] == before["tickler"] + 1
    with reading(path) as db:
        kind, outcome, text, occurred, override = db.execute(
            "SELECT kind, outcome, text, occurred_at, consent_override FROM activity "
            "WHERE contact_id = ? ORDER BY occurred_at DESC LIMIT 1",
            (ids["Carla Rossi"],),
        ).fetchone()
        follow = db.execute(
            "SELECT text, due_at, status FROM tickler WHERE contact_id = ? AND text = 'Try the mobile'",
            (ids["Carla Rossi"],),
        ).fetchall()
    assert (kind, outcome, text) == ("call", "no-answer", "Left a message with reception")
    assert occurred.startswith("2026-03-09T08:30") and not override
    assert len(follow) == 1
    assert follow[0][1].startswith("2026-03-11T09:00") and follow[0][2] == "open"


async def test_escape_writes_nothing(daily_db):
    path, _ = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_from_agenda(pilot)
        await pilot.press("tab", "right", "tab", *"Spoke briefly", "tab", *"tomorrow")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
    assert counts(path) == before


async def test_a_searched_contact_and_a_note_without_outcome(daily_db):
    path, ids = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")  # a screen with nobody selected
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, QuickLogScreen) and modal.contact is None
        assert modal.query_one("#search", Input).has_focus
        await pilot.press(*"fatma hadad")  # typos forgiven
        await settle(pilot)
        await pilot.press("enter")  # picks the highlighted match, does not save yet
        await settle(pilot)
        assert modal.contact is not None and modal.contact.id == ids["Fatima Haddad"]
        assert counts(path) == before
        await pilot.press("right", "right")  # kind: call → meeting → note
        assert modal.query_one("#outcome", ChoiceBar).value == ""
        await pilot.press("tab", "tab", *"Prefers email", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, QuickLogScreen)
    after = counts(path)
    assert after["activity"] == before["activity"] + 1
    assert after["tickler"] == before["tickler"]  # no next touch asked for
    with reading(path) as db:
        row = db.execute(
            "SELECT kind, outcome, text FROM activity WHERE contact_id = ?",
            (ids["Fatima Haddad"],),
        ).fetchone()
    assert row == ("note", None, "Prefers email")


async def test_enter_without_a_contact_says_so_and_writes_nothing(daily_db):
    path, _ = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5", "l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, QuickLogScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal
        assert "Choose a contact first" in str(modal.query_one("#log-status", Static).render())
    assert counts(path) == before


async def test_unreadable_next_touch_keeps_the_modal_open(daily_db):
    path, _ = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_from_agenda(pilot)
        await pilot.press("tab", "tab", "tab", *"next blursday", "enter")
        await settle(pilot)
        assert app.screen is modal
        status = str(modal.query_one("#log-status", Static).render())
        assert status.startswith("Next touch:") and "blursday" in status
    assert counts(path) == before


async def test_do_not_call_asks_before_logging_an_override(daily_db):
    path, ids = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5", "l")
        await settle(pilot)
        await pilot.press(*"dieter wagner")
        await settle(pilot)
        await pilot.press("enter", "enter")  # pick Dieter, then save a call
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmOverride)
        assert "do-not-call" in str(confirm.query_one("#reasons", Static).render())
        await pilot.press("escape")  # don't log
        await settle(pilot)
        assert isinstance(app.screen, QuickLogScreen)
        assert counts(path) == before
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmOverride)
        await pilot.press("y")  # log anyway
        await settle(pilot)
        assert not isinstance(app.screen, (QuickLogScreen, ConfirmOverride))
    with reading(path) as db:
        rows = db.execute(
            "SELECT kind, consent_override FROM activity WHERE contact_id = ?",
            (ids["Dieter Wagner"],),
        ).fetchall()
    assert rows == [("call", 1)]


def test_the_modal_offers_only_outcomes_the_store_accepts():
    assert set(OUTCOMES) <= set(ACTIVITY_KINDS)
    for kind, outcomes in OUTCOMES.items():
        assert set(outcomes) <= set(ACTIVITY_OUTCOMES), kind
        assert outcome_choices(kind)[0][0] == ""


async def test_ctrl_l_in_the_search_box_logs_for_the_highlighted_contact(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"rossi")  # "l" would be typed into the box; Ctrl+L is not
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, QuickLogScreen)
        assert modal.contact is not None and modal.contact.id == ids["Carla Rossi"]


async def test_one_writer_opened_on_the_first_write_and_closed_on_exit(daily_db, monkeypatch):
    # Without the idle start-up work, which opens the writer ahead (tests/test_app_prebuild.py).
    monkeypatch.setattr(startup_module, "PREBUILD_IDLE_S", 3600.0)
    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_from_agenda(pilot)
        assert app.daily._store is None  # reading never opens the writer
        await pilot.press("enter")
        await settle(pilot)
        writer = app.daily._store
        assert writer is not None
        await pilot.press("l", "enter")
        await settle(pilot)
        assert app.daily._store is writer  # one Store per app
    assert app.daily._store is None


async def test_ctrl_l_is_in_the_footer_while_typing_in_the_search_box(daily_db):
    from crmtui.widgets.footer import SteadyFooter

    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"ro")  # the search box has the cursor, holding text
        await settle(pilot)
        footer = app.screen.query_one(SteadyFooter)
        logs = [item for item in footer.items if item.label == "Log"]
        assert logs and "^l" in str(logs[0].keys), footer.items


async def test_l_on_a_deal_card_logs_on_the_deal_and_its_contact(daily_db):
    from crmtui.screens.cards.deal_card import DealCardScreen

    path, ids = daily_db
    with reading(path) as db:
        deal_id, deal_name = db.execute(
            "SELECT id, name FROM deal WHERE contact_id = ?", (ids["Emma Johnson"],)
        ).fetchone()
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_deal(deal_id)
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen)
        await pilot.press("l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, QuickLogScreen)
        assert modal.contact is not None and modal.contact.id == ids["Emma Johnson"]
        assert modal.deal is not None and modal.deal.id == deal_id
        assert deal_name in str(modal.query_one("#deal", Static).render())
        await pilot.press("tab", "tab", *"Talked seats", "enter")
        await settle(pilot)
    with reading(path) as db:
        logged = db.execute(
            "SELECT contact_id, deal_id FROM activity WHERE text = 'Talked seats'"
        ).fetchall()
    assert logged == [(ids["Emma Johnson"], deal_id)]


async def test_digits_pick_the_outcome_like_the_call_list_and_type_in_text(daily_db):
    from crmtui.screens.sections.calls import OUTCOME_KEYS

    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_from_agenda(pilot)
        outcome = modal.query_one("#outcome", ChoiceBar)
        for key in OUTCOME_KEYS:  # the same digit means the same outcome as on F6
            await pilot.press(key.key)
            assert outcome.value == key.outcome, key
        await pilot.press("0")
        assert outcome.value == ""
        await pilot.press("tab", "tab", "2", "1")  # in the notes field: text
        assert modal.query_one("#text", Input).value == "21"
        assert outcome.value == ""


async def test_the_next_touch_is_read_back_live_and_lands_at_the_working_hour(daily_db):
    import os

    Path(os.environ["CRMTUI_CONFIG"]).write_text('working_hour = "10:15"\n', encoding="utf-8")
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)  # 08:30 UTC on Mon 09 Mar 2026
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_from_agenda(pilot)
        reading_ = modal.query_one("#next-reading", Static)
        await pilot.press("tab", "tab", "tab", *"tomorrow")
        await settle(pilot)
        assert str(reading_.render()) == "→ Tue 10 Mar 2026 10:15"
        await pilot.press(*"xx")
        assert "cannot read" in str(reading_.render())
        await pilot.press("backspace", "backspace")
        await pilot.press("ctrl+u", *"in 2 days")  # whole days: the working hour too
        await settle(pilot)
        assert str(reading_.render()) == "→ Wed 11 Mar 2026 10:15"
        await pilot.press("enter")
        await settle(pilot)
    with reading(path) as db:
        due = db.execute(
            "SELECT due_at FROM tickler WHERE contact_id = ? AND text = 'Follow up'",
            (ids["Carla Rossi"],),
        ).fetchone()
    assert due[0].startswith("2026-03-11T10:15")
