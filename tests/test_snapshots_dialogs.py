"""Every dialog at 80x24 (issue #16): it fits inside the screen, and SVG snapshots at both sizes.

The dialogs a card or a section opens (quick log, new contact, contact and account edit,
reminder, new deal, new lead, lead convert, the agenda's snooze prompt, the F7 merge
review, recent actions, `?` help, the palette). The fit test walks them all in one app at
80x24; the snapshots cover those no other module draws at both sizes. Deterministic: the
cards database, the app's clock fixed at `DAILY_NOW`. Update with
`pytest tests/test_snapshots_dialogs.py --snapshot-update` and look at them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from crmtui.app import SECTIONS, make_app
from crmtui.screens.daily_context import DailyContext
from crmtui.screens.dialogs.help import HelpScreen
from crmtui.screens.sections.duplicates import ConfirmMerge
from crmtui.screens.sections.leads import LeadsScreen
from crmtui.services.follow_ups.ticklers import snooze_tickler
from crmtui.services.sales.deals import win_deal
from tests.app_support import build_fixed_db, settle
from tests.card_support import SMALL, build_cards_db
from tests.daily_pilot import SIZE, fixed_clock
from tests.test_app_duplicates import add_duplicates

pytestmark = pytest.mark.usefixtures("stable_rendering")
SIZES = pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])

Opener = Callable[[Pilot[Any], dict[str, str]], Awaitable[None]]


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The cards database with two recorded changes (for the recent actions list).

    Nothing here saves a dialog, so the database stays as built.
    """
    path = tmp_path_factory.mktemp("snap-dialogs") / "cards.db"
    ids = build_cards_db(path)
    daily = DailyContext(path, clock=fixed_clock)
    try:
        daily.write_undoable(
            "Smith order won", lambda tx: win_deal(tx=tx, deal_id=ids["smith_deal"])
        )
        tickler = daily.write(
            lambda tx: tx.db.execute(
                "SELECT id FROM tickler WHERE deleted_at IS NULL AND done_at IS NULL LIMIT 1"
            ).fetchone()[0]
        )
        daily.write_undoable(
            "Snooze: Send the offer",
            lambda tx: snooze_tickler(
                tx=tx, tickler_id=tickler, until=fixed_clock() + timedelta(days=2)
            ),
        )
    finally:
        daily.close()
    return path, ids


@pytest.fixture(scope="module")
def dupes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database with its known duplicate pairs."""
    path = tmp_path_factory.mktemp("snap-dialog-dupes") / "dupes.db"
    build_fixed_db(path)
    add_duplicates(path)
    return path


async def _on_contact(pilot: Pilot[Any], ids: dict[str, str], key: str) -> None:
    pilot.app.open_contact(ids["Carla Rossi"])  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press(key)


async def quick_log(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _on_contact(pilot, ids, "l")


async def new_contact(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await pilot.press("f1")
    await settle(pilot)
    await pilot.press("ctrl+n")


async def contact_edit(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _on_contact(pilot, ids, "e")


async def reminder(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _on_contact(pilot, ids, "t")


async def new_deal(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _on_contact(pilot, ids, "n")


async def deal_edit(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_deal(ids["smith_deal"])  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("e")


async def account_edit(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.open_account(ids["kranich"])  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("e")


async def _leads(pilot: Pilot[Any]) -> LeadsScreen:
    await pilot.press("f8")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LeadsScreen) and screen.inbox is not None
    return screen


async def new_lead(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await _leads(pilot)
    await pilot.press("n")


async def lead_convert(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    screen = await _leads(pilot)
    assert screen.inbox is not None
    index = [lead.name for lead in screen.inbox.rows].index("Anna Lead")
    screen.query_one(DataTable).move_cursor(row=index)
    await settle(pilot)
    await pilot.press("c")


async def snooze_prompt(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("s")


async def recent_actions(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    pilot.app.action_recent_actions()  # type: ignore[attr-defined]


async def help_keys(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("question_mark")


async def palette(pilot: Pilot[Any], ids: dict[str, str]) -> None:
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("ctrl+p")


DIALOGS: dict[str, Opener] = {
    "quick log": quick_log,
    "new contact": new_contact,
    "contact edit": contact_edit,
    "reminder": reminder,
    "new deal": new_deal,
    "deal edit": deal_edit,
    "account edit": account_edit,
    "new lead": new_lead,
    "lead convert": lead_convert,
    "snooze prompt": snooze_prompt,
    "recent actions": recent_actions,
    "help": help_keys,
    "palette": palette,
}


def outside(screen: Any, size: tuple[int, int]) -> list[str]:
    """Widgets of a dialog drawn outside a terminal of `size`: none when it fits.

    What a scrolling part holds below its fold is meant to be scrolled to, so it is
    checked across (nothing cut at the right edge), not down.
    """
    width, height = size
    out = []
    for node in screen.query("*"):
        region = node.region
        if not region.width or not region.height or not node.display:
            continue
        scrolled = any(
            getattr(a, "allow_vertical_scroll", False) for a in node.ancestors if a is not screen
        )
        across = region.x < 0 or region.right > width
        down = not scrolled and (region.y < 0 or region.bottom > height)
        if across or down:
            out.append(f"{node!r} at {region}")
    return out


async def back_to_start(pilot: Pilot[Any]) -> None:
    """Close dialogs and cards until a section is showing."""
    app = pilot.app
    while len(app.screen_stack) > 1:
        app.pop_screen()
        await settle(pilot)


async def test_every_dialog_fits_at_80x24(cards, dupes):
    path, ids = cards
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for name, opener in DIALOGS.items():
            await opener(pilot, ids)
            await settle(pilot)
            assert isinstance(app.screen, ModalScreen), (name, app.screen)
            assert outside(app.screen, SMALL) == [], name
            await back_to_start(pilot)
    app = make_app(db_path=dupes)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmMerge)
        assert outside(app.screen, SMALL) == []
        # The review names who stays and who goes, whole, at 80 columns.
        summary = str(app.screen.query_one("#merge-summary", Static).render())
        assert "Stays:" in summary and "Deleted:" in summary


async def test_the_help_lists_every_section_key_at_80x24(cards):
    path, _ids = cards
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            await pilot.press("question_mark")
            await settle(pilot)
            helped = app.screen
            assert isinstance(helped, HelpScreen), section.mode
            listed = {(r.keys, r.description) for r in [*helped.screen_rows, *helped.global_rows]}
            for other in SECTIONS:
                assert (other.key.upper(), other.title) in listed, (section.mode, other.title)
            await pilot.press("escape")
            await settle(pilot)


def shoot(snap_compare: Any, path: Path, ids: dict[str, str], size: Any, opener: Opener) -> bool:
    """Run the app, open the dialog, and compare the screen."""
    app = make_app(db_path=path, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await opener(pilot, ids)
        await settle(pilot)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


MISSING = ["new contact", "new deal", "account edit", "new lead", "snooze prompt"]
MISSING += ["recent actions", "help", "palette"]


@SIZES
@pytest.mark.parametrize("dialog", MISSING)
def test_dialog(snap_compare, cards, dialog, size):
    """The dialog over the screen that opened it."""
    path, ids = cards
    assert shoot(snap_compare, path, ids, size, DIALOGS[dialog])


def test_quick_log_at_80x24(snap_compare, cards):
    """The quick log from a card, prefilled with its contact (120x40: test_snapshots_daily)."""
    path, ids = cards
    assert shoot(snap_compare, path, ids, SMALL, quick_log)


@SIZES
def test_merge_review(snap_compare, dupes, size):
    """F7, m: who stays, who goes, what moves, which fields come from B."""
    app = make_app(db_path=dupes, show_timings=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
