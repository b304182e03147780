"""SVG snapshots of every section at 80x24 and 120x40 (issue #16: usable at 80x24).

Deterministic: the hand-written daily database and the app's clock fixed at
`DAILY_NOW`. Update with `pytest tests/test_snapshots_sections.py --snapshot-update`
and look at them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import SECTIONS, make_app
from tests.app_support import build_daily_db, settle
from tests.daily_pilot import fixed_clock

pytestmark = pytest.mark.usefixtures("stable_rendering")


@pytest.fixture(scope="module")
def daily_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The daily database; snapshots never write to it."""
    path = tmp_path_factory.mktemp("snap-sections") / "daily.db"
    build_daily_db(path)
    return path


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("mode", [s.mode for s in SECTIONS])
def test_section(snap_compare, daily_db, mode, size):
    """The section's first screen, as its key shows it."""
    section = next(s for s in SECTIONS if s.mode == mode)
    app = make_app(db_path=daily_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(section.key)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
