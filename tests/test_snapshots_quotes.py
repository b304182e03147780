"""SVG snapshots at 80x24 and 120x40: a deal card's lines with the discount approval, the
product picker with type-ahead, and the account card's products bought and suggested.

The cards database (`tests/card_support.build_cards_db`) plus a catalogue: Kranich
(Berlin) won a deal of 5 Pro licences and implementation hours; Kranich (Hamburg) won
Pro licences and premium support, so premium support is suggested to Berlin; the
Smith deal carries a line 20% off, above the 15% threshold. Update with
`pytest tests/test_snapshots_quotes.py --snapshot-update` and look at them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from tests.app_support import settle
from tests.card_support import SMALL, build_cards_db
from tests.daily_pilot import SIZE, fixed_clock

pytestmark = pytest.mark.usefixtures("stable_rendering")
SIZES = pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
DAY = date(2026, 1, 5)
WON_AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def add_catalogue(path: Path, ids: dict[str, str]) -> None:
    """Products, a list, the threshold, two won deals' lines and the Smith deal's lines."""
    from crmtui.services.sales.approvals import set_threshold
    from crmtui.services.sales.catalogue import (
        ProductData,
        add_price_list,
        save_product,
        set_price,
        set_tax_class,
    )
    from crmtui.services.sales.deal_lines import LineInput, add_line
    from crmtui.services.sales.deals import DealCreate, create_deal, win_deal
    from crmtui.store.database import open_store

    store = open_store(path)
    try:
        with store.write() as tx:
            set_tax_class(tx=tx, code="standard", rate_bp=1_900)
            lists = [
                add_price_list(tx=tx, name=f"List {code}", currency=code, valid_from=None,
                               valid_to=None)
                for code in ("EUR", "GBP")  # the Smith deal is in pounds
            ]  # fmt: skip
            for sku, name, unit, price in (
                ("CRM-PRO", "crmtui Pro licence, 1 year", "seat", 48_000),
                ("CRM-ENT", "crmtui Enterprise licence, 1 year", "seat", 90_000),
                ("IMP-HR", "Implementation", "hour", 12_000),
                ("SUP-PRE", "Premium support, 1 year", "unit", 150_000),
            ):
                product, _ = save_product(tx=tx, data=ProductData(sku, name, unit=unit))
                for price_list in lists:
                    set_price(tx=tx, price_list=price_list, product=product,
                              min_quantity_milli=0, unit_price_minor=price)  # fmt: skip
            set_threshold(tx=tx, threshold_bp=1_500)
            for account, skus in (
                (ids["kranich"], (("CRM-PRO", 5_000), ("IMP-HR", 12_000))),
                (ids["kranich_hh"], (("CRM-PRO", 3_000), ("SUP-PRE", 1_000))),
            ):
                deal = create_deal(tx=tx, data=DealCreate(name="Licences", account_id=account,
                                                          currency="EUR"))  # fmt: skip
                for sku, qty in skus:
                    add_line(tx=tx, data=LineInput(deal.id, sku, qty), today=DAY)
                win_deal(tx=tx, deal_id=deal.id)
                # Won "today" would change the card every day: a fixed day instead.
                tx.update(deal, {"closed_at": WON_AT})
            smith = ids["smith_deal"]
            add_line(tx=tx, data=LineInput(smith, "CRM-ENT", 10_000), today=DAY)
            add_line(tx=tx, data=LineInput(smith, "IMP-HR", 16_000, discount_bp=2_000), today=DAY)
    finally:
        store.close()


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The cards database with a catalogue; snapshots never write to it."""
    path = tmp_path_factory.mktemp("snap-quotes") / "cards.db"
    ids = build_cards_db(path)
    add_catalogue(path, ids)
    return path, ids


Steps = Callable[[Pilot[Any], dict[str, str]], Awaitable[None]]


def shoot(snap_compare: Any, cards: tuple[Path, dict[str, str]], size: Any, steps: Steps) -> bool:
    """Run the app on the database, take `steps`, and compare the screen."""
    path, ids = cards
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await steps(pilot, ids)
        await settle(pilot)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


async def _deal(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_deal(ids["smith_deal"])  # type: ignore[attr-defined]
    await settle(pilot)


async def _picker(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _deal(pilot, ids)
    await pilot.press("p")
    await settle(pilot)
    await pilot.press(*"crm", "down")


async def _account(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_account(ids["kranich"])  # type: ignore[attr-defined]
    await settle(pilot)


@SIZES
def test_deal_card_lines_and_approval(snap_compare, cards, size):
    """The Smith deal's two lines (one 20% off) and "needs approval" under them."""
    assert shoot(snap_compare, cards, size, _deal)


@SIZES
def test_product_picker(snap_compare, cards, size):
    """`p` on the deal card, "crm" typed: the two licences with prices, the second chosen."""
    assert shoot(snap_compare, cards, size, _picker)


@SIZES
def test_account_card_products(snap_compare, cards, size):
    """Kranich (Berlin): what it bought, and premium support that Kranich (Hamburg) bought."""
    assert shoot(snap_compare, cards, size, _account)
