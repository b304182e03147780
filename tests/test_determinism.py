"""The suite's own guards against timing: cursors that do not blink, idle work held back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot, WaitForScreenTimeout
from textual.widgets import Input, TextArea

import crmtui.startup as startup_module
from crmtui.app import make_app
from crmtui.startup import PREBUILT_SECTIONS
from tests.app_support import build_fixed_db, settle


class _Fields(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(value="typed", id="line")
        yield TextArea("typed", id="area")


async def test_focused_text_cursors_never_blink() -> None:
    """tests/conftest.py's `_steady_cursor`: blinking off, the cursor drawn, its timer paused."""
    app = _Fields()
    async with app.run_test() as pilot:
        for selector in ("#line", "#area"):
            widget = app.query_one(selector)
            widget.focus()
            await pilot.pause()
            assert isinstance(widget, (Input, TextArea))
            assert widget.cursor_blink is False
            assert widget._cursor_visible  # a blink phase would turn this off and on
        line = app.query_one("#line", Input)
        assert line._blink_timer is not None and not line._blink_timer._active.is_set()
        assert not app.query_one("#area", TextArea).blink_timer._active.is_set()


async def test_the_apps_search_box_does_not_blink(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    build_fixed_db(path)
    app = make_app(db_path=path, show_timings=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, Input)
        assert app.focused.cursor_blink is False


async def test_a_notification_outlives_a_slow_settle() -> None:
    """tests/conftest.py's `_notifications_outlive_the_test`: expiry is not a race with load."""
    app = _Fields()
    async with app.run_test() as pilot:
        app.notify("Call logged", timeout=0.2)
        await pilot.pause()
        time.sleep(0.5)  # a settle that took longer than the toast's own life
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["Call logged"]


async def test_idle_work_is_held_back_unless_a_test_asks_for_it(tmp_path: Path) -> None:
    """tests/conftest.py's `_no_idle_work`: nothing is built ahead at a moment of its choosing."""
    assert startup_module.PREBUILD_IDLE_S >= 3600 and startup_module.WARM_DELAY_S >= 3600
    path = tmp_path / "crm.db"
    build_fixed_db(path)
    app = make_app(db_path=path, show_timings=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(startup_module.PREBUILD_TICK_S * 3)  # ticks run and find no idle
        assert not any(mode in app._screen_stacks for mode in PREBUILT_SECTIONS)


async def test_no_section_is_built_ahead_while_the_app_closes(tmp_path: Path, monkeypatch) -> None:
    """A tick during shutdown once added a screen stack while Textual walked them."""
    path = tmp_path / "crm.db"
    build_fixed_db(path)
    app = make_app(db_path=path, show_timings=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not any(mode in app._screen_stacks for mode in PREBUILT_SECTIONS)
        # From here on no await, so no timer runs: only the direct call below.
        monkeypatch.setattr(startup_module, "PREBUILD_IDLE_S", 0.0)
        app.startup._writer_opening = (
            True  # the writer step is done: the next tick builds a section
        )
        app._running = False  # what Textual's App._shutdown sets before closing the screens
        try:
            app.startup.prebuild_when_idle()
            assert not any(mode in app._screen_stacks for mode in PREBUILT_SECTIONS)
        finally:
            app._running = True


def test_fixed_day_starts_the_clock_at_its_moment_and_lets_it_run(fixed_day: None) -> None:
    """tests/conftest.py's `fixed_day`: the clock the code reads, moved, and still running."""
    start = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 14:00 in Berlin
    first = datetime.now(UTC)
    assert start <= first < start + timedelta(minutes=10)
    assert abs(time.time() - first.timestamp()) < 60
    time.sleep(0.01)  # the clock runs on (tick=True): ids and HLC stamps keep increasing
    assert datetime.now(UTC) > first


class _Stuck(App[None]):
    """An app that never gets through its message queue once `hang` runs from it."""

    def __init__(self, *, spin: bool) -> None:
        super().__init__()
        self.spin = spin
        self.hung = True

    def compose(self) -> ComposeResult:
        yield Input(id="stuck")

    async def hang(self) -> None:
        """Run from the app's queue (`call_later`): nothing queued after it is processed."""
        while self.hung:  # a hang: spinning on the CPU, or asleep, until the test ends it
            if self.spin:
                sum(range(10_000))
            await asyncio.sleep(0 if self.spin else 0.05)


async def test_a_wait_for_the_screen_still_fails_on_a_hang(monkeypatch) -> None:
    """tests/conftest.py's `_screen_waits_count_cpu`: a hang is still caught, by either bound."""
    from tests import conftest

    assert Pilot._wait_for_screen.__qualname__.endswith("wait_for_screen")
    assert Pilot._wait_for_screen.__module__ == "tests.conftest"
    # Spinning, only the CPU bound can end the wait; asleep, only the wall-time bound.
    for spin, bound in ((True, "SCREEN_WAIT_CPU_S"), (False, "SCREEN_WAIT_WALL_S")):
        with monkeypatch.context() as patch:
            patch.setattr(conftest, bound, 1.0)
            app = _Stuck(spin=spin)
            async with app.run_test() as pilot:
                await pilot.pause()
                app.call_later(app.hang)
                with pytest.raises(WaitForScreenTimeout):
                    await pilot.pause()
                app.hung = False
