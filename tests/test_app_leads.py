"""Pilot tests: the Leads section (F8): add, qualify, disqualify, convert without duplicating, undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.record_form import RecordForm
from crmtui.screens.sections.leads import LeadsScreen
from tests import card_support
from tests.app_support import settle
from tests.card_support import (
    SMALL,
    fill,
    fits,
    form_after,
    one,
    rows,
    save,
)
from tests.daily_pilot import SIZE, fixed_clock

# The shared fixtures (a private copy of the cards database for each test).
cards_template = card_support.cards_template
cards_db = card_support.cards_db


async def leads(pilot: Pilot[Any]) -> LeadsScreen:
    """F8, loaded."""
    await settle(pilot)
    await pilot.press("f8")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LeadsScreen) and screen.inbox is not None
    return screen


async def highlight(pilot: Pilot[Any], screen: LeadsScreen, name: str) -> None:
    """Put the cursor on the lead called `name`."""
    assert screen.inbox is not None
    index = [lead.name for lead in screen.inbox.rows].index(name)
    screen.query_one("#leads", DataTable).move_cursor(row=index)
    await settle(pilot)
    assert screen.current is not None and screen.current.name == name


def status(path: Path, lead_id: str) -> tuple[str, str | None]:
    """A lead's status and disqualification reason."""
    row = one(path, "SELECT status, disqualify_reason FROM lead WHERE id = ?", lead_id)
    return row["status"], row["disqualify_reason"]


async def test_the_inbox_lists_open_leads_and_f_filters_by_status(cards_db):
    path, _ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        assert {lead.name for lead in screen.inbox.rows} == {"Nina Fresh", "Anna Lead"}  # type: ignore[union-attr]
        line = str(screen.query_one("#leads-status", Static).render())
        assert "open 2" in line and "converted 0" in line
        await pilot.press("f")  # new
        await settle(pilot)
        assert screen.status == "new" and len(screen.inbox.rows) == 2  # type: ignore[union-attr]
        await pilot.press("f", "f")  # working, then qualified
        await settle(pilot)
        assert screen.status == "qualified" and screen.inbox.rows == []  # type: ignore[union-attr]


async def test_add_a_lead_then_undo(cards_db):
    path, _ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        form = await form_after(pilot, "n")
        await fill(
            pilot,
            form,
            {
                "name": "Olaf Neu",
                "company": "Neu GmbH",
                "email": "olaf@neu.example",
                "source": "web",
            },
        )
        await save(pilot)
        assert app.screen is screen
        lead = one(path, "SELECT * FROM lead WHERE name = 'Olaf Neu'")
        assert (lead["company"], lead["email"], lead["status"]) == (
            "Neu GmbH",
            "olaf@neu.example",
            "new",
        )
        assert "Olaf Neu" in [row.name for row in screen.inbox.rows]  # type: ignore[union-attr]
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert one(path, "SELECT deleted_at FROM lead WHERE id = ?", lead["id"])[0] is not None
        assert "Olaf Neu" not in [row.name for row in screen.inbox.rows]  # type: ignore[union-attr]


async def test_qualify_then_disqualify_with_a_reason_then_undo_both(cards_db):
    path, ids = cards_db
    nina = ids["Nina Fresh"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "Nina Fresh")
        await pilot.press("q")
        await settle(pilot)
        assert status(path, nina) == ("qualified", None)
        form = await form_after(pilot, "x")
        await save(pilot)  # no reason: refused
        assert app.screen is form and status(path, nina) == ("qualified", None)
        await fill(pilot, form, {"reason": "no budget"})
        await save(pilot)
        assert status(path, nina) == ("disqualified", "no budget")
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert status(path, nina) == ("qualified", None)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert status(path, nina) == ("new", None)


async def test_convert_offers_the_matching_contact_and_account_and_reuses_them(cards_db):
    path, ids = cards_db
    twin = ids["Anna Lead"]
    contacts = len(rows(path, "SELECT id FROM contact"))
    accounts = len(rows(path, "SELECT id FROM account"))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "Anna Lead")
        form = await form_after(pilot, "c")
        about = str(form.query_one("#form-about", Static).render())
        assert "Anna Müller (same email)" in about and "Kranich Logistik GmbH" in about
        await fill(pilot, form, {"amount": "7,500"})
        await save(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen) and card.contact_id == ids["Anna Müller"]
        # Nothing duplicated: the existing contact and account were reused.
        assert len(rows(path, "SELECT id FROM contact")) == contacts
        assert len(rows(path, "SELECT id FROM account")) == accounts
        lead = one(path, "SELECT * FROM lead WHERE id = ?", twin)
        assert lead["status"] == "converted" and lead["converted_contact_id"] == ids["Anna Müller"]
        deal = one(path, "SELECT * FROM deal WHERE id = ?", lead["converted_deal_id"])
        assert deal["contact_id"] == ids["Anna Müller"] and deal["amount_minor"] == 750_000
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert status(path, twin) == ("new", None)
        assert one(path, "SELECT deleted_at FROM deal WHERE id = ?", deal["id"])[0] is not None


async def test_convert_with_no_match_makes_the_contact_account_and_deal_and_opens_the_contact(
    cards_db,
):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "Nina Fresh")
        form = await form_after(pilot, "c")
        assert "Nothing matches" in str(form.query_one("#form-about", Static).render())
        await save(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen)
        contact = one(path, "SELECT * FROM contact WHERE id = ?", card.contact_id)
        assert contact["name"] == "Nina Fresh" and contact["email"] == "nina@fresh.example"
        account = one(path, "SELECT name FROM account WHERE id = ?", contact["account_id"])
        assert account[0] == "Fresh Foods AG"
        await pilot.press("escape")
        await settle(pilot)
        # Converted leads leave the open inbox; a second conversion is not offered.
        assert "Nina Fresh" not in [row.name for row in screen.inbox.rows]  # type: ignore[union-attr]
    assert status(path, ids["Nina Fresh"])[0] == "converted"


async def test_choosing_new_records_on_a_match_makes_new_ones(cards_db):
    path, ids = cards_db
    twin = ids["Anna Lead"]
    contacts = len(rows(path, "SELECT id FROM contact"))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "Anna Lead")
        form = await form_after(pilot, "c")
        await fill(pilot, form, {"existing": "maybe"})
        await save(pilot)
        assert app.screen is form and status(path, twin)[0] == "new"
        await fill(pilot, form, {"existing": "new"})
        await save(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id != ids["Anna Müller"]
    assert len(rows(path, "SELECT id FROM contact")) == contacts + 1


async def test_leads_and_its_dialogs_fit_at_80x24_and_f8_is_reachable(cards_db):
    path, _ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SMALL) as pilot:
        screen = await leads(pilot)
        assert fits(screen, SMALL) == []
        await highlight(pilot, screen, "Anna Lead")
        for key in ("n", "x", "c"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, RecordForm), key
            assert fits(app.screen, SMALL) == [], key
            await pilot.press("escape")
            await settle(pilot)
        assert app.screen is screen


async def test_convert_offers_the_contact_of_a_second_email_and_reuses_it(cards_db):
    """Identity over every item: the lead's address is Anna Müller's second email."""
    from crmtui.services.contact_items import add_email, clean_email
    from crmtui.services.sales.leads import LeadCreate, create_lead
    from crmtui.store.database import open_store
    from crmtui.store.models import Contact
    from crmtui.store.resolve import get_live

    path, ids = cards_db
    store = open_store(path)
    try:
        with store.write() as tx:
            anna = get_live(tx, Contact, ids["Anna Müller"])
            add_email(tx, anna, clean_email("home", "anna.m@privat.example"))
            lead = create_lead(
                tx=tx,
                data=LeadCreate(name="A. Mueller", email="anna.m@privat.example"),
                region="DE",
            ).id
    finally:
        store.close()
    contacts = len(rows(path, "SELECT id FROM contact"))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "A. Mueller")
        form = await form_after(pilot, "c")
        about = str(form.query_one("#form-about", Static).render())
        assert "Anna Müller (same email)" in about
        await save(pilot)
        card = app.screen
        assert isinstance(card, ContactCardScreen) and card.contact_id == ids["Anna Müller"]
    assert len(rows(path, "SELECT id FROM contact")) == contacts  # nobody made twice
    assert (
        one(path, "SELECT converted_contact_id FROM lead WHERE id = ?", lead)[0]
        == ids["Anna Müller"]
    )


async def test_o_logs_a_call_on_the_lead_and_its_outcome_moves_the_leads_plan(cards_db):
    from zoneinfo import ZoneInfo

    from crmtui.domain.business_days import WorkCalendar
    from crmtui.services.consent import CallCap
    from crmtui.services.follow_ups.plans import enrol_lead, publish_plan
    from crmtui.services.plan_progress import PlanClock, load_state
    from crmtui.store.database import open_store

    path, ids = cards_db
    nina = ids["Nina Fresh"]
    clock = PlanClock(tz=ZoneInfo("UTC"), calendar=WorkCalendar(), cap=CallCap(3, 30))
    store = open_store(path)
    try:
        with store.write() as tx:
            plan, _ = publish_plan(
                tx=tx,
                text='name = "Calls"\n[[step]]\nkind = "call"\nretries = 2\n'
                '[[step]]\nkind = "call"\nwait = 1\n',
                source="calls.toml",
            )
            eid = enrol_lead(tx=tx, plan_id=plan.id, lead_id=nina, clock=clock).id
    finally:
        store.close()

    def position() -> tuple[str, int | None, int]:
        s = open_store(path)
        try:
            with s.write() as tx:
                state = load_state(tx.db, eid)
        finally:
            s.close()
        assert state is not None
        return state.position.state, state.position.step_number, state.position.attempt

    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "Nina Fresh")
        form = await form_after(pilot, "o")
        await fill(pilot, form, {"outcome": "sunny"})
        await save(pilot)  # not an outcome: refused, the form stays
        assert app.screen is form
        await fill(pilot, form, {"outcome": "no-answer", "text": "rang out"})
        await save(pilot)
        assert position() == ("waiting", 1, 2)
        logged = one(
            path, "SELECT lead_id, contact_id, outcome, text FROM activity WHERE lead_id = ?", nina
        )
        assert (logged["contact_id"], logged["outcome"], logged["text"]) == (
            None,
            "no-answer",
            "rang out",
        )
        form = await form_after(pilot, "o")
        await fill(pilot, form, {"outcome": "connected"})
        await save(pilot)
        assert position() == ("waiting", 2, 1)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert position() == ("waiting", 1, 2)


async def test_enter_on_a_lead_opens_its_card_and_escape_comes_back(cards_db):
    from crmtui.screens.cards.lead_card import LeadCardScreen

    path, _ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await leads(pilot)
        await highlight(pilot, screen, "Nina Fresh")
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, LeadCardScreen) and card.lead_id == screen.current.id  # type: ignore[union-attr]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
