"""Account price lists reach only the laptops that see the account's territory
(docs/sync.md "Scope"), their prices with them, and follow the account when it moves."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.services.sales.catalogue import (
    ProductData,
    add_price_list,
    save_product,
    set_price,
    set_tax_class,
)
from crmtui.store.database import Store
from tests.sync_support import Team


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def _held(store: Store) -> tuple[set[str], int]:
    with store.read() as s:
        con = s.connection()
        names = {
            r[0]
            for r in con.exec_driver_sql("SELECT name FROM price_list WHERE deleted_at IS NULL")
        }
        prices = con.exec_driver_sql("SELECT count(*) FROM price WHERE deleted_at IS NULL").scalar()
    return names, int(prices or 0)


def test_account_lists_reach_only_their_territory(team: Team) -> None:
    root, root_token = team.laptop("root", "admin")
    c_root = team.sync_client(root, root_token)
    c_root.sync()  # the territories
    with root.write() as tx:
        set_tax_class(tx=tx, code="standard", rate_bp=1_900)
        widget, _ = save_product(tx=tx, data=ProductData("WID-1", "Widget"))
        south = create_account(
            tx=tx, data=AccountCreate(name="Southco", territory_id=team.south), region="DE"
        )
        general = add_price_list(tx=tx, name="Std", currency="EUR", valid_from=None, valid_to=None)
        special = add_price_list(
            tx=tx, name="Southco deal", currency="EUR", valid_from=None, valid_to=None,
            account_id=south.id,
        )  # fmt: skip
        set_price(
            tx=tx, price_list=general, product=widget, min_quantity_milli=0, unit_price_minor=100
        )
        set_price(
            tx=tx, price_list=special, product=widget, min_quantity_milli=0, unit_price_minor=80
        )
        set_price(
            tx=tx,
            price_list=special,
            product=widget,
            min_quantity_milli=10_000,
            unit_price_minor=70,
        )
    c_root.sync()
    ann, ann_token = team.laptop("ann", "ann")  # North
    sue, sue_token = team.laptop("sue", "sue")  # South
    boss, boss_token = team.laptop("max", "max")  # manager of Region
    c_ann, c_sue = team.sync_client(ann, ann_token), team.sync_client(sue, sue_token)
    c_ann.sync()
    c_sue.sync()
    team.sync_client(boss, boss_token).sync()
    assert _held(ann) == ({"Std"}, 1)
    assert _held(sue) == ({"Std", "Southco deal"}, 3)
    assert _held(boss) == ({"Std", "Southco deal"}, 3)
    # The admin moves the account North: its list and prices move with it.
    from crmtui.services.address_book.accounts import AccountUpdate, update_account

    with root.write() as tx:
        update_account(
            tx=tx, account_id=south.id, data=AccountUpdate(territory_id=team.north), region="DE"
        )
    c_root.sync()
    c_ann.sync()
    c_sue.sync()
    assert _held(ann) == ({"Std", "Southco deal"}, 3)
    assert _held(sue) == ({"Std"}, 1)


def test_quote_lines_reach_every_laptop_that_sees_the_deal(team: Team) -> None:
    from crmtui.services.sales.deal_lines import LineInput, add_line
    from crmtui.services.sales.deals import DealCreate, create_deal
    from crmtui.services.sales.quotes import QuoteInput, new_quote

    ann, ann_token = team.laptop("ann", "ann")
    bob, bob_token = team.laptop("bob", "bob")  # North too
    sue, sue_token = team.laptop("sue", "sue")  # South
    c_ann = team.sync_client(ann, ann_token)
    c_ann.sync()
    with ann.write() as tx:
        deal = create_deal(tx=tx, data=DealCreate(name="Big", territory_id=team.north))
        add_line(
            tx=tx, data=LineInput(deal.id, None, 2_000, "Setup", 5_000), today=date(2025, 5, 1)
        )
        quote = new_quote(tx=tx, data=QuoteInput(deal.id), today=date(2025, 5, 1))
    c_ann.sync()
    team.sync_client(bob, bob_token).sync()
    team.sync_client(sue, sue_token).sync()

    def lines(store: Store) -> int:
        with store.read() as s:
            return int(
                s.connection()
                .exec_driver_sql("SELECT count(*) FROM quote_line WHERE quote_id = ?", (quote.id,))
                .scalar()
                or 0
            )

    # Before s0012 a quote line was unplaced: only its maker and managers got it.
    assert (lines(bob), lines(sue)) == (1, 0)


def test_s0012_places_prices_stored_before_it(team: Team) -> None:
    from alembic import command
    from sqlalchemy import text

    from crmtui.server.db import _alembic_config, upgrade_server

    root, root_token = team.laptop("root", "admin")
    client = team.sync_client(root, root_token)
    client.sync()
    with root.write() as tx:
        set_tax_class(tx=tx, code="standard", rate_bp=1_900)
        widget, _ = save_product(tx=tx, data=ProductData("WID-1", "Widget"))
        south = create_account(
            tx=tx, data=AccountCreate(name="Southco", territory_id=team.south), region="DE"
        )
        special = add_price_list(
            tx=tx, name="Southco deal", currency="EUR", valid_from=None, valid_to=None,
            account_id=south.id,
        )  # fmt: skip
        price, _ = set_price(
            tx=tx, price_list=special, product=widget, min_quantity_milli=0, unit_price_minor=80
        )
    client.sync()
    engine = team.engine
    config = _alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "s0008_feeds")
        # As a server before s0012 stored it: the price unplaced.
        conn.execute(
            text("UPDATE srv_row SET territory_id = NULL WHERE entity = 'price' AND row_id = :i"),
            {"i": price.id},
        )
    upgrade_server(engine)
    with engine.connect() as conn:
        placed = conn.execute(
            text("SELECT territory_id FROM srv_row WHERE entity = 'price' AND row_id = :i"),
            {"i": price.id},
        ).scalar()
    assert placed == team.south
