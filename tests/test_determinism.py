"""The suite's own guards against timing: cursors that do not blink, idle work held back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App, ComposeResult
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
