"""Pilot tests: the account card, opened from the palette, the search and a contact card; edit and undo.

Each test drives the keys a user would and reads the database afterwards.
"""

from __future__ import annotations

from typing import Any

from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import OptionList

from crmtui.app import make_app
from crmtui.screens.cards.account_card import AccountCardScreen
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.dialogs.pick import PickScreen
from crmtui.screens.dialogs.record_form import RecordForm
from tests import card_support
from tests.app_support import settle
from tests.card_support import (
    SMALL,
    fill,
    fits,
    form_after,
    one,
    save,
)
from tests.daily_pilot import SIZE, fixed_clock

# The shared fixtures (a private copy of the cards database for each test).
cards_template = card_support.cards_template
cards_db = card_support.cards_db


async def palette_hits(pilot: Pilot[Any], query: str) -> list[str]:
    """Open the palette, type `query`, and return the hits' text (label and help)."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    texts: list[str] = []
    for _ in range(100):
        await pilot.pause(0.05)
        options = pilot.app.screen.query_one(OptionList)
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        if sum("Account:" in t for t in texts) >= 2:
            break
    return texts


async def test_palette_tells_namesake_accounts_apart_and_opens_the_one_chosen(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        texts = await palette_hits(pilot, "Kranich Logistik")
        accounts = [t for t in texts if t.startswith("Account:")]
        assert len(accounts) == 2, texts
        # The two are told apart by city and domain.
        assert any("Hamburg" in t and "kranich-hh.example" in t for t in accounts), accounts
        assert any("Berlin" in t and "kranich.example" in t for t in accounts), accounts
        options = app.screen.query_one(OptionList)
        index = next(
            i
            for i in range(options.option_count)
            if "Hamburg" in str(options.get_option_at_index(i).prompt)
        )
        options.highlighted = index
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, AccountCardScreen), type(card)
        assert card.account_id == ids["kranich_hh"]
        assert card.card is not None and card.card.account["city"] == "Hamburg"


async def test_ctrl_o_in_the_search_opens_the_highlighted_contacts_account(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"Bernd Schulz")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, AccountCardScreen), type(card)
        assert card.account_id == ids["kranich"]
        names = [c["name"] for c in card.card.contacts]  # type: ignore[union-attr]
        assert names == ["Anna Müller", "Bernd Schulz"]
        assert [a["text"] for a in card.card.activities] == ["Toured the Berlin depot"]  # type: ignore[union-attr]


async def test_g_on_a_contact_card_then_c_opens_a_colleague_and_escape_comes_back(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_contact(ids["Anna Müller"])
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        account = app.screen
        assert isinstance(account, AccountCardScreen) and account.account_id == ids["kranich"]
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == ids["Bernd Schulz"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is account


async def test_d_opens_the_accounts_deal(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        account_id = one(path, "SELECT account_id FROM contact WHERE id = ?", ids["John Smith"])[0]
        app.open_account(account_id)
        await settle(pilot)
        # The fixed deal has no account; one is added here from the card (n), then opened (d).
        form = await form_after(pilot, "n")
        await fill(pilot, form, {"name": "Smith service contract", "amount": "2,000"})
        await save(pilot)
        assert isinstance(app.screen, DealCardScreen)  # the new deal opens
        deal = one(path, "SELECT * FROM deal WHERE name = 'Smith service contract'")
        assert deal["account_id"] == account_id and deal["amount_minor"] == 200_000
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen)
        assert app.screen.deal_id == deal["id"]


async def test_edit_account_name_domain_territory_and_owner_then_undo(cards_db):
    path, ids = cards_db
    kranich = ids["kranich"]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(kranich)
        await settle(pilot)
        form = await form_after(pilot, "e")
        await fill(
            pilot,
            form,
            {"domain": "kranich-logistik.example", "territory": "Nord", "owner": "Petra Lang"},
        )
        await save(pilot)
        assert isinstance(app.screen, AccountCardScreen)
        row = one(path, "SELECT * FROM account WHERE id = ?", kranich)
        assert row["domain"] == "kranich-logistik.example"
        assert (row["territory_id"], row["territory_pinned"]) == (ids["nord"], 1)
        assert row["owner_id"] == ids["rep"]
        # The contacts followed the account into its territory.
        moved = one(path, "SELECT territory_id FROM contact WHERE id = ?", ids["Anna Müller"])
        assert moved[0] == ids["nord"]
        await pilot.press("ctrl+z")
        await settle(pilot)
        row = one(path, "SELECT * FROM account WHERE id = ?", kranich)
        assert row["domain"] == "kranich.example"
        assert (row["territory_id"], row["territory_pinned"], row["owner_id"]) == (None, 0, None)
        moved = one(path, "SELECT territory_id FROM contact WHERE id = ?", ids["Anna Müller"])
        assert moved[0] is None


async def test_an_unknown_territory_is_named_under_its_field_and_nothing_is_written(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(ids["kranich"])
        await settle(pilot)
        form = await form_after(pilot, "e")
        await fill(pilot, form, {"name": "Kranich Renamed", "territory": "Atlantis"})
        await save(pilot)
        assert app.screen is form
        assert "Atlantis" in str(form.query_one("#r-territory").render())
        row = one(path, "SELECT name, territory_id FROM account WHERE id = ?", ids["kranich"])
        # One transaction: the name was not saved without the territory.
        assert (row["name"], row["territory_id"]) == ("Kranich Logistik GmbH", None)


async def test_account_card_and_its_edit_form_fit_at_80x24(cards_db):
    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.open_account(ids["kranich"])
        await settle(pilot)
        assert fits(app.screen, SMALL, "AccountCardScreen > *") == []
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, RecordForm)
        assert fits(app.screen, SMALL) == []


async def test_the_account_cards_keys_are_in_the_help_and_its_actions_in_the_palette(cards_db):
    from crmtui.screens.dialogs.help import HelpScreen

    path, ids = cards_db
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.open_account(ids["kranich"])
        await settle(pilot)
        card = app.screen
        assert isinstance(card, AccountCardScreen)
        titles = [title for title, _help, _callback in card.palette_commands()]
        assert "Edit Kranich Logistik GmbH" in titles and "Remind" in titles
        assert "Open a deal of Kranich Logistik GmbH" not in titles  # it has none
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        mine = {row.description: row.keys for row in app.screen.screen_rows}
        assert (mine["Contact"], mine["Remind"], mine["Edit activity"]) == ("c", "t", "v")
        assert "Deal" not in mine  # no deal to open
