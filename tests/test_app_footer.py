"""The screens' footer: keys follow the bindings, clicks press keys, the palette key stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.screens.sections.contacts import ContactsScreen
from crmtui.widgets.footer import FooterItem, SteadyFooter, footer_items
from tests.app_support import build_fixed_db, settle

SIZE = (120, 40)


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed twelve-contact database, built once for this module."""
    path = tmp_path_factory.mktemp("footer") / "fixed.db"
    build_fixed_db(path)
    return path


def footer(pilot: Pilot[None]) -> SteadyFooter:
    """The current screen's footer."""
    return pilot.app.screen.query_one(SteadyFooter)


def labels(pilot: Pilot[None]) -> list[str]:
    """The descriptions the current screen's footer shows, left to right."""
    return [item.label for item in footer(pilot).items]


def footer_line(pilot: Pilot[None]) -> str:
    """The footer's text as drawn."""
    return footer(pilot).render_line(0).text


async def test_footer_shows_a_key_once_its_binding_applies(fixed_db):
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
        before = labels(pilot)
        assert "New" in before
        assert "Back" not in before  # nothing to clear in an empty box
        await pilot.press("s", "m", "i")
        await settle(pilot)
        assert "Back" in labels(pilot)
        assert " esc Back " in footer_line(pilot)
        await pilot.press("escape")  # clears the box
        await settle(pilot)
        assert labels(pilot) == before


async def test_switching_back_to_a_section_keeps_its_footer(fixed_db):
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = footer(pilot).items
        assert before
        await pilot.press("f2")
        await settle(pilot)
        assert app.current_mode == "agenda"
        assert {"Contacts", "Agenda"} <= set(labels(pilot))
        await pilot.press("f1")
        await settle(pilot)
        assert app.current_mode == "contacts"
        # The very list built before: the bindings did not change while away.
        assert footer(pilot).items is before


async def test_clicking_a_footer_key_presses_it(fixed_db):
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = footer_line(pilot)
        x = line.index(" f2 Agenda") + 2
        await pilot.click(SteadyFooter, offset=(x, 0))
        await settle(pilot)
        assert app.current_mode == "agenda"


class _Keys(App[None]):
    """An app with a binding group, a disabled key and too many keys for its width."""

    group = Binding.Group("Pair", compact=True)
    BINDINGS = [
        Binding("left_square_bracket", "step(-1)", "Previous", key_display="[", group=group),
        Binding("right_square_bracket", "step(1)", "Next", key_display="]", group=group),
        Binding("a", "pressed('a')", "Alpha", tooltip="Alpha's tip"),
        Binding("b", "pressed('b')", "Bravo (never allowed)"),
        *[Binding(f"f{n}", f"pressed('f{n}')", f"Filler number {n}") for n in range(1, 9)],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pressed_keys: list[str] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        """A line of text and the footer."""
        yield Static("body")
        yield SteadyFooter()

    def action_pressed(self, key: str) -> None:
        """Note the key."""
        self.pressed_keys.append(key)

    def action_step(self, step: int) -> None:
        """Note a step."""
        self.pressed_keys.append(f"step {step}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Bravo is shown, dimmed, and never allowed."""
        return None if parameters == ("b",) else True

    def bell(self) -> None:
        """Count the bell instead of ringing it."""
        self.bells += 1


async def test_groups_disabled_keys_and_the_palette_key_at_the_right_end():
    app = _Keys()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        bar = app.query_one(SteadyFooter)
        line = bar.render_line(0).text
        assert len(line) == 80
        # Too many keys for the width: one blank between keys, then cut.
        assert line.startswith(" [] Pair a Alpha b Bravo (never allowed) f1 Filler number 1 ")
        # Cut short before the palette key, which keeps the right end.
        assert line.endswith("▏^p palette ")
        bravo = line.index(" b Bravo")
        await pilot.click(SteadyFooter, offset=(bravo + 1, 0))
        await pilot.click(SteadyFooter, offset=(line.index(" a Alpha") + 1, 0))
        await pilot.click(SteadyFooter, offset=(2, 0))  # "]" of the group
        await pilot.pause()
        assert app.pressed_keys == ["a", "step 1"]
        assert app.bells == 1  # the disabled key rang the bell instead
        await pilot.hover(SteadyFooter, offset=(line.index(" a Alpha") + 1, 0))
        assert bar.tooltip == "Alpha's tip"
        await pilot.click(SteadyFooter, offset=(79 - 3, 0))  # on "palette"
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)


def test_footer_items_take_one_binding_per_action_and_group_runs():
    group = Binding.Group("Move", compact=True)
    up = Binding("up", "move(-1)", "Up", group=group)
    down = Binding("down", "move(1)", "Down", group=group)
    also_down = Binding("j", "move(1)", "Down")
    save = Binding("ctrl+s", "save", "Save", tooltip="Write it")
    items = footer_items(
        [
            (up, "↑", True, ""),
            (down, "↓", True, ""),
            (also_down, "j", True, ""),
            (save, "^s", False, "Write it"),
        ]
    )
    assert [i.label for i in items] == ["Move", "Save"]
    assert [k.display for k in items[0].keys] == ["↑", "↓"]
    assert items[0].keys[0].tooltip == "Up"  # a grouped key's tooltip is its description
    assert items[1] == FooterItem(items[1].keys, "Save", None)
    assert not items[1].keys[0].enabled


@pytest.mark.parametrize("size", [(120, 40)])
async def test_every_section_key_fits_the_footer_at_120_columns(fixed_db, size):
    from crmtui.app import SECTIONS
    from crmtui.screens.cards.contact_card import ContactCardScreen

    app = make_app(db_path=fixed_db)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        line = footer_line(pilot)
        for section in SECTIONS:
            assert f"{section.key} {section.title} " in line, (section.title, line)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        line = footer_line(pilot)
        for section in SECTIONS:
            assert f"{section.key} {section.title} " in line, (section.title, line)


def whole_keys(pilot: Pilot[None]) -> set[str]:
    """The keys the footer draws whole (each one clickable), at the current width."""
    bar = footer(pilot)
    bar.render_line(0)
    return {hit.key for hit in bar._hits if hit.end - hit.start >= len(hit.key)}


async def test_every_section_key_stays_in_the_footer_at_80_columns(fixed_db):
    """Issue #16: at 80x24 the footer lost F5-F7; the section keys now stay, bare, on the right."""
    from crmtui.app import SECTIONS
    from crmtui.screens.cards.contact_card import ContactCardScreen

    app = make_app(db_path=fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        wanted = {s.key for s in SECTIONS}
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            assert app.current_mode == section.mode
            assert wanted <= whole_keys(pilot), (section.mode, footer_line(pilot))
            # The screen's own first key still leads the line.
            first = footer(pilot).items[0]
            assert footer_line(pilot).lstrip().startswith(first.keys[0].display), section.mode
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert wanted <= whole_keys(pilot), footer_line(pilot)
        # A click on a bare section key switches, as a labelled one does.
        line = footer_line(pilot)
        await pilot.click(SteadyFooter, offset=(line.index(" f2 ") + 1, 0))
        await settle(pilot)
        assert app.current_mode == "agenda"
