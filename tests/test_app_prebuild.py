"""Heavy sections are built while the user is idle, and work as if visited the usual way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from crmtui import startup as startup_module
from crmtui.app import make_app
from crmtui.screens.sections.pipeline import PipelineScreen
from crmtui.screens.sections.territory import TerritoryScreen
from crmtui.startup import PREBUILT_SECTIONS
from crmtui.widgets.kanban import KanbanBoard
from tests.app_support import DEMO_NOW, copy_db, settle

SIZE = (120, 40)


@pytest.fixture(scope="module")
def demo_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_db(demo_template, tmp_path_factory.mktemp("prebuild") / "demo.db")


async def _until(pilot: Pilot[None], done: object, most: int = 600) -> None:
    for _ in range(most):
        if done():  # type: ignore[operator]
            return
        await pilot.pause(0.05)
    raise AssertionError("the sections were not built ahead")


async def test_idle_app_builds_the_heavy_sections_without_leaving_contacts(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup_module, "PREBUILD_IDLE_S", 0.2)
    app = make_app(db_path=demo_db, now=lambda: DEMO_NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _until(pilot, lambda: all(m in app._screen_stacks for m in PREBUILT_SECTIONS))
        assert app.current_mode == "contacts"
        assert isinstance(app.focused, Input)  # typing still goes to the search box
        # Last, the writer is opened, so the first write does not import SQLModel.
        await _until(pilot, lambda: app.startup.warmed_up)
        assert app.daily._store is not None
        built = app._screen_stacks["pipeline"][0]
        assert isinstance(built, PipelineScreen) and built.is_mounted
        await pilot.press("f3")
        await settle(pilot)
        assert app.screen is built  # the visit shows the screen built ahead
        board = built.query_one(KanbanBoard)
        assert app.focused is board
        lane = board.highlighted_lane
        await pilot.press("right")
        await settle(pilot)
        assert board.highlighted_lane is not lane  # keys reach the board as usual


async def test_typing_holds_the_building_back(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's idle clock is the test's: a loaded machine's real gaps between keys
    # (more than a second at times) must not decide whether the user was idle.
    clock = [1000.0]
    monkeypatch.setattr(startup_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(startup_module, "PREBUILD_IDLE_S", 1.0)
    app = make_app(db_path=demo_db, now=lambda: DEMO_NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for letter in "smithson":  # a key every 0.3 s for 2.4 s: never idle for 1 s
            clock[0] += 0.3
            await pilot.press(letter)
            await pilot.pause(startup_module.PREBUILD_TICK_S * 2)  # ticks run, and find no idle
        assert not any(m in app._screen_stacks for m in PREBUILT_SECTIONS)
        clock[0] += 1.0  # then a second without a key
        await _until(pilot, lambda: all(m in app._screen_stacks for m in PREBUILT_SECTIONS))


async def test_figures_built_ahead_are_read_again_after_a_move_on_the_board(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup_module, "PREBUILD_IDLE_S", 0.2)
    path = copy_db(demo_db, tmp_path / "crm.db")
    app = make_app(db_path=path, now=lambda: DEMO_NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _until(pilot, lambda: all(m in app._screen_stacks for m in PREBUILT_SECTIONS))
        territory = app._screen_stacks["territories"][0]
        assert isinstance(territory, TerritoryScreen)
        await _until(pilot, lambda: territory.report is not None)
        before = territory.report
        assert before is not None
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("right_square_bracket")  # the highlighted deal, one stage on
        await settle(pilot)
        assert app.daily.writes == 1
        await pilot.press("f4")
        await settle(pilot)
        await _until(pilot, lambda: not territory.loading_summary)
        after = territory.report
        assert after is not None and after is not before
        assert after.total.pipeline != before.total.pipeline  # the weighted sums moved
