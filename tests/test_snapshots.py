"""SVG snapshots of the screens that matter (pytest-textual-snapshot, Textual pinned).

Everything rendered is fixed: the rows come from the hand-written fixed database
in `tests/app_support.py` (not the demo generator, which may change its output),
times are shown in UTC, and the search time is hidden (`show_timings=False`)
because it differs on every run. Update the baselines with
`pytest tests/test_snapshots.py --snapshot-update` and look at them before committing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from tests.app_support import SMITH, build_fixed_db, settle

pytestmark = pytest.mark.usefixtures("stable_rendering")

SIZE = (120, 40)

SHOWN_AT = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
"""The app's clock in these snapshots: a day in the fixed rows' year, away from them.

A card's list rows are read against today ("Mon 02 Mar 09:15" this year, "02 Mar 2026
09:15" another year, "yesterday 09:15"): on the real clock the contact card's picture
changed with the calendar, and would have failed from 1 January 2027.
"""


def shown_at() -> datetime:
    """The fixed clock given to every app below."""
    return SHOWN_AT


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixed twelve-contact database (same text on every run) and its ids by name."""
    path = tmp_path_factory.mktemp("snap") / "fixed.db"
    return path, build_fixed_db(path)


def test_contacts_screen_recent_list(snap_compare, fixed_db):
    """The empty query lists recently updated contacts; do-not-call rows are marked DNC."""
    app = make_app(db_path=fixed_db[0], show_timings=False, now=shown_at)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_contacts_screen_with_results(snap_compare, fixed_db):
    """Results for "gmbh", best match highlighted, count in the status line."""
    app = make_app(db_path=fixed_db[0], show_timings=False, now=shown_at)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(*"gmbh", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_contact_card(snap_compare, fixed_db):
    """A full card: DO NOT CALL, details, tags, notes, an activity, a tickler and a deal."""
    path, ids = fixed_db
    app = make_app(db_path=path, show_timings=False, now=shown_at)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_contact(ids[SMITH])
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_contact_card_with_nothing_open(snap_compare, fixed_db):
    """Consent allows contact; empty sections say "none yet"."""
    path, ids = fixed_db
    app = make_app(db_path=path, show_timings=False, now=shown_at)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_contact(ids["Anna Müller"])
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_sync_section_not_enrolled(snap_compare, fixed_db):
    """The Sync section of a database never enrolled: the login hint and what is pending."""
    app = make_app(db_path=fixed_db[0], show_timings=False, now=shown_at)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_missing_database_message(snap_compare):
    """No database: the reason and the command that makes one."""
    # A fixed path, so the message (which names it) is the same on every machine.
    path = Path("/nonexistent/crmtui-snapshot/crm.db")
    app = make_app(db_path=path, show_timings=False, now=shown_at)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
