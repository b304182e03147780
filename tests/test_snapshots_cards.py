"""SVG snapshots at 80x24 and 120x40: the account card, the Leads section and the card dialogs.

Deterministic: the cards database (`tests/card_support.build_cards_db`), the app's
clock fixed at `DAILY_NOW`, times in UTC. Update with
`pytest tests/test_snapshots_cards.py --snapshot-update` and look at them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from crmtui.app import make_app
from crmtui.screens.sections.leads import LeadsScreen
from tests.app_support import settle
from tests.card_support import SMALL, build_cards_db
from tests.daily_pilot import SIZE, fixed_clock

pytestmark = pytest.mark.usefixtures("stable_rendering")
SIZES = pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The cards database; snapshots never write to it."""
    path = tmp_path_factory.mktemp("snap-cards") / "cards.db"
    return path, build_cards_db(path)


@pytest.fixture(scope="module")
def scored_cards(
    cards: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A copy of the cards database with scoring rules: a trade-fair lead scores highest."""
    from crmtui.services.sales.score_rules import publish_rules
    from crmtui.store.database import open_store
    from tests.app_support import copy_db

    path = copy_db(cards[0], tmp_path_factory.mktemp("snap-scored") / "cards.db")
    store = open_store(path)
    try:
        with store.write() as tx:
            publish_rules(tx=tx, text=SCORING, source="scoring.toml")
    finally:
        store.close()
    return path, cards[1]


SCORING = """\
[[rule]]
when = "source"
is = "fair"
points = 20
[[rule]]
when = "source"
is = "web"
points = 5
[[rule]]
when = "company"
present = true
points = 2.5
"""

Steps = Callable[[Pilot[Any], dict[str, str]], Awaitable[None]]


def shoot(snap_compare: Any, cards: tuple[Path, dict[str, str]], size: Any, steps: Steps) -> bool:
    """Run the app on the cards database, take `steps`, and compare the screen."""
    path, ids = cards
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await steps(pilot, ids)
        await settle(pilot)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


async def _account(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_account(ids["kranich"])  # type: ignore[attr-defined]
    await settle(pilot)


async def _leads(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await pilot.press("f8")
    await settle(pilot)


async def _convert(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _leads(pilot, ids)
    screen = pilot.app.screen
    assert isinstance(screen, LeadsScreen) and screen.inbox is not None
    index = [lead.name for lead in screen.inbox.rows].index("Anna Lead")
    screen.query_one(DataTable).move_cursor(row=index)
    await settle(pilot)
    await pilot.press("c")


async def _deal_edit(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_deal(ids["smith_deal"])  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("e")


async def _reminder(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_contact(ids["Carla Rossi"])  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)
    await pilot.press(*"Send the signed order", "tab", "ctrl+u", *"fri 14:00", "tab", *"monthly")


async def _activity_pick(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_contact(ids["Carla Rossi"])  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("v")


@SIZES
def test_account_card(snap_compare, cards, size):
    """Kranich (Berlin): details, two contacts, the visit; no deals or reminders yet."""
    assert shoot(snap_compare, cards, size, _account)


@SIZES
def test_leads_inbox(snap_compare, cards, size):
    """F8: the open leads, the status counts, the keys."""
    assert shoot(snap_compare, cards, size, _leads)


async def _leads_by_score(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _leads(pilot, ids)
    await pilot.press("s")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LeadsScreen) and screen.inbox is not None
    assert [(r.name, r.score) for r in screen.inbox.rows][:2] == [
        ("Anna Lead", 22.5),
        ("Nina Fresh", 7.5),
    ]


@SIZES
def test_leads_inbox_by_score(snap_compare, scored_cards, size):
    """F8 after `s`: the Score column, highest first, "by score" on the status line."""
    assert shoot(snap_compare, scored_cards, size, _leads_by_score)


@SIZES
def test_convert_dialog_offers_the_match(snap_compare, cards, size):
    """Converting Anna Lead: Anna Müller (same email) and the Kranich account are offered."""
    assert shoot(snap_compare, cards, size, _convert)


@SIZES
def test_deal_edit_dialog(snap_compare, cards, size):
    """The deal form over the deal card, with the amount read back."""
    assert shoot(snap_compare, cards, size, _deal_edit)


@SIZES
def test_reminder_dialog_with_previews(snap_compare, cards, size):
    """A new reminder: the due moment and the repeat rule read back under their fields."""
    assert shoot(snap_compare, cards, size, _reminder)


@SIZES
def test_activity_picker(snap_compare, cards, size):
    """`v` on a card with two activities: choose which to edit."""
    assert shoot(snap_compare, cards, size, _activity_pick)
