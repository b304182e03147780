"""The sync indicator in every header: the pending count from the database, kept current.

It is read again after a write the app makes, after a sync, and (when something
committed meanwhile) on a slow timer for writes made from a shell.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Header

from crmtui.app import SECTIONS, make_app
from crmtui.domain.hlc import HLC
from crmtui.screens.dialogs.new_contact import NewContactScreen
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.widgets.sync_indicator import SyncBadge, SyncIndicator, badge_text
from tests.app_support import build_fixed_db, copy_db, settle
from tests.daily_pilot import fixed_clock
from tests.sync_support import Team
from tests.test_app_sync import enrol, pending_in

SIZE = (120, 40)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed database, built once: every op still pending, not enrolled."""
    path = tmp_path_factory.mktemp("indicator") / "fixed.db"
    build_fixed_db(path)
    return path


@pytest.fixture
def fixed_db(template: Path, tmp_path: Path) -> Path:
    """A private copy of the fixed database."""
    return copy_db(template, tmp_path / "fixed.db")


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    """A server in-process."""
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def indicator_text(pilot: Pilot[Any]) -> str:
    """What the indicator in the current screen's header says."""
    header = pilot.app.screen.query_one(Header)
    return str(header.query_one(SyncIndicator).render())


async def test_every_section_shows_the_pending_count_of_the_database(fixed_db: Path) -> None:
    pending = pending_in(fixed_db)  # what `crm sync status` says
    assert pending > 0
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = f"↑ {pending} pending · not enrolled"
        assert indicator_text(pilot) == expected
        for section in (*SECTIONS[1:], SECTIONS[0]):
            await pilot.press(section.key)
            await settle(pilot)
            assert app.current_mode == section.mode
            assert indicator_text(pilot) == expected, section.title


async def test_a_write_in_the_app_updates_the_count(fixed_db: Path) -> None:
    before = pending_in(fixed_db)
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, NewContactScreen)
        await pilot.press(*"Zoe Newfield")
        await pilot.press("enter")
        await settle(pilot)
        after = pending_in(fixed_db)
        assert after > before
        # On the card the form opened, and on the list below it.
        assert indicator_text(pilot) == f"↑ {after} pending · not enrolled"
        await pilot.press("escape")
        await settle(pilot)
        assert indicator_text(pilot) == f"↑ {after} pending · not enrolled"


async def test_a_write_from_a_shell_shows_on_the_next_tick(fixed_db: Path) -> None:
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keeper = app.sync_badges
        assert keeper is not None and keeper.badge is not None
        shown = keeper.badge
        keeper.refresh(if_changed=True)  # nothing committed since: nothing read
        await settle(pilot)
        assert keeper.badge is shown
        store = open_store(fixed_db)  # another connection, as `crm contact add` would be
        try:
            with store.write() as tx:
                create_contact(tx=tx, data=ContactCreate(name="Shell Person"), region="DE")
        finally:
            store.close()
        keeper.refresh(if_changed=True)  # what the timer calls
        await settle(pilot)
        assert indicator_text(pilot) == f"↑ {pending_in(fixed_db)} pending · not enrolled"


async def test_after_a_sync_it_says_when(fixed_db: Path, team: Team) -> None:
    enrol(fixed_db, team)
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert indicator_text(pilot) == f"↑ {pending_in(fixed_db)} pending · never synced"
        await pilot.press("f5")
        await settle(pilot)
        app.screen.http_factory = lambda _server, token: team.http(token)  # type: ignore[attr-defined]
        await pilot.press("s")
        await settle(pilot)
        assert pending_in(fixed_db) == 0
        shown = indicator_text(pilot)
        assert shown.startswith("✓ synced ") and "pending" not in shown, shown
        await pilot.press("f1")
        await settle(pilot)
        assert indicator_text(pilot) == shown


async def test_the_last_sync_is_shown_on_the_apps_clock(fixed_db: Path) -> None:
    synced = datetime(2026, 3, 9, 8, 2, tzinfo=UTC)  # fixed_clock says 08:30 that day
    store = open_store(fixed_db)
    try:
        with store.engine.begin() as conn:
            for key, value in (
                ("sync_server", "http://testserver"),
                ("sync_last", HLC(int(synced.timestamp() * 1000)).encode()),
            ):
                conn.exec_driver_sql(
                    "INSERT INTO local_meta(key, value) VALUES (?, ?)", (key, value)
                )
    finally:
        store.close()
    app = make_app(db_path=fixed_db, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert indicator_text(pilot) == f"↑ {pending_in(fixed_db)} pending · synced 08:02"


def test_badge_texts() -> None:
    now = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)

    def said(**kw: Any) -> str:
        values: dict[str, Any] = {"pending": 0, "last_sync": None, "enrolled": True, "now": now}
        return badge_text(SyncBadge(**(values | kw))).plain

    assert said() == "never synced"
    assert said(pending=12, enrolled=False) == "↑ 12 pending · not enrolled"
    assert said(enrolled=False) == "not enrolled"
    assert said(pending=3, demo=True, enrolled=False) == "↑ 3 pending · demo, never syncs"
    assert said(pending=1234, last_sync=now.replace(hour=14, minute=2)) == (
        "↑ 1,234 pending · synced 14:02"
    )
    assert said(last_sync=now.replace(hour=9, minute=5)) == "✓ synced 09:05"
    assert said(last_sync=now - timedelta(days=2)) == "✓ synced 07 Mar 14:30"
    assert said(last_sync=datetime(2025, 12, 30, 9, 0, tzinfo=UTC)) == "✓ synced 30 Dec 2025"
