"""Pilot tests: `c` dials the selected contact with the configured command and times the call.

The dial command is a real program (this Python) that writes the word it was given to a
file, so what a softphone or `tel:` handler would receive is checked as it arrives.
The app's clock is fixed at Monday 9 March 2026, 08:30 UTC (tests/daily_pilot.py).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.dialogs.quick_log import QuickLogScreen
from crmtui.screens.sections.calls import CallListScreen
from tests.app_support import SMITH, build_daily_db, copy_db, settle
from tests.card_support import rows
from tests.daily_pilot import SIZE, fixed_clock

ANNA = "Anna Müller"
WRITER = "import sys; open(sys.argv[1], 'a', encoding='utf-8').write(sys.argv[2] + chr(10))\n"


def _config(dialled: Path | None) -> None:
    """The config: the rep, and (given a file) a dial command that writes what it dials there."""
    lines = ['rep_name = "Jeff King"']
    if dialled is not None:
        script = dialled.with_suffix(".py")
        script.write_text(WRITER, encoding="utf-8")
        command = shlex.join([sys.executable, str(script), str(dialled)]) + " {uri}"
        lines.append(f"dial_command = {json.dumps(command)}")
    Path(os.environ["CRMTUI_CONFIG"]).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("dial") / "daily.db"
    return path, build_daily_db(path)


@pytest.fixture
def daily(
    daily_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    path, ids = daily_template
    return copy_db(path, tmp_path / "daily.db"), ids


def _dialled(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _notices(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


BUILT: dict[str, set[str]] = {}


def _calls(path: Path, contact_id: str) -> list[tuple[Any, Any]]:
    """The contact's calls logged since `_mark` (the built database holds older ones)."""
    found = rows(
        path,
        "SELECT id, outcome, duration_s FROM activity WHERE contact_id = ? AND kind = 'call' "
        "AND deleted_at IS NULL ORDER BY created_at",
        contact_id,
    )
    before = BUILT.get(contact_id, set())
    return [(r["outcome"], r["duration_s"]) for r in found if r["id"] not in before]


def _mark(path: Path, contact_id: str) -> None:
    ids = rows(path, "SELECT id FROM activity WHERE contact_id = ?", contact_id)
    BUILT[contact_id] = {r["id"] for r in ids}


class _Clock:
    """The call timer's clock, moved by hand: a call's length never depends on how long
    the loaded machine took between two lines of a test (a real clock went on ticking)."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def _held_clock(app: Any) -> _Clock:
    """Give the app's call timer a clock that moves only when the test moves it."""
    clock = _Clock()
    app.call_timer.clock = clock
    return clock


async def _until_dialled(pilot: Pilot[Any], path: Path, count: int) -> list[str]:
    """Run the app until the dial command has written `count` lines (bounded, not a sleep).

    The app waits 5 s for the command and then leaves it running (a softphone stays
    up); a Python started on a loaded machine may take longer than that to write.
    """
    for _ in range(3000):
        if len(_dialled(path)) >= count:
            break
        await pilot.pause(0.01)
    return _dialled(path)


async def _card(pilot: Pilot[Any], contact_id: str) -> None:
    await settle(pilot)
    pilot.app.open_contact(contact_id)  # type: ignore[attr-defined]
    await settle(pilot)
    assert isinstance(pilot.app.screen, ContactCardScreen)


async def test_c_dials_the_card_s_phone_and_c_again_logs_the_call_s_length(daily, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, ids = daily
    dialled = tmp_path / "dialled.txt"
    _config(dialled)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        clock = _held_clock(app)
        _mark(path, ids[ANNA])
        await _card(pilot, ids[ANNA])
        await pilot.press("c")
        await settle(pilot)
        assert await _until_dialled(pilot, dialled, 1) == ["tel:+493022334455"]
        assert app.call_timer.running is not None
        assert app.sub_title.startswith("☎ 00:00") and ANNA in app.sub_title
        clock.seconds += 125
        await pilot.press("c")
        await settle(pilot)
        log = app.screen
        assert isinstance(log, QuickLogScreen)
        assert log.duration_s == 125
        assert "call timer" in str(log.query_one("#duration").render())
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert _calls(path, ids[ANNA]) == [(None, 125)]
        assert app.call_timer.running is None and app.sub_title == path.name


async def test_the_call_s_time_is_in_the_header_at_80x24(daily, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, ids = daily
    _config(tmp_path / "dialled.txt")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        clock = _held_clock(app)
        await _card(pilot, ids[ANNA])
        await pilot.press("c")
        await settle(pilot)
        assert app.call_timer.running is not None
        # Moved by hand: with the real clock, a settle over a second long on a loaded
        # machine let the once-a-second tick show 01:06.
        clock.seconds += 65
        app.call_timer.tick()
        await settle(pilot)
        # The header's first row as drawn: the card's title, then the running time (the
        # name and the hint after it may be cut at this width, never the time).
        header = "".join(s.text for s in app.screen._compositor.render_update(full=True).strips[0])
        assert "☎ 01:05" in header, header


async def test_the_log_after_a_call_keeps_its_status_line_on_screen_at_80x24(
    daily, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Input, Static

    path, ids = daily
    _config(tmp_path / "dialled.txt")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await _card(pilot, ids[ANNA])
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        log = app.screen
        assert isinstance(log, QuickLogScreen) and log.duration_s is not None
        log.query_one("#next-when", Input).focus()
        await pilot.press(*"tomorrow 9am")
        await settle(pilot)
        # The length line and the next touch's reading both shown: the status line, where
        # a refused save is explained, is still drawn.
        status = log.query_one("#log-status", Static)
        assert status in log._compositor.visible_widgets
        assert status.region.bottom <= log.query_one("#form").region.bottom - 1


async def test_a_do_not_call_contact_is_not_dialled(daily, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, ids = daily
    dialled = tmp_path / "dialled.txt"
    _config(dialled)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _card(pilot, ids[SMITH])
        await pilot.press("c")
        await settle(pilot)
        assert _dialled(dialled) == [] and app.call_timer.running is None
        assert any(n.startswith("Not dialled:") and "do-not-call" in n for n in _notices(app))


async def test_without_a_dial_command_it_says_what_to_set(daily) -> None:  # type: ignore[no-untyped-def]
    path, ids = daily
    _config(None)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _card(pilot, ids[ANNA])
        await pilot.press("c")
        await settle(pilot)
        assert app.call_timer.running is None
        assert any("Set dial_command in the config" in n for n in _notices(app))


async def test_an_outcome_key_on_the_call_list_ends_the_call_and_keeps_its_length(
    daily, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path, _ = daily
    dialled = tmp_path / "dialled.txt"
    _config(dialled)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        calls = app.screen
        assert isinstance(calls, CallListScreen) and calls.current is not None
        who = calls.current.contact_id
        _mark(path, who)
        clock = _held_clock(app)
        await pilot.press("c")
        await settle(pilot)
        assert len(await _until_dialled(pilot, dialled, 1)) == 1
        assert app.call_timer.running is not None
        clock.seconds += 42
        await pilot.press("2")  # no answer
        await settle(pilot)
        assert _calls(path, who) == [("no-answer", 42)]
        assert app.call_timer.running is None


async def test_esc_in_the_log_keeps_the_ended_call_and_c_logs_it_with_its_length(
    daily, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # Before: Esc in the log after `c` lost the call and its length for good.
    from crmtui.screens.dialogs.pick import PickScreen

    path, ids = daily
    _config(tmp_path / "dialled.txt")
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        clock = _held_clock(app)
        _mark(path, ids[ANNA])
        await _card(pilot, ids[ANNA])
        await pilot.press("c")
        await settle(pilot)
        clock.seconds += 125
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, QuickLogScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ContactCardScreen)
        # Ended, not logged: the header says so, and nothing was written.
        assert app.call_timer.running is None and app.call_timer.ended is not None
        assert app.sub_title.startswith("☎ ended 02:05") and ANNA in app.sub_title
        assert "c logs it" in app.sub_title
        assert _calls(path, ids[ANNA]) == []
        assert any("not logged yet" in n for n in _notices(app))
        # `c` offers the ended call's log (not a new call); Esc there keeps it too.
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.call_timer.ended is not None
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("enter")  # "Log it (2 min 05 s)"
        await settle(pilot)
        log = app.screen
        assert isinstance(log, QuickLogScreen) and log.duration_s is not None
        assert log.duration_s == 125
        await pilot.press("enter")
        await settle(pilot)
        ((_outcome, seconds),) = _calls(path, ids[ANNA])
        assert 125 <= seconds < 200
        assert app.call_timer.ended is None and app.sub_title == path.name


async def test_an_ended_call_can_be_forgotten_explicitly(daily, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crmtui.screens.dialogs.pick import PickScreen

    path, ids = daily
    dialled = tmp_path / "dialled.txt"
    _config(dialled)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        _mark(path, ids[ANNA])
        await _card(pilot, ids[ANNA])
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        await pilot.press("down", "enter")  # "Forget it: no log"
        await settle(pilot)
        assert app.call_timer.ended is None and app.sub_title == path.name
        assert _calls(path, ids[ANNA]) == []
        # `c` dials again.
        await pilot.press("c")
        await settle(pilot)
        assert len(_dialled(dialled)) == 2 and app.call_timer.running is not None
