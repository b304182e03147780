"""The `?` screen through Pilot: the keys of the screen you are on and the global ones."""

from __future__ import annotations

import pytest
from textual.containers import Vertical
from textual.widgets import Input

from crmtui.app import SECTIONS, make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.help import HelpScreen
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import fixed_clock


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("help") / "daily.db"
    build_daily_db(path)
    return path


def listed(rows) -> dict[str, str]:
    """{description: keys} of the help's rows."""
    return {r.description: r.keys for r in rows}


async def open_help(pilot) -> HelpScreen:
    """Press ? and wait for the help."""
    below = pilot.app.screen
    await pilot.press("question_mark")
    await settle(pilot)
    help_screen = pilot.app.screen
    assert isinstance(help_screen, HelpScreen), (type(help_screen), type(below))
    box = help_screen.query_one(Vertical).region
    width, height = pilot.app.size
    assert box.x >= 0 and box.y >= 0 and box.right <= width and box.bottom <= height, box
    return help_screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_question_mark_lists_the_keys_of_every_section(daily_template, tmp_path, size):
    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    # A key each section's own list must show (what it does, and which key).
    own = {
        "agenda": "Done",
        "pipeline": "Won",
        "territories": "Period",
        "calls": "Call back",
        "duplicates": None,
        "sync": None,
        "contacts": None,
        "leads": "New",
    }
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            below = app.screen
            help_screen = await open_help(pilot)
            everywhere = listed(help_screen.global_rows)
            for s in SECTIONS:  # every section's key is reachable from here
                assert everywhere.get(s.title) == s.key.upper(), (s.title, everywhere)
            assert "Log" in everywhere
            mine = listed(help_screen.screen_rows)
            if own[section.mode] is not None:
                assert own[section.mode] in mine, (section.mode, mine)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is below


async def test_help_on_a_card_and_question_mark_in_a_search_with_text(daily_template, tmp_path):
    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        help_screen = await open_help(pilot)
        assert "Back" in listed(help_screen.screen_rows)
        await pilot.press("question_mark")  # ? again closes it too
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)

        await pilot.press("f1")
        await settle(pilot)
        box = app.screen.query_one(Input)
        box.focus()
        await pilot.press("question_mark")  # an empty search box: help
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press(*"who", "question_mark")  # text in the box: "?" is a letter
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)
        assert box.value == "who?"
