"""The section screens' footer: keys follow the bindings, unchanged keys are not rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from crmtui.app import make_app
from crmtui.screens.contacts import ContactsScreen
from crmtui.widgets.footer import SteadyFooter
from tests.app_support import build_fixed_db, settle

SIZE = (120, 40)


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed twelve-contact database, built once for this module."""
    path = tmp_path_factory.mktemp("footer") / "fixed.db"
    build_fixed_db(path)
    return path


def footer_keys(pilot: Pilot[None]) -> list[FooterKey]:
    """The key widgets in the current screen's footer."""
    return list(pilot.app.screen.query_one(SteadyFooter).query(FooterKey))


async def test_footer_shows_a_key_once_its_binding_applies(fixed_db):
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
        before = [k.description for k in footer_keys(pilot)]
        assert "New" in before
        assert "Back" not in before  # nothing to clear in an empty box
        await pilot.press("s", "m", "i")
        await settle(pilot)
        assert "Back" in [k.description for k in footer_keys(pilot)]
        await pilot.press("escape")  # clears the box
        await settle(pilot)
        assert [k.description for k in footer_keys(pilot)] == before


async def test_switching_back_to_a_section_keeps_its_footer_keys(fixed_db):
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = footer_keys(pilot)
        assert before
        await pilot.press("f2")
        await settle(pilot)
        assert app.current_mode == "agenda"
        assert {k.description for k in footer_keys(pilot)} >= {"Contacts", "Agenda"}
        await pilot.press("f1")
        await settle(pilot)
        assert app.current_mode == "contacts"
        # The same widgets, not rebuilt: the bindings did not change while away.
        after = footer_keys(pilot)
        assert [id(k) for k in after] == [id(k) for k in before]
        assert [k.description for k in after] == [k.description for k in before]
