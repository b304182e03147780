"""The palette holds every key of the screen and every global key, each with its key; so does `?`.

The expected list is read from the classes' BINDINGS (not from what the palette is
built from), less the keys that cannot act where the cursor is: a key the focused
text field types, or one the screen switches off (`check_action` False).
"""

from __future__ import annotations

import re
from functools import partial

import pytest
from textual.actions import parse as parse_action
from textual.binding import Binding
from textual.dom import DOMNode

from crmtui.app import SECTIONS, CrmApp, make_app
from crmtui.screens.dialogs.help import HELP_ACTIONS, HelpScreen
from tests import card_support
from tests.app_support import build_daily_db, copy_db, settle
from tests.daily_pilot import fixed_clock

cards_template = card_support.cards_template


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("palette") / "daily.db"
    build_daily_db(path)
    return path


def expected(app: CrmApp) -> dict[str, Binding]:
    """{description: binding} of every described key of the screen and the app that can act."""
    screen = app.screen
    focused = screen.focused
    wanted: dict[str, Binding] = {}
    owners: list[DOMNode] = [screen, app]
    for node in owners:
        # Every binding the class declares, its bases' included (one entry per key).
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                if not binding.description or binding.action in HELP_ACTIONS:
                    continue
                if binding.action == "command_palette":
                    continue  # the palette's own key: not listed in itself
                typed = focused is not None and focused.check_consume_key(key, None)
                _, name, params = parse_action(binding.action)
                if not typed and node.check_action(name, params) is not False:
                    wanted[binding.description] = binding
    return wanted


async def test_every_key_of_every_section_is_in_the_palette_and_in_help(daily_template, tmp_path):
    # One size: which keys act comes from the bindings and `check_action`, neither of
    # which reads the terminal's size; 80x24 is the size where a layout could hide one.
    # (That `?` fits on screen is tests/test_app_help.py's, at both sizes.)
    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            if app.screen.focused is not None:
                app.screen.set_focus(None)  # where `l` and `?` are keys, not letters
                await settle(pilot)
            wanted = expected(app)
            assert len(wanted) >= 8, (section.mode, wanted)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for description, binding in wanted.items():
                key = (binding.key_display or app.get_key_display(binding)).lower()
                # "Pipeline (F3)", or a command's own words with the key: "Edit Anna (e)".
                shown = [t for t in titles if key in {k.lower() for k in _keys_offered(t, "")}]
                assert shown, (section.mode, description, key, titles)
            await pilot.press("question_mark")
            await settle(pilot)
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen), section.mode
            listed = {r.description for r in help_screen.screen_rows + help_screen.global_rows}
            assert set(wanted) <= listed, (section.mode, set(wanted) - listed)
            await pilot.press("escape")
            await settle(pilot)


async def test_a_key_command_from_the_palette_runs_its_action(daily_template, tmp_path):
    from crmtui.screens.dialogs.recent_actions import RecentActionsScreen

    path = copy_db(daily_template, tmp_path / "crm.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        command = next(
            c for c in app.get_system_commands(app.screen) if c.title.startswith("Go to Pipeline (")
        )
        assert "F3" in command.title
        await command.callback()
        await settle(pilot)
        assert app.current_mode == "pipeline"
        assert not isinstance(app.screen, RecentActionsScreen)


def _keys_offered(title: str, help: str) -> set[str]:
    """The keys a palette entry names: "(e)" after its title, else after its words."""
    for text in (title, help):
        found = re.search(r"\(([^()]+)\)$", text)
        if found:
            return {k.strip().replace("ctrl+", "^") for k in found[1].split(" / ")}
    return set()


async def test_no_action_is_listed_twice_in_the_palette(cards_template, tmp_path):
    # Before: a card listed "Edit Anna Müller … (e)" and "Edit (e)", F-keys as "Go to
    # Pipeline (F3)" and "Pipeline (F3)": one action, two entries. Now each key's
    # action is one entry, the one that names its key.
    template, ids = cards_template
    path = copy_db(template, tmp_path / "cards.db")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        places = [
            ("contact card", lambda: app.open_contact(ids["Anna Müller"])),
            ("account card", lambda: app.open_account(ids["kranich"])),
            ("deal card", lambda: app.open_deal(ids["smith_deal"])),
            ("lead card", lambda: app.open_lead(ids["Nina Fresh"])),
        ]
        places += [(s.mode, partial(app.action_switch_section, s.mode)) for s in SECTIONS]
        for place, go in places:
            go()
            await settle(pilot)
            commands = list(app.get_system_commands(app.screen))
            seen: dict[str, str] = {}
            for command in commands:
                for key in _keys_offered(command.title, command.help):
                    assert key not in seen, (place, key, seen[key], command.title)
                    seen[key] = command.title
            titles = [c.title for c in commands]
            assert len(titles) == len(set(titles)), place
            assert not any(t.startswith("palette") for t in titles), place
            assert len(seen) >= 8, (place, seen)
