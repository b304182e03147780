"""Pilot tests: deals (add, edit, reopen), reminders (add, edit) and activity edits from the cards.

Every write is checked in the database, then undone with ctrl+z and checked again.
The app's clock is fixed at Monday 9 March 2026, 08:30 UTC.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.dialogs.pick import PickScreen
from crmtui.screens.dialogs.record_form import RecordForm
from crmtui.screens.sections.pipeline import PipelineScreen
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


async def opened(pilot: Pilot[Any], opener: str, row_id: str, kind: type[Any]) -> Any:
    """A card opened through the app's jump (`open_deal`, `open_contact`), loaded."""
    await settle(pilot)
    getattr(pilot.app, opener)(row_id)
    await settle(pilot)
    card = pilot.app.screen
    assert isinstance(card, kind) and card.card is not None
    return card


async def open_deal(pilot: Pilot[Any], deal_id: str) -> DealCardScreen:
    """The deal's card, loaded."""
    return await opened(pilot, "open_deal", deal_id, DealCardScreen)


async def open_contact(pilot: Pilot[Any], contact_id: str) -> ContactCardScreen:
    """The contact's card, loaded."""
    return await opened(pilot, "open_contact", contact_id, ContactCardScreen)


def saved_notices(app: Any) -> list[str]:
    """The "Changed: …" notices the app showed."""
    return [str(n.message) for n in app._notifications if str(n.message).startswith("Changed: ")]


def reading(form: RecordForm, name: str) -> str:
    """The line under a field: its preview or its problem."""
    return str(form.query_one(f"#r-{name}", Static).render())


async def test_edit_deal_amount_close_probability_and_stage_then_undo(cards_db):
    path, ids = cards_db
    deal_id = ids["smith_deal"]
    before = dict(one(path, "SELECT * FROM deal WHERE id = ?", deal_id))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal(pilot, deal_id)
        form = await form_after(pilot, "e")
        await fill(
            pilot,
            form,
            {
                "amount": "55,000",
                "close": "2026-05-15",
                "probability": "70",
                "stage": "Negotiation",
            },
        )
        assert reading(form, "amount") == "→ £55,000.00" or "55,000.00" in reading(form, "amount")
        await save(pilot)
        assert isinstance(app.screen, DealCardScreen)
        after = one(
            path,
            "SELECT d.*, s.name AS stage FROM deal d JOIN stage s ON s.id = d.stage_id WHERE d.id = ?",
            deal_id,
        )
        assert (after["amount_minor"], after["currency"]) == (5_500_000, "GBP")
        assert (after["expected_close"], after["probability"], after["stage"]) == (
            "2026-05-15",
            70,
            "Negotiation",
        )
        # The form's labels, not the stored columns (amount_minor, expected_close).
        assert saved_notices(app) == ["Changed: Amount, Closes, Probability, Stage · ctrl+z undoes"]
        history = rows(
            path,
            "SELECT * FROM deal_stage_change WHERE deal_id = ? AND deleted_at IS NULL",
            deal_id,
        )
        await pilot.press("ctrl+z")
        await settle(pilot)
        undone = dict(one(path, "SELECT * FROM deal WHERE id = ?", deal_id))
        for key in ("amount_minor", "expected_close", "probability", "stage_id", "currency"):
            assert undone[key] == before[key], key
        # The stage change the edit recorded is gone from the history too.
        after_undo = rows(
            path,
            "SELECT * FROM deal_stage_change WHERE deal_id = ? AND deleted_at IS NULL",
            deal_id,
        )
        assert len(after_undo) == len(history) - 1


async def test_reopen_a_won_deal_from_its_card_then_undo(cards_db):
    path, ids = cards_db
    deal_id = ids["northwind_deal"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        card = await open_deal(pilot, deal_id)
        assert card.card is not None and card.card.deal.status == "won"
        await pilot.press("o")
        await settle(pilot)
        row = one(path, "SELECT status, closed_at FROM deal WHERE id = ?", deal_id)
        assert (row["status"], row["closed_at"]) == ("open", None)
        assert card.card is not None and card.card.deal.status == "open"
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert one(path, "SELECT status FROM deal WHERE id = ?", deal_id)["status"] == "won"


async def test_add_a_repeating_reminder_on_a_deal_with_its_preview_then_undo(cards_db):
    path, ids = cards_db
    deal_id = ids["smith_deal"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal(pilot, deal_id)
        form = await form_after(pilot, "t")
        await fill(pilot, form, {"text": "Chase the PO", "due": "tue 10am", "repeat": "weekly"})
        assert reading(form, "due") == "→ Tue 10 Mar 2026 10:00"
        assert reading(form, "repeat") == "→ FREQ=WEEKLY"
        await save(pilot)
        made = one(path, "SELECT * FROM tickler WHERE text = 'Chase the PO'")
        assert made["deal_id"] == deal_id and made["recurrence"] == "FREQ=WEEKLY"
        assert made["due_at"].startswith("2026-03-10T10:00")
        await pilot.press("ctrl+z")
        await settle(pilot)
        gone = one(path, "SELECT deleted_at FROM tickler WHERE id = ?", made["id"])
        assert gone["deleted_at"] is not None


async def test_a_due_that_cannot_be_read_is_said_under_it_and_nothing_is_written(cards_db):
    path, ids = cards_db
    count = len(rows(path, "SELECT id FROM tickler"))
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_contact(pilot, ids["Carla Rossi"])
        form = await form_after(pilot, "t")
        await fill(pilot, form, {"text": "Call", "due": "whenever"})
        # Named by the field's label while typed too, not "When:" then "Due:" after a save.
        assert reading(form, "due").startswith("Due: ") and "whenever" in reading(form, "due")
        await save(pilot)
        assert app.screen is form and "Due" in reading(form, "due")
    assert len(rows(path, "SELECT id FROM tickler")) == count


async def test_edit_the_only_reminder_of_a_contact_then_undo(cards_db):
    path, ids = cards_db
    smith = ids["John Smith"]
    before = one(path, "SELECT * FROM tickler WHERE contact_id = ? AND status = 'open'", smith)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_contact(pilot, smith)
        form = await form_after(pilot, "T")  # one reminder: no list first
        await fill(
            pilot,
            form,
            {"text": "Send the final quote", "due": "2026-03-12 15:00", "repeat": "weekly"},
        )
        await save(pilot)
        # The form's labels, each once (a repeat rule is two columns), not due_at, series_id.
        assert saved_notices(app) == ["Changed: What, Due, Repeat · ctrl+z undoes"]
        row = one(path, "SELECT * FROM tickler WHERE id = ?", before["id"])
        assert row["text"] == "Send the final quote" and row["due_at"].startswith(
            "2026-03-12T15:00"
        )
        await pilot.press("ctrl+z")
        await settle(pilot)
        row = one(path, "SELECT * FROM tickler WHERE id = ?", before["id"])
        assert (row["text"], row["due_at"]) == (before["text"], before["due_at"])


async def test_the_reminder_edit_names_every_bad_field_at_once(cards_db):
    # Before: only the first ("Due") was named; an empty What came up on the next try.
    path, ids = cards_db
    smith = ids["John Smith"]
    before = one(path, "SELECT * FROM tickler WHERE contact_id = ? AND status = 'open'", smith)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_contact(pilot, smith)
        form = await form_after(pilot, "T")
        await fill(pilot, form, {"text": "", "due": "whenever", "repeat": "now and then"})
        await save(pilot)
        assert app.screen is form
        assert reading(form, "text") == "What: required"
        assert reading(form, "due").startswith("Due: ") and "whenever" in reading(form, "due")
        assert reading(form, "repeat").startswith("Repeat: ")
        status = str(form.query_one("#form-status", Static).render())
        assert status == "Not saved: check What, Due, Repeat.", status
        assert form.focused is not None and form.focused.id == "f-text"
        # Two put right, one still bad: only that one is named now.
        await fill(pilot, form, {"text": "Send the quote", "repeat": ""})
        await save(pilot)
        assert reading(form, "text") == "" and "whenever" in reading(form, "due")
        status = str(form.query_one("#form-status", Static).render())
        assert status == "Not saved: check Due.", status
    row = one(path, "SELECT * FROM tickler WHERE id = ?", before["id"])
    assert (row["text"], row["due_at"], row["recurrence"]) == (
        before["text"],
        before["due_at"],
        before["recurrence"],
    )


async def test_edit_an_activity_chosen_from_the_list_then_undo(cards_db):
    path, ids = cards_db
    carla = ids["Carla Rossi"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_contact(pilot, carla)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)  # two activities: choose one
        assert fits(app.screen, SIZE) == []
        await pilot.press("down", "enter")  # the older one: the unanswered call
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RecordForm)
        await fill(pilot, form, {"outcome": "voicemail", "text": "Left a message"})
        await save(pilot)
        call = one(path, "SELECT * FROM activity WHERE contact_id = ? AND kind = 'call'", carla)
        assert (call["outcome"], call["text"]) == ("voicemail", "Left a message")
        assert saved_notices(app) == ["Changed: Outcome, Note · ctrl+z undoes"]
        await pilot.press("ctrl+z")
        await settle(pilot)
        call = one(path, "SELECT * FROM activity WHERE contact_id = ? AND kind = 'call'", carla)
        assert (call["outcome"], call["text"]) == ("no-answer", None)


async def test_an_unknown_outcome_is_refused(cards_db):
    path, ids = cards_db
    carla = ids["Carla Rossi"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_contact(pilot, carla)
        await pilot.press("v")
        await settle(pilot)
        form = await form_after(pilot, "enter")
        await fill(pilot, form, {"outcome": "great"})
        await save(pilot)
        assert app.screen is form and "great" in reading(form, "outcome")
    kinds = {
        r["outcome"] for r in rows(path, "SELECT outcome FROM activity WHERE contact_id = ?", carla)
    }
    assert kinds == {"no-answer", "sent"}


async def test_new_deal_from_the_contact_card_is_with_the_contact_at_its_account(cards_db):
    path, ids = cards_db
    emma = ids["Emma Johnson"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_contact(pilot, emma)
        form = await form_after(pilot, "n")
        await fill(
            pilot, form, {"name": "Northwind renewal", "amount": "9,900", "close": "2026-06-30"}
        )
        await save(pilot)
        assert isinstance(app.screen, DealCardScreen)
        deal = one(path, "SELECT * FROM deal WHERE name = 'Northwind renewal'")
        account = one(path, "SELECT account_id FROM contact WHERE id = ?", emma)[0]
        assert (deal["contact_id"], deal["account_id"]) == (emma, account)
        assert (deal["amount_minor"], deal["expected_close"], deal["status"]) == (
            990_000,
            "2026-06-30",
            "open",
        )
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert one(path, "SELECT deleted_at FROM deal WHERE id = ?", deal["id"])[0] is not None


async def test_new_deal_from_the_board_takes_an_account_by_name_and_refuses_a_namesake(cards_db):
    path, _ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, PipelineScreen)
        form = await form_after(pilot, "n")
        await fill(pilot, form, {"name": "Depot racks", "account": "Kranich Logistik GmbH"})
        await save(pilot)
        assert app.screen is form
        assert "Hamburg" in reading(form, "account") and "Berlin" in reading(form, "account")
        assert rows(path, "SELECT id FROM deal WHERE name = 'Depot racks'") == []
        await fill(pilot, form, {"account": "fiordaliso spa"})
        await save(pilot)
        assert isinstance(app.screen, PipelineScreen)
        deal = one(
            path,
            "SELECT a.name FROM deal d JOIN account a ON a.id = d.account_id WHERE d.name = 'Depot racks'",
        )
        assert deal[0] == "Fiordaliso SpA"


async def test_the_card_dialogs_fit_at_80x24(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_deal(pilot, ids["smith_deal"])
        for key in ("e", "t"):
            form = await form_after(pilot, key)
            assert fits(form, SMALL) == [], key
            await pilot.press("escape")
            await settle(pilot)
        await open_contact(pilot, ids["Carla Rossi"])
        await pilot.press("v")
        await settle(pilot)
        assert fits(app.screen, SMALL) == []
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordForm) and fits(app.screen, SMALL) == []


async def test_an_unknown_stage_is_said_under_it_and_nothing_is_written(cards_db):
    path, ids = cards_db
    deal_id = ids["smith_deal"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal(pilot, deal_id)
        form = await form_after(pilot, "e")
        await fill(pilot, form, {"amount": "1", "stage": "Closed"})
        await save(pilot)
        assert app.screen is form
        assert "no stage 'Closed'" in reading(form, "stage")
    # One transaction: the amount was not saved without the stage.
    assert one(path, "SELECT amount_minor FROM deal WHERE id = ?", deal_id)[0] == 4_800_000


async def test_a_deal_changed_since_its_card_was_read_is_not_overwritten(cards_db):
    """The stale-read guard: another write changed the amount while the form was open."""
    from crmtui.services.sales.deals import DealUpdate, update_deal
    from crmtui.store.database import open_store

    path, ids = cards_db
    deal_id = ids["smith_deal"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal(pilot, deal_id)
        form = await form_after(pilot, "e")
        # Another writer (a sync, the CLI) changes the amount and the name underneath.
        other = open_store(path)
        try:
            with other.write() as tx:
                update_deal(
                    tx=tx, deal_id=deal_id, data=DealUpdate(amount_minor=6_100_000, name="Renamed")
                )
        finally:
            other.close()
        await fill(pilot, form, {"amount": "55,000"})
        await save(pilot)
        assert app.screen is form
        problem = reading(form, "amount")
        assert problem.startswith("Amount: changed since this form was opened"), problem
        assert "61,000.00" in problem and "nothing was saved" in problem
        assert one(path, "SELECT amount_minor FROM deal WHERE id = ?", deal_id)[0] == 6_100_000
        # A field the form does not change may have changed: the save keeps its new value.
        await fill(pilot, form, {"amount": form.fields[1].value, "probability": "70"})
        await save(pilot)
        assert isinstance(app.screen, DealCardScreen)
    after = one(path, "SELECT name, amount_minor, probability FROM deal WHERE id = ?", deal_id)
    assert tuple(after) == ("Renamed", 6_100_000, 70)


async def test_an_older_deal_card_read_that_finishes_last_is_not_shown(cards_db, monkeypatch):
    """The contact card's read-order race on the deal card, forced (see HeldRead)."""
    import crmtui.screens.cards.deal_card as deal_screen
    from crmtui.services.sales.deals import DealUpdate, update_deal
    from crmtui.store.database import open_store
    from tests.card_support import HeldRead, until

    path, ids = cards_db
    deal_id = ids["smith_deal"]
    held = HeldRead(deal_screen.deal_card)
    monkeypatch.setattr(deal_screen, "deal_card", held)
    app = make_app(db_path=path, now=fixed_clock)

    def shown(card: DealCardScreen) -> str:
        return str(card.query_one("#deal-name", Static).render())

    async with app.run_test(size=SIZE) as pilot:
        card = await open_deal(pilot, deal_id)
        held.holding = True
        card.load_card()  # read A: the deal as it is now
        await held.wait(pilot, held.held)
        other = open_store(path)
        try:
            with other.write() as tx:
                update_deal(tx=tx, deal_id=deal_id, data=DealUpdate(name="Renamed deal"))
        finally:
            other.close()
        card.load_card()  # read B: after the rename
        await until(pilot, lambda: "Renamed deal" in shown(card))
        held.release.set()
        await held.wait(pilot, held.finished)
        await settle(pilot)
        assert "Renamed deal" in shown(card) and card.card is not None
        assert card.card.deal.name == "Renamed deal"
