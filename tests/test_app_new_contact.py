"""Pilot tests of the new-contact form: one contact written with its journal ops, or nothing.

Probable duplicates show while typing and a one-key save is refused when one is
strong; Escape and a validation problem write nothing at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from crmtui.app import make_app
from crmtui.domain.validate import InvalidInput
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.new_contact import ConfirmDuplicate, NewContactScreen
from crmtui.screens.sections.contacts import ContactsScreen
from crmtui.services.address_book.contacts import ContactCreate, contact_problems, create_contact
from crmtui.store.database import open_store
from tests.app_support import build_fixed_db, copy_db, settle

SIZE = (120, 40)
ANNA_EMAIL = "anna.mueller@kranich.example"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixed twelve-contact database, built once; tests that write take a copy."""
    path = tmp_path_factory.mktemp("new-contact") / "fixed.db"
    return path, build_fixed_db(path)


@pytest.fixture
def fixed_db(template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy of the fixed database."""
    path, ids = template
    return copy_db(path, tmp_path / "fixed.db"), ids


def counts(path: Path) -> dict[str, int]:
    """Rows in the tables a new contact touches."""
    db = sqlite3.connect(path)
    try:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("contact", "account", "journal")
        }
    finally:
        db.close()


async def open_form(pilot: Pilot[Any]) -> NewContactScreen:
    """The Contacts screen (cursor in the search box), then ctrl+n."""
    await settle(pilot)
    assert isinstance(pilot.app.screen, ContactsScreen)
    await pilot.press("ctrl+n")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, NewContactScreen)
    assert form.query_one("#f-name", Input).has_focus
    return form


async def fill(pilot: Pilot[Any], form: NewContactScreen, **values: str) -> None:
    """Type into the named fields (focused one by one, as Tab would)."""
    for name, text in values.items():
        form.query_one(f"#f-{name}", Input).focus()
        await pilot.press(*text)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Wait for the debounced check to answer (it runs after a pause in typing)."""
    for _ in range(200):
        await settle(pilot, rounds=1)
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


def shown_problem(form: NewContactScreen, field: str) -> str | None:
    """The problem line under `field`, if it is shown."""
    line = form.query_one(f"#p-{field}", Static)
    return str(line.render()) if line.has_class("-shown") else None


def status(form: NewContactScreen) -> str:
    """The form's status line."""
    return str(form.query_one("#new-status", Static).render())


async def test_saving_writes_one_contact_with_its_journal_ops(fixed_db):
    path, ids = fixed_db
    before = counts(path)
    db = sqlite3.connect(path)
    kranich = db.execute(
        "SELECT account_id FROM contact WHERE id = ?", (ids["Anna Müller"],)
    ).fetchone()[0]
    db.close()
    app = make_app(db_path=path)
    notes: list[tuple[str, str | None]] = []
    original = app.notify

    def spy(message: str, **kw: Any) -> None:
        notes.append((message, kw.get("title")))
        original(message, **kw)

    app.notify = spy  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(
            pilot,
            form,
            name="Zoe Newfield",
            company="kranich logistik gmbh",  # the existing account, in other case
            email="Zoe@Example.COM",
            phone="030 1234567",
            title="Buyer",
            city="Berlin",
            country="de",
            tags="vip, Trial",
        )
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)  # the new contact's card opened
        assert ("Zoe Newfield", "Contact added") in notes
    after = counts(path)
    assert after["contact"] == before["contact"] + 1
    assert after["account"] == before["account"]  # reused, as `crm contact add` does
    db = sqlite3.connect(path)
    try:
        row = db.execute(
            "SELECT id, name, email, phone_e164, country, tags, account_id, title, city "
            "FROM contact WHERE name = 'Zoe Newfield'"
        ).fetchall()
        assert len(row) == 1
        cid, _, email, e164, country, tags, account_id, title, city = row[0]
        assert card.contact_id == cid
        assert (email, e164, country) == ("Zoe@example.com", "+49301234567", "DE")
        assert json.loads(tags) == ["vip", "trial"]
        assert (account_id, title, city) == (kranich, "Buyer", "Berlin")
        new_ops = db.execute(
            "SELECT entity, row_id, op, pushed_at FROM journal ORDER BY rowid DESC LIMIT ?",
            (after["journal"] - before["journal"],),
        ).fetchall()
        items = {
            (table, item_id)
            for table in ("contact_phone", "contact_email", "contact_address")
            for (item_id,) in db.execute(f"SELECT id FROM {table} WHERE contact_id = ?", (cid,))
        }
    finally:
        db.close()
    # Every new op is about this contact or its items (phone, email, address), pending,
    # and the creation of each is among them.
    assert len(items) == 3
    mine = {("contact", cid), *items}
    assert new_ops and all(
        (entity, row_id) in mine and pushed is None for entity, row_id, _, pushed in new_ops
    )
    created = {(entity, row_id) for entity, row_id, op, _ in new_ops if op == "create"}
    assert created == mine


async def test_a_new_company_creates_its_account(fixed_db):
    path, _ = fixed_db
    before = counts(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(pilot, form, name="Yusuf Neuhaus", company="Neuhaus Optik OHG")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
    after = counts(path)
    assert (after["contact"], after["account"]) == (before["contact"] + 1, before["account"] + 1)
    db = sqlite3.connect(path)
    try:
        entities = {
            e
            for (e,) in db.execute(
                "SELECT entity FROM journal ORDER BY rowid DESC LIMIT ?",
                (after["journal"] - before["journal"],),
            )
        }
    finally:
        db.close()
    assert entities == {"account", "contact"}


async def test_a_duplicate_shows_before_saving_and_blocks_a_one_key_save(fixed_db):
    path, ids = fixed_db
    before = counts(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(pilot, form, name="Anna Mueller", email=ANNA_EMAIL)
        # Checked as typed to the end: a check of the name alone (a pause in typing on a
        # loaded machine) lists her too, as a weak match.
        await until(pilot, lambda: form.checked, "the whole form is checked")
        top = form.duplicates[0]
        assert (top.id, top.strong) == (ids["Anna Müller"], True)
        assert "same email" in top.evidence and top.score >= 90
        dupes = form.query_one("#dupes", OptionList)
        assert dupes.display and "Anna Müller" in str(dupes.get_option_at_index(0).prompt)
        assert "Probably already here" in str(form.query_one("#dupes-title", Static).render())

        await pilot.press("enter")  # one key: asks, does not save
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDuplicate)
        assert counts(path) == before
        await pilot.press("enter")  # the focused answer is "Go back"
        await settle(pilot)
        assert app.screen is form
        assert counts(path) == before
        assert "Not saved" in status(form)

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDuplicate)
        await pilot.press("y")  # the deliberate second confirmation
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
    after = counts(path)
    assert after["contact"] == before["contact"] + 1
    assert after["account"] == before["account"]


async def test_the_duplicate_is_checked_again_on_save_even_before_the_list_shows(fixed_db):
    path, _ = fixed_db
    before = counts(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(pilot, form, name="A. Müller", phone="+49 30 22334455")
        await pilot.press("enter")  # no pause: the debounced check has not answered yet
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDuplicate)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is form and form.duplicates
    assert counts(path) == before


async def test_enter_on_a_listed_duplicate_opens_it_instead(fixed_db):
    path, ids = fixed_db
    before = counts(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(pilot, form, name="Carla Rossi")
        await until(pilot, lambda: form.checked, "the name is checked")
        assert not form.duplicates[0].strong  # a name alone: shown, but no confirmation
        await pilot.press("ctrl+o")
        assert form.query_one("#dupes", OptionList).has_focus
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == ids["Carla Rossi"]
    assert counts(path) == before


async def test_escape_writes_nothing(fixed_db):
    path, _ = fixed_db
    before = counts(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(pilot, form, name="Nobody Saved", company="Ghost Corp", email="x@ghost.example")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
    assert counts(path) == before


async def test_a_validation_problem_names_the_field_and_writes_nothing(fixed_db):
    path, _ = fixed_db
    before = counts(path)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await fill(pilot, form, email="foo@", country="Germany")
        await until(pilot, lambda: shown_problem(form, "email") is not None, "email problem")
        assert shown_problem(form, "name") is None  # not typed in yet: not shouted at
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form
        assert shown_problem(form, "name") == "must not be empty"
        assert "is not a valid address" in (shown_problem(form, "email") or "")
        assert "longer than 2" in (shown_problem(form, "country") or "")
        assert shown_problem(form, "phone") is None
        assert status(form) == "Not saved: check Name, Email, Country."
        assert form.query_one("#f-name", Input).has_focus  # the first field to fix
    assert counts(path) == before


async def test_the_palette_opens_the_form(fixed_db):
    path, _ = fixed_db
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"new contact")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NewContactScreen)


def test_the_form_shows_the_services_own_messages(store) -> None:
    """contact_problems reports, per field, exactly what create_contact raises."""
    for field, value in (
        ("email", "foo@"),
        ("phone", "12"),
        ("country", "Germany"),
        ("name", "  "),
        ("tags", ["two words"]),
    ):
        data = ContactCreate.model_validate({"name": "Zoe Newfield", field: value})
        problems = contact_problems(data, region="DE")
        with pytest.raises(InvalidInput) as raised, store.write() as tx:
            create_contact(tx=tx, data=data, region="DE")
        assert list(problems) == [field]
        assert problems[field] == raised.value.message
    assert contact_problems(ContactCreate(name="Zoe", company="Acme"), region="DE") == {}


def test_nothing_is_written_when_a_check_fails(db_path) -> None:
    """The service refuses before writing: no account either (company resolved last)."""
    store = open_store(db_path)
    try:
        with pytest.raises(InvalidInput), store.write() as tx:
            create_contact(
                tx=tx, data=ContactCreate(name="Zoe", company="New Co", email="x@"), region="DE"
            )
    finally:
        store.close()
    assert counts(db_path) == {"contact": 0, "account": 0, "journal": 0}
