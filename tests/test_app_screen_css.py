"""Once started, the app has read every screen's stylesheet, so a first visit does not restyle
the whole app; the heap frozen after start-up is given back when the app ends."""

from __future__ import annotations

import gc
import inspect
from pathlib import Path

import pytest
from textual.screen import Screen

from crmtui.app import make_app
from crmtui.screens.sections.pipeline import PipelineScreen
from crmtui.screens.sections.territory import RepDealsScreen, TerritoryScreen
from crmtui.startup import AFTER_START_UP_S, SCREEN_CSS
from tests.app_support import build_fixed_db, settle

SIZE = (120, 40)


def _file_sources(app: object) -> set[str]:
    return {path for path, class_var in app.stylesheet.source if path and not class_var}  # type: ignore[attr-defined]


def _css_file(screen: type[Screen[None]]) -> str:
    assert isinstance(screen.CSS_PATH, str)
    return str(Path(inspect.getfile(screen)).parent / screen.CSS_PATH)


def test_every_screen_stylesheet_is_in_the_start_up_list() -> None:
    on_disk = sorted((Path(__file__).parents[1] / "crmtui" / "screens").rglob("*.tcss"))
    assert [Path(p) for p in SCREEN_CSS] == on_disk
    assert {_css_file(PipelineScreen), _css_file(TerritoryScreen), _css_file(RepDealsScreen)} <= {
        str(p) for p in SCREEN_CSS
    }


@pytest.fixture
def fixed_db(tmp_path: Path) -> Path:
    path = tmp_path / "fixed.db"
    build_fixed_db(path)
    return path


async def test_first_visits_read_no_new_stylesheet(fixed_db: Path) -> None:
    app = make_app(db_path=fixed_db, show_timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(AFTER_START_UP_S + 0.1)
        await settle(pilot)
        assert gc.get_freeze_count() > 0
        loaded = _file_sources(app)
        assert _css_file(PipelineScreen) in loaded and _css_file(TerritoryScreen) in loaded
        for key, screen in (("f3", PipelineScreen), ("f4", TerritoryScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen)
            assert _file_sources(app) == loaded
    # The frozen objects are handed back to the collector when the app ends.
    assert gc.get_freeze_count() == 0
