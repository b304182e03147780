"""Every section survives being switched to and away before it has composed."""

from __future__ import annotations

import pytest

from crmtui.app import SECTIONS, make_app
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import SIZE, fixed_clock, reading


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sections") / "daily.db"
    build_daily_db(path)
    return path


async def test_switching_through_every_section_without_pausing(daily_template, tmp_path):
    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    keys = [s.key for s in SECTIONS]
    async with app.run_test(size=SIZE) as pilot:
        # No pause, not even for start-up: the footer asks each screen about its
        # bindings while its widgets do not exist yet.
        for key in keys[1:]:
            for _ in range(3):
                await pilot.press(key, keys[0])
        await pilot.press(*keys, *reversed(keys))
        await settle(pilot)
        assert app.current_mode == SECTIONS[0].mode
        assert app.return_code is None


async def test_section_keys_work_from_cards(daily_template, tmp_path):
    """From a card, the key of another section goes there and that of its own goes back
    to the section's first screen (the card is closed)."""
    from crmtui.screens.cards.contact_card import ContactCardScreen
    from crmtui.screens.cards.deal_card import DealCardScreen
    from crmtui.screens.sections.calls import CallListScreen
    from crmtui.screens.sections.contacts import ContactsScreen
    from crmtui.screens.sections.pipeline import PipelineScreen

    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, CallListScreen)
        await pilot.press("enter")  # the contact's full card, over the call list
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert app.current_mode == "contacts" and isinstance(app.screen, ContactsScreen)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, CallListScreen)  # the card was closed on the way
        await pilot.press("f3")
        await settle(pilot)
        board = app.screen
        assert isinstance(board, PipelineScreen)
        with reading(path) as db:
            deal_id = db.execute("SELECT id FROM deal ORDER BY id LIMIT 1").fetchone()[0]
        board.open_deal(deal_id)
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert app.current_mode == "pipeline" and app.screen is board
        board.open_deal(deal_id)
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert app.current_mode == "contacts" and isinstance(app.screen, ContactsScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, PipelineScreen)
