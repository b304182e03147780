"""SVG snapshots of the board and the territory summary on a small fixed demo database.

The demo is seeded with a fixed seed and a fixed "now", and the app runs on a fixed
clock in UTC, so the same cards and figures are drawn on every run. Update with
`pytest tests/test_snapshots_pipeline.py --snapshot-update` and look at them first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from tests.app_support import copy_db, settle
from tests.test_app_pipeline import DEMO_NOW, SIZE

pytestmark = pytest.mark.usefixtures("stable_rendering")


def utc_clock() -> datetime:
    """The fixed moment, in UTC."""
    return DEMO_NOW.astimezone(UTC)


@pytest.fixture(scope="module")
def demo_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 300-contact demo database, seed 1."""
    return copy_db(demo_template, tmp_path_factory.mktemp("snap-pipe") / "demo.db")


def test_pipeline_board(snap_compare, demo_db):
    """Columns with counts, sums per currency, stale marks and the top cards."""
    app = make_app(db_path=demo_db, show_timings=False, now=utc_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_territory_summary(snap_compare, demo_db):
    """Figures, stage bars, weekly sparklines and the sub-territories and reps."""
    app = make_app(db_path=demo_db, show_timings=False, now=utc_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
