"""Pilot tests: edit a contact from its card, archive/delete/restore, and undo (ctrl+z) everywhere.

Each test drives the keys a user would and reads the database afterwards.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, RadioSet, Static

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ConfirmCardAction, ContactCardScreen
from crmtui.screens.dialogs.contact_edit import ContactEditScreen
from crmtui.screens.dialogs.recent_actions import RecentActionsScreen
from crmtui.screens.sections.agenda import AgendaScreen
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock

CARLA = "Carla Rossi"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database, built once; every test takes a copy."""
    path = tmp_path_factory.mktemp("contact-edit") / "daily.db"
    return path, build_daily_db(path)


@pytest.fixture
def daily_db(template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy of the daily database."""
    path, ids = template
    return copy_db(path, tmp_path / "daily.db"), ids


def row(path: Path, contact_id: str) -> sqlite3.Row:
    """The contact's stored row."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM contact WHERE id = ?", (contact_id,)).fetchone()
    finally:
        db.close()


def journal_count(path: Path) -> int:
    """How many journal rows there are."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM journal").fetchone()[0])
    finally:
        db.close()


async def open_card(pilot: Pilot[Any], contact_id: str) -> ContactCardScreen:
    """The contact's card, loaded."""
    await settle(pilot)
    pilot.app.open_contact(contact_id)  # type: ignore[attr-defined]
    await settle(pilot)
    card = pilot.app.screen
    assert isinstance(card, ContactCardScreen) and card.card is not None
    return card


async def open_form(pilot: Pilot[Any], contact_id: str) -> ContactEditScreen:
    """The card, then `e`."""
    await open_card(pilot, contact_id)
    await pilot.press("e")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, ContactEditScreen)
    return form


async def retype(pilot: Pilot[Any], form: ContactEditScreen, field: str, text: str) -> None:
    """Clear a field and type `text` into it, as a user would."""
    box = form.query_one(f"#f-{field}", Input)
    box.focus()
    await pilot.press("end", "ctrl+u", *text) if text else await pilot.press("end", "ctrl+u")


def card_name(card: ContactCardScreen) -> str:
    """The name line of the card."""
    return str(card.query_one("#card-name", Static).render())


async def test_edit_saves_every_kind_of_field_then_ctrl_z_puts_it_back(daily_db):
    path, ids = daily_db
    cid = ids[CARLA]
    before = dict(row(path, cid))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, cid)
        assert form.query_one("#f-name", Input).value == CARLA
        await retype(pilot, form, "name", "Carla Rossi-Bianchi")
        await retype(pilot, form, "city", "Torino")
        await retype(pilot, form, "email", "")
        await retype(pilot, form, "tags", "vip partner")
        await retype(pilot, form, "stay_in_touch", "2 weeks")
        await retype(pilot, form, "call_cap", "2/30d")
        form.query_one("#f-do_not_email", Checkbox).focus()
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await settle(pilot)
        card = pilot.app.screen
        assert isinstance(card, ContactCardScreen)
        after = row(path, cid)
        assert after["name"] == "Carla Rossi-Bianchi" and after["family_name"] == "Rossi-Bianchi"
        assert after["city"] == "Torino" and after["email"] is None
        assert after["tags"] == '["vip", "partner"]'
        assert (after["stay_in_touch_days"], after["max_calls"], after["max_calls_days"]) == (
            14,
            2,
            30,
        )
        assert after["do_not_email"] == 1
        # The card was read again after the save.
        assert "Carla Rossi-Bianchi" in card_name(card)
        assert card.query_one("#dne").display
        written = journal_count(path)
        await pilot.press("ctrl+z")
        await settle(pilot)
        undone = dict(row(path, cid))
        for key in ("name", "family_name", "city", "email", "tags", "stay_in_touch_days"):
            assert undone[key] == before[key], key
        assert (undone["max_calls"], undone["do_not_email"]) == (before["max_calls"], 0)
        # Journaled as ordinary edits, so the undo syncs.
        assert journal_count(path) > written
        assert card_name(card).startswith(CARLA) and "Bianchi" not in card_name(card)
        assert app.daily.recent == []


async def test_a_bad_value_is_named_under_its_field_and_nothing_is_written(daily_db):
    path, ids = daily_db
    cid = ids[CARLA]
    written = journal_count(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, cid)
        await retype(pilot, form, "email", "not-an-email")
        await retype(pilot, form, "stay_in_touch", "often")
        await retype(pilot, form, "name", "")
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is form
        email = str(form.query_one("#p-email", Static).render())
        assert form.query_one("#p-email").has_class("-shown") and email.startswith("Email:")
        assert str(form.query_one("#p-stay_in_touch", Static).render()).startswith("Stay in touch:")
        assert str(form.query_one("#p-name", Static).render()).startswith("Name:")
        status = str(form.query_one("#edit-status", Static).render())
        assert "Name" in status and "Email" in status and "Stay in touch" in status
        assert form.query_one("#f-name", Input).has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ContactCardScreen)
    assert journal_count(path) == written
    assert row(path, cid)["email"] is not None


async def test_delete_and_restore_from_the_card_each_after_a_confirmation(daily_db):
    path, ids = daily_db
    cid = ids[CARLA]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot, cid)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmCardAction)
        await pilot.press("enter")  # the safe answer is focused: nothing happens
        await settle(pilot)
        assert row(path, cid)["deleted_at"] is None
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert row(path, cid)["deleted_at"] is not None
        assert pilot.app.screen is card and "deleted" in card_name(card)
        await pilot.press("r", "y")
        await settle(pilot)
        assert row(path, cid)["deleted_at"] is None
        assert card_name(card).startswith(CARLA)
        # Archive, then undo it from the list of recent actions (Enter on the top one).
        await pilot.press("a", "y")
        await settle(pilot)
        assert row(path, cid)["archived_at"] is not None
        app.action_recent_actions()
        await settle(pilot)
        recent = pilot.app.screen
        assert isinstance(recent, RecentActionsScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert row(path, cid)["archived_at"] is None
        assert [s.label for s in app.daily.recent] == [f"Delete {CARLA}", "Restore contact"]


async def test_agenda_done_is_undone_with_ctrl_z(daily_db):
    path, _ = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, AgendaScreen)
        row_ = screen.current
        assert row_ is not None and row_.about.startswith(CARLA) and row_.tickler_id
        tid = row_.tickler_id
        await pilot.press("d")
        await settle(pilot)
        db = sqlite3.connect(path)
        status = "SELECT status FROM tickler WHERE id = ?"
        assert db.execute(status, (tid,)).fetchone()[0] == "done"
        assert all(r.tickler_id != tid for r in screen.agenda_list.rows)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert db.execute(status, (tid,)).fetchone()[0] == "open"
        assert any(r.tickler_id == tid for r in screen.agenda_list.rows)
        db.close()


async def test_the_palette_lists_the_card_actions_and_undo_with_their_keys(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot, ids[CARLA])
        commands = {c.title: c.help for c in app.get_system_commands(card)}
        # One entry per action: the card's words, then the key.
        assert f"Edit {CARLA} (e)" in commands
        assert f"Archive {CARLA} (a)" in commands
        assert f"Delete {CARLA} (d)" in commands
        assert "Recent actions" in commands
        await pilot.press("a", "y")
        await settle(pilot)
        commands = {c.title: c.help for c in app.get_system_commands(card)}
        assert f"Undo: Archive {CARLA} (^z)" in commands
        assert f"Unarchive {CARLA} (a)" in commands


async def test_the_edit_form_fits_at_80x24(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, ids[CARLA])
        screen = form.region
        for selector in ("#form", "#save", "#cancel", "#f-name", "#f-stay_in_touch"):
            region = form.query_one(selector).region
            assert region.area and screen.contains_region(region), selector


async def test_a_contact_changed_since_its_card_was_read_is_not_overwritten(daily_db):
    """The stale-read guard: another write changed the city while the form was open."""
    from crmtui.services.address_book.contacts import ContactUpdate, update_contact
    from crmtui.store.database import open_store

    path, ids = daily_db
    cid = ids[CARLA]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, cid)
        # Another writer (a sync, the CLI) changes the city and the title underneath.
        other = open_store(path)
        try:
            with other.write() as tx:
                update_contact(
                    tx=tx,
                    contact_id=cid,
                    data=ContactUpdate(city="Bari", title="Buyer"),
                    region="DE",
                )
        finally:
            other.close()
        written = journal_count(path)
        await retype(pilot, form, "city", "Torino")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is form
        problem = str(form.query_one("#p-city", Static).render())
        assert problem.startswith("City: changed since this form was opened (now 'Bari')")
        assert "City" in str(form.query_one("#edit-status", Static).render())
        assert journal_count(path) == written and row(path, cid)["city"] == "Bari"
        # Saving a field nobody else changed keeps the other write's values.
        await retype(pilot, form, "city", form.before["city"])
        await retype(pilot, form, "country", "CH")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ContactCardScreen)
    after = row(path, cid)
    assert (after["city"], after["title"], after["country"]) == ("Bari", "Buyer", "CH")


async def test_an_older_card_read_that_finishes_last_is_not_shown(daily_db, monkeypatch):
    """The read-order race, forced: read A (before a rename) is held until read B (after
    it) is shown; A's result then arrives last and must not put the old name back."""
    import crmtui.screens.cards.contact_card as card_screen
    from crmtui.services.address_book.contacts import ContactUpdate, update_contact
    from crmtui.store.database import open_store
    from tests.card_support import HeldRead, until

    path, ids = daily_db
    cid = ids[CARLA]
    held = HeldRead(card_screen.contact_card)
    monkeypatch.setattr(card_screen, "contact_card", held)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot, cid)
        held.holding = True
        card.load_card()  # read A: the contact as it is now
        await held.wait(pilot, held.held)
        other = open_store(path)
        try:
            with other.write() as tx:
                update_contact(
                    tx=tx, contact_id=cid, data=ContactUpdate(name="Carla Nuova"), region="DE"
                )
        finally:
            other.close()
        card.load_card()  # read B: after the rename
        await until(pilot, lambda: "Carla Nuova" in card_name(card))
        held.release.set()
        await held.wait(pilot, held.finished)
        await settle(pilot)
        assert "Carla Nuova" in card_name(card)


def items(path: Path, contact_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """The contact's live items: phones (kind, e164, dialled), emails (address, primary)."""
    db = sqlite3.connect(path)
    try:
        return {
            "phones": db.execute(
                "SELECT kind, e164, is_primary FROM contact_phone WHERE contact_id = ? "
                "AND deleted_at IS NULL ORDER BY id",
                (contact_id,),
            ).fetchall(),
            "emails": db.execute(
                "SELECT address, is_primary FROM contact_email WHERE contact_id = ? "
                "AND deleted_at IS NULL ORDER BY id",
                (contact_id,),
            ).fetchall(),
            "addresses": db.execute(
                "SELECT street, city, country FROM contact_address WHERE contact_id = ? "
                "AND deleted_at IS NULL ORDER BY id",
                (contact_id,),
            ).fetchall(),
        }
    finally:
        db.close()


async def test_the_form_adds_and_removes_items_and_ctrl_z_undoes_all(daily_db):
    path, ids = daily_db
    cid = ids[CARLA]
    before, columns = items(path, cid), dict(row(path, cid))
    (email,) = before["emails"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, cid)
        await retype(pilot, form, "add_phone", "mobile:+39 333 1234567")
        await retype(pilot, form, "add_email", "home:carla@casa.example")
        await retype(pilot, form, "add_address", "home:street=Via Roma 1;city=Torino;country=IT")
        (email_box,) = [b for b in form.query(Checkbox) if b.id and str(b.label) == email[0]]
        email_box.focus()
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ContactCardScreen)
        after = items(path, cid)
        assert ("mobile", "+393331234567", 0) in after["phones"]
        assert after["emails"] == [("carla@casa.example", 1)]  # the old one removed
        assert ("Via Roma 1", "Torino", "IT") in after["addresses"]
        assert row(path, cid)["email"] == "carla@casa.example"  # the primary follows
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert items(path, cid) == before
        assert row(path, cid)["email"] == columns["email"]


async def test_the_form_chooses_the_dialled_phone(daily_db):
    path, ids = daily_db
    cid = ids[CARLA]
    from crmtui.services.contact_items import add_phone, clean_phone
    from crmtui.store.database import open_store
    from crmtui.store.models import Contact
    from crmtui.store.resolve import get_live

    store = open_store(path)
    try:
        with store.write() as tx:
            mobile = clean_phone("mobile", "+39 333 7654321", None, region="IT")
            add_phone(tx, get_live(tx, Contact, cid), mobile)
    finally:
        store.close()
    dialled_before = row(path, cid)["phone"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, cid)
        choice = form.query_one("#f-dial", RadioSet)
        choice.focus()
        await pilot.press("down", "enter")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ContactCardScreen)
        phones = items(path, cid)["phones"]
        assert [p[1] for p in phones if p[2]] == ["+393337654321"]
        # The call list dials `phone`, else `mobile`: the mobile now, so no `phone`.
        assert row(path, cid)["mobile"] == "+39 333 7654321" and row(path, cid)["phone"] is None
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert row(path, cid)["phone"] == dialled_before


async def test_a_bad_item_is_named_under_its_box_and_nothing_is_written(daily_db):
    path, ids = daily_db
    cid = ids[CARLA]
    written = journal_count(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, cid)
        await retype(pilot, form, "add_phone", "pager:123")
        await retype(pilot, form, "add_email", "not an address")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is form
        assert str(form.query_one("#p-add_phone", Static).render()).startswith("Add phone:")
        assert "pager" in str(form.query_one("#p-add_phone", Static).render())
        assert str(form.query_one("#p-add_email", Static).render()).startswith("Add email:")
        assert form.query_one("#f-add_phone", Input).has_focus
    assert journal_count(path) == written


async def test_the_saved_notice_names_the_form_labels_not_the_stored_columns(daily_db):
    path, ids = daily_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, ids[CARLA])
        await retype(pilot, form, "company", "Rossi Nuova")
        await retype(pilot, form, "mobile", "0151 2345678")
        await retype(pilot, form, "call_cap", "2/30d")
        await retype(pilot, form, "stay_in_touch", "2 weeks")
        await pilot.press("ctrl+s")
        await settle(pilot)
        said = [str(n.message) for n in app._notifications]
    saved = [m for m in said if m.startswith("Changed: ")]
    assert saved == ["Changed: Stay in touch, Call cap, Company, Mobile · ctrl+z undoes"], said
