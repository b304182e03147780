"""Deal lines: priced from the list, the deal amount equals its lines (a property), an
override is shown, and two laptops editing lines offline converge on the same amount."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.lines import LineValues, line_net
from crmtui.services.sales.catalogue import (
    ProductData,
    add_price_list,
    save_product,
    set_price,
    set_tax_class,
)
from crmtui.services.sales.deal_lines import LineInput, add_line, remove_line, use_lines_sum
from crmtui.services.sales.deals import DealCreate, DealUpdate, create_deal, update_deal
from crmtui.store.database import Store, open_store
from crmtui.store.journal import WriteTx
from crmtui.store.models import Deal, DealLine
from tests.budget import examples
from tests.sync_support import Team

runner = CliRunner()
TODAY = date(2025, 5, 1)


def crm(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def _catalogue(tx: WriteTx) -> None:
    set_tax_class(tx=tx, code="standard", rate_bp=1_900)
    widget, _ = save_product(tx=tx, data=ProductData("WID-1", "Widget"))
    lst = add_price_list(
        tx=tx, name="Std", currency="EUR", valid_from=date(2025, 1, 1), valid_to=None
    )
    set_price(tx=tx, price_list=lst, product=widget, min_quantity_milli=0, unit_price_minor=10_000)
    set_price(
        tx=tx, price_list=lst, product=widget, min_quantity_milli=10_000, unit_price_minor=9_000
    )


def _deal(tx: WriteTx) -> str:
    return create_deal(tx=tx, data=DealCreate(name="Big order", expected_close=date(2025, 6, 1))).id


def _live_sum(store: Store, deal_id: str) -> tuple[int | None, int, bool]:
    with store.read() as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None
        lines = s.exec(
            select(DealLine).where(DealLine.deal_id == deal_id, DealLine.deleted_at.is_(None))  # type: ignore[union-attr]
        ).all()
        total = sum(
            line_net(LineValues(x.quantity_milli, x.unit_price_minor, x.discount_bp)) for x in lines
        )
        return deal.amount_minor, total, deal.amount_override


def test_lines_priced_from_the_list_and_the_override_is_shown(db_path: Path) -> None:
    store = open_store(db_path)
    with store.write() as tx:
        _catalogue(tx)
        deal_id = _deal(tx)
    store.close()
    code, _, err = crm(
        db_path, "deal", "line", "add", deal_id, "WID-1", "-q", "12", "--discount", "5"
    )
    assert code == 0, err
    assert "from 10 on" in err  # the 10-unit break: 12 x 90.00 less 5% = 1,026.00
    code, _out, err = crm(
        db_path, "deal", "line", "add", deal_id, "--description", "Setup", "--price", "99.99"
    )
    assert code == 0, err
    data = json.loads(crm(db_path, "deal", "line", "list", deal_id, "--format", "json")[1])
    assert data["amount_minor"] == data["net_minor"] == 102_600 + 9_999
    assert data["taxes"][1]["tax_minor"] == 19_494  # 1,026.00 x 19% (Setup has no tax class)
    assert crm(db_path, "deal", "edit", deal_id, "--amount", "1,000 EUR")[0] == 0
    code, _, err = crm(db_path, "deal", "line", "list", deal_id)
    assert "override" in err and "1,000.00 EUR" in err
    code, _, err = crm(db_path, "deal", "edit", deal_id, "--amount", "1,000 USD")
    assert code == 2 and "priced in EUR" in err
    shown = crm(db_path, "deal", "show", deal_id)[1]
    assert "1,000.00 EUR (typed over its 2 line(s)" in shown
    data = json.loads(crm(db_path, "deal", "line", "list", deal_id, "--format", "json")[1])
    assert data["amount_override"] and data["amount_minor"] == 100_000
    assert crm(db_path, "deal", "line", "use-sum", deal_id)[0] == 0
    data = json.loads(crm(db_path, "deal", "line", "list", deal_id, "--format", "json")[1])
    assert not data["amount_override"] and data["amount_minor"] == 112_599
    setup = data["lines"][1]["id"]
    assert crm(db_path, "deal", "line", "rm", setup)[0] == 0
    data = json.loads(crm(db_path, "deal", "line", "list", deal_id, "--format", "json")[1])
    assert data["amount_minor"] == 102_600
    code, _, err = crm(db_path, "deal", "line", "add", deal_id, "NOPE")
    assert code == 1, err


LINE = st.tuples(
    st.integers(1, 50_000),  # quantity in thousandths
    st.integers(0, 10**7),  # unit price in cents
    st.integers(0, 10_000),  # discount in basis points
)
STEP = st.one_of(
    st.tuples(st.just("add"), LINE),
    st.tuples(st.just("rm"), st.integers(0, 20)),
    st.tuples(st.just("override"), st.integers(0, 10**9)),
    st.tuples(st.just("use-sum"), st.none()),
)


@pytest.fixture(scope="module")
def lines_store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path_factory.mktemp("lines") / "crm.db")
    yield store
    store.close()


@settings(max_examples=examples(100), deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_the_deal_amount_always_equals_its_lines(lines_store: Store, steps: list) -> None:  # type: ignore[type-arg]
    store = lines_store  # a new deal per example: one database for every example
    with store.write() as tx:
        deal_id = _deal(tx)
    has_lines = False
    for kind, arg in steps:
        with store.write() as tx:
            if kind == "add":
                qty, price, discount = arg
                add_line(
                    tx=tx, data=LineInput(deal_id, None, qty, "x", price, discount), today=TODAY
                )
                has_lines = True
            elif kind == "rm":
                query = select(DealLine).where(
                    DealLine.deal_id == deal_id,
                    DealLine.deleted_at.is_(None),  # type: ignore[union-attr]
                )
                live = [x.id for x in tx.session.exec(query)]
                if live:
                    remove_line(tx=tx, line_ref=live[arg % len(live)])
            elif kind == "override":
                update_deal(tx=tx, deal_id=deal_id, data=DealUpdate(amount_minor=arg))
            elif has_lines:
                use_lines_sum(tx=tx, deal_ref=deal_id)
        amount, total, override = _live_sum(store, deal_id)
        if has_lines and not override:
            assert amount == total
        if kind == "override":
            # A typed amount over lines is an override; on a deal without lines it is the amount.
            assert override == has_lines and amount == arg


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def test_two_laptops_editing_lines_offline_agree_on_the_amount(team: Team) -> None:
    admin, admin_token = team.laptop("root", "admin")
    with admin.write() as tx:
        _catalogue(tx)
    team.sync_client(admin, admin_token).sync()
    a, ta = team.laptop("ann", "a")
    b, tb = team.laptop("ann", "b")
    ca, cb = team.sync_client(a, ta), team.sync_client(b, tb)
    ca.sync()
    with a.write() as tx:
        deal_id = create_deal(
            tx=tx,
            data=DealCreate(
                name="Shared", expected_close=date(2025, 6, 1), territory_id=team.north
            ),
        ).id
        first = add_line(tx=tx, data=LineInput(deal_id, "WID-1", 2_000), today=TODAY)[0].id
    ca.sync()
    cb.sync()
    # Offline: A adds 12 widgets (the 10 break) and removes the first line; B adds a
    # typed line and 1 widget.
    with a.write() as tx:
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 12_000), today=TODAY)
        remove_line(tx=tx, line_ref=first)
    with b.write() as tx:
        add_line(tx=tx, data=LineInput(deal_id, None, 1_000, "Setup", 5_050), today=TODAY)
        add_line(tx=tx, data=LineInput(deal_id, "WID-1", 1_000), today=TODAY)
    for _ in range(2):
        ca.sync()
        cb.sync()
    # 12 x 90.00 + 50.50 + 1 x 100.00 = 1,230.50 on both, with no conflict on the amount.
    for store in (a, b):
        amount, total, override = _live_sum(store, deal_id)
        assert (amount, total, override) == (123_050, 123_050, False)
    with a.read() as s:
        assert s.connection().exec_driver_sql("SELECT count(*) FROM sync_conflict").scalar() == 0


def test_cross_sell_lists_accounts_that_bought_a_but_not_b(db_path: Path) -> None:
    from crmtui.services.address_book.accounts import AccountCreate, create_account
    from crmtui.services.sales.deals import win_deal

    store = open_store(db_path)
    with store.write() as tx:
        _catalogue(tx)
        save_product(tx=tx, data=ProductData("SVC", "Service", tax_class="standard"))
        for name, skus, won in (("Acme", ["WID-1"], True), ("Beta", ["WID-1", "SVC"], True),
                                ("Gamma", ["WID-1"], False), ("Delta", ["SVC"], True)):  # fmt: skip
            account = create_account(tx=tx, data=AccountCreate(name=name), region="DE")
            deal = create_deal(tx=tx, data=DealCreate(name=name, account_id=account.id))
            for sku in skus:
                add_line(
                    tx=tx, data=LineInput(deal.id, sku, 1_000, unit_price_minor=100), today=TODAY
                )
            if won:
                win_deal(tx=tx, deal_id=deal.id)
    store.close()
    code, out, err = crm(
        db_path, "product", "cross-sell", "WID-1", "--not", "SVC", "--format", "json"
    )
    assert code == 0, err
    # Beta bought both, Gamma's deal is not won, Delta never bought a widget.
    assert [r["account"] for r in json.loads(out)] == ["Acme"]
    assert crm(db_path, "product", "cross-sell", "WID-1", "--not", "NOPE")[0] == 1
