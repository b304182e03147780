"""SVG snapshots: the new-contact form with a duplicate warning, and the sync indicator.

Deterministic: the fixed database (`tests/app_support.build_fixed_db`), the app's
clock fixed at `DAILY_NOW`, times in UTC. Update with
`pytest tests/test_snapshots_new_contact.py --snapshot-update` and look at them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.domain.hlc import HLC
from crmtui.screens.dialogs.new_contact import NewContactScreen
from crmtui.store.database import open_store
from tests.app_support import build_fixed_db, settle
from tests.daily_pilot import SIZE, fixed_clock

pytestmark = pytest.mark.usefixtures("stable_rendering")


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database; snapshots never write to it."""
    path = tmp_path_factory.mktemp("snap-new") / "fixed.db"
    build_fixed_db(path)
    return path


@pytest.fixture(scope="module")
def synced_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database, enrolled, last synced at 08:02 on the day of `DAILY_NOW`."""
    path = tmp_path_factory.mktemp("snap-synced") / "fixed.db"
    build_fixed_db(path)
    synced = datetime(2026, 3, 9, 8, 2, tzinfo=UTC)
    store = open_store(path)
    try:
        with store.engine.begin() as conn:
            for key, value in (
                ("sync_server", "https://crm.example"),
                ("sync_last", HLC(int(synced.timestamp() * 1000)).encode()),
            ):
                conn.exec_driver_sql(
                    "INSERT INTO local_meta(key, value) VALUES (?, ?)", (key, value)
                )
    finally:
        store.close()
    return path


def test_new_contact_with_a_duplicate_warning(snap_compare, fixed_db):
    """The form over the contact list: Anna Müller is probably already here (same email)."""
    app = make_app(db_path=fixed_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, NewContactScreen)
        await pilot.press(
            *"Anna Mueller", "tab", *"Kranich", "tab", *"anna.mueller@kranich.example"
        )
        for _ in range(200):  # the check runs after a pause in typing
            await settle(pilot, rounds=1)
            if form.checked:  # as typed to the end, not a check of the name alone
                break
            await pilot.pause(0.05)
        assert form.checked and form.duplicates
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_sync_indicator_in_the_header(snap_compare, synced_db):
    """Contacts, with "↑ N pending · synced 08:02" at the right of the header."""
    app = make_app(db_path=synced_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_contact_edit_form(snap_compare, fixed_db, size):
    """The edit form over John Smith's card: every field, consent flags, cap and cadence."""
    from crmtui.screens.dialogs.contact_edit import ContactEditScreen
    from tests.app_support import SMITH

    app = make_app(db_path=fixed_db, show_timings=False, now=fixed_clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        contact_id = app.db.execute(  # type: ignore[union-attr]
            "SELECT id FROM contact WHERE name = ?", (SMITH,)
        ).fetchone()[0]
        app.open_contact(contact_id)
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ContactEditScreen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
