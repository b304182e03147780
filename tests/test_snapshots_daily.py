"""SVG snapshots of the daily loop: the agenda, the call list and the quick-log modal.

Deterministic: the hand-written daily database (`tests/app_support.build_daily_db`),
the app's clock fixed at `DAILY_NOW` through `make_app(now=...)`, times in UTC.
Update with `pytest tests/test_snapshots_daily.py --snapshot-update` and look at them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from tests.app_support import build_daily_db, settle
from tests.daily_pilot import SIZE, fixed_clock

pytestmark = pytest.mark.usefixtures("stable_rendering")


@pytest.fixture(scope="module")
def daily_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The daily database; snapshots never write to it."""
    path = tmp_path_factory.mktemp("snap-daily") / "daily.db"
    build_daily_db(path)
    return path


def test_agenda(snap_compare, daily_db):
    """Overdue (red), today, upcoming and stay-in-touch, with counts; DNC marked."""
    app = make_app(db_path=daily_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_call_list(snap_compare, daily_db):
    """The queue, the contact with last notes and open deals, counters, the outcome keys."""
    app = make_app(db_path=daily_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("down")  # Emma Johnson: a meeting on record and an open deal
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_quick_log_modal(snap_compare, daily_db):
    """The quick log over the call list, contact chosen, an outcome and a next touch typed."""
    app = make_app(db_path=daily_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("tab", "right", "tab", *"Wants the price list", "tab", *"in 2 days")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
