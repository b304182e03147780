"""Pilot tests: adding a product line from the deal card (type-ahead, quantity, discount),
undoing it, refusals said in the picker; and the cross-sell reads behind the account card."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from typer.testing import CliRunner

from crmtui.app import make_app
from crmtui.cli import app as cli
from crmtui.reports.cross_sell import bought_by, similar_bought
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.dialogs.product_pick import ProductPickScreen
from tests.app_support import copy_db, settle
from tests.card_support import build_cards_db
from tests.daily_pilot import SIZE, fixed_clock
from tests.test_snapshots_quotes import add_catalogue


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("products") / "cards.db"
    ids = build_cards_db(path)
    add_catalogue(path, ids)
    return path, ids


@pytest.fixture
def db(template: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path, ids = template
    return copy_db(path, tmp_path / "cards.db"), ids


async def open_deal_card(pilot: Pilot[Any], deal_id: str) -> None:
    """Open the deal's card and wait until it has read the deal (its keys wait for that)."""
    for _ in range(200):
        if pilot.app.db is not None:  # type: ignore[attr-defined]
            break  # the app opens its database after the first screen
        await settle(pilot)
    pilot.app.open_deal(deal_id)  # type: ignore[attr-defined]
    for _ in range(200):
        await settle(pilot)
        screen = pilot.app.screen
        if isinstance(screen, DealCardScreen) and screen.card is not None:
            return
    raise AssertionError(f"the deal card did not load: {pilot.app.screen!r}")


def _lines(path: Path, deal_id: str) -> list[tuple[str, int, int]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(
            "SELECT p.sku, l.quantity_milli, l.discount_bp FROM deal_line l"
            " JOIN product p ON p.id = l.product_id"
            " WHERE l.deal_id = ? AND l.deleted_at IS NULL ORDER BY l.position",
            (deal_id,),
        ).fetchall()
    finally:
        con.close()


async def test_type_ahead_adds_a_line_and_ctrl_z_takes_it_back(db) -> None:
    path, ids = db
    deal = ids["smith_deal"]
    before = _lines(path, deal)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal_card(pilot, deal)
        await pilot.press("p")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProductPickScreen)
        await pilot.press(*"supp")
        await settle(pilot)
        assert [h.sku for h in screen.hits] == ["SUP-PRE"]
        await pilot.press("tab", "ctrl+u", *"2.5")
        await settle(pilot)
        await pilot.press("tab", "ctrl+u", *"10")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen)
        assert _lines(path, deal) == [*before, ("SUP-PRE", 2_500, 1_000)]
        await pilot.press("ctrl+z")
        await settle(pilot)
    assert _lines(path, deal) == before


async def test_bad_quantity_and_no_match_are_said_in_the_picker(db) -> None:
    path, ids = db
    deal = ids["smith_deal"]
    before = _lines(path, deal)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_deal_card(pilot, deal)
        await pilot.press("p")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProductPickScreen)
        await pilot.press(*"zzz")
        await settle(pilot)
        status = screen.query_one("#product-status", Static)
        assert screen.hits == [] and "No active product matches 'zzz'" in str(status.render())
        await pilot.press("enter")
        await settle(pilot)
        assert "Choose a product first" in str(status.render())
        await pilot.press(*["backspace"] * 3, *"pro", "tab", "ctrl+u", *"-1", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ProductPickScreen)
        assert screen.query_one("#product-status", Static).has_class("-error")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen)
    assert _lines(path, deal) == before


def test_bought_and_similar_accounts_hand_computed(template) -> None:
    path, ids = template
    con = sqlite3.connect(path)
    try:
        # Berlin won 5 Pro seats and 12 hours; Hamburg won 3 Pro seats and support.
        bought = {r.sku: (r.quantity_milli, r.deals) for r in bought_by(con, ids["kranich"])}
        assert bought == {"CRM-PRO": (5_000, 1), "IMP-HR": (12_000, 1)}
        # Hamburg shares Pro with Berlin: its support is suggested, nothing Berlin has.
        berlin = similar_bought(con, ids["kranich"])
        assert [(s.sku, s.accounts, s.of) for s in berlin] == [("SUP-PRE", 1, 1)]
        hamburg = similar_bought(con, ids["kranich_hh"])
        assert [(s.sku, s.accounts, s.of) for s in hamburg] == [("IMP-HR", 1, 1)]
        # The Smith deal is open: its lines are not "bought".
        smith_account = con.execute(
            "SELECT account_id FROM deal WHERE id = ?", (ids["smith_deal"],)
        ).fetchone()[0]
        assert smith_account is None or bought_by(con, smith_account) == []
    finally:
        con.close()


def test_cli_bought_and_suggest(template) -> None:
    path, ids = template
    runner = CliRunner()

    def crm(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, [*args, "--db", str(path)])
        return result.exit_code, result.stdout, result.stderr

    code, out, err = crm("product", "bought", ids["kranich"], "--format", "json")
    assert code == 0, err
    assert [(r["sku"], r["quantity"]) for r in json.loads(out)] == [
        ("CRM-PRO", 5_000),
        ("IMP-HR", 12_000),
    ]
    code, out, err = crm("product", "suggest", ids["kranich_hh"], "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[0] == "sku,name,accounts,of_similar,id"
    assert out.splitlines()[1].startswith("IMP-HR,Implementation,1,1,")
    # Two accounts share the name: the name alone is ambiguous, exit 1.
    code, _, err = crm("product", "suggest", "Kranich Logistik GmbH")
    assert code == 1 and "matches several" in err
    assert crm("product", "bought", "nobody")[0] == 1
