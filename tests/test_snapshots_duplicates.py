"""SVG snapshot of the Duplicates section: a pair side by side with a field picked by hand.

The database is the hand-written fixed one plus four look-alikes
(`tests/test_app_duplicates.py`), and the scan time is hidden (`show_timings=False`),
so the same screen is drawn on every run. Update with
`pytest tests/test_snapshots_duplicates.py --snapshot-update` and look at it first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from tests.app_support import build_fixed_db, settle
from tests.test_app_duplicates import SIZE, add_duplicates

pytestmark = pytest.mark.usefixtures("stable_rendering")


@pytest.fixture(scope="module")
def dupes_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database with its known duplicate pairs."""
    path = tmp_path_factory.mktemp("snap-dupes") / "dupes.db"
    build_fixed_db(path)
    add_duplicates(path)
    return path


def test_duplicates_side_by_side(snap_compare, dupes_db):
    """John Smith / J. Smith: differing fields marked, B's title picked, what the merge keeps."""
    app = make_app(db_path=dupes_db, show_timings=False)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.press("tab", "down", "down", "space")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
