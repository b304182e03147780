"""The Sync section: state, the not-enrolled hint, a real sync against an in-process server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import make_app
from crmtui.screens.sections.sync import NOT_ENROLLED, UNREACHABLE, SyncScreen, report_text
from crmtui.server import admin
from crmtui.store.database import open_store
from crmtui.sync.client import SyncReport, pending_count
from crmtui.sync.credentials import save_token
from tests.app_support import build_fixed_db, settle
from tests.sync_support import Team

SIZE = (120, 40)


async def sync_screen(pilot: Pilot[None]) -> SyncScreen:
    """Open the database, then the Sync section, and wait for its state."""
    await settle(pilot)
    await pilot.press("f5")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SyncScreen), type(screen)
    return screen


def text(screen: SyncScreen, widget_id: str) -> str:
    """The plain text of one Static on the screen."""
    return str(screen.query_one(f"#{widget_id}", Static).render())


@pytest.fixture
def fixed_db(tmp_path: Path) -> Path:
    """The fixed twelve-contact database: every one of its ops is still pending."""
    path = tmp_path / "crm.db"
    build_fixed_db(path)
    return path


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    """A server in-process."""
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def enrol(path: Path, team: Team) -> None:
    """What `crm sync login` leaves behind: the server in local_meta, the token kept."""
    store = open_store(path)
    try:
        with store.engine.begin() as conn:
            device = conn.exec_driver_sql(
                "SELECT value FROM local_meta WHERE key = 'device_id'"
            ).scalar_one()
            conn.exec_driver_sql(
                "INSERT INTO local_meta(key, value) VALUES ('sync_server', 'http://testserver')"
            )
        save_token(device, admin.issue_token(team.engine, "ann", "ann-laptop").token)
    finally:
        store.close()


def pending_ops_in(path: Path) -> int:
    """Pending field operations at `path` (what a push sends), read with the CLI's function."""
    store = open_store(path)
    try:
        return pending_count(store)
    finally:
        store.close()


def pending_in(path: Path) -> int:
    """Changed records waiting at `path` (what the header and `crm sync status` say), recounted."""
    return sum(pending_records_in(path).values())


ITEMS = ("contact_phone", "contact_email", "contact_address")


def pending_records_in(path: Path) -> dict[str, int]:
    """Records with pending changes per entity, from the journal; items count as contacts."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT DISTINCT entity, row_id FROM journal WHERE pushed_at IS NULL"
        ).fetchall()
        owner = {
            (table, item): contact
            for table in ITEMS
            for item, contact in db.execute(f"SELECT id, contact_id FROM {table}")
        }
    records: dict[str, set[str]] = {}
    for entity, row_id in rows:
        kind, rid = ("contact", owner[(entity, row_id)]) if entity in ITEMS else (entity, row_id)
        records.setdefault(kind, set()).add(rid)
    return {entity: len(ids) for entity, ids in records.items()}


async def test_not_enrolled_shows_the_login_hint_and_the_pending_count(fixed_db: Path) -> None:
    pending = pending_in(fixed_db)
    assert pending > 0
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await sync_screen(pilot)
        status = text(screen, "sync-status")
        assert NOT_ENROLLED in status
        # Records, not field operations: twelve new contacts are twelve, however many fields.
        records = pending_records_in(fixed_db)
        ops = pending_ops_in(fixed_db)
        assert records["contact"] == 12 and sum(records.values()) == pending < ops
        assert f"pending    {sum(records.values())} records" in status
        assert "12 contacts" in status and f"{records['deal']} deal" in status
        assert f"{records['tickler']} reminder" in status
        assert "tickler" not in status and "deal_stage_change" not in status
        assert "last sync  never" in status
        assert "Enrol this database first" in text(screen, "sync-outcome")
        # Not enrolled: s says how to set a server up, and syncs nothing.
        await pilot.press("s")
        await settle(pilot)
        outcome = text(screen, "sync-outcome")
        assert "crm sync login --server URL --token TOKEN" in outcome
        assert "crm server issue-token" in outcome
        assert pending_in(fixed_db) == pending


async def test_pressing_s_syncs_and_the_pending_count_drops_to_zero(
    fixed_db: Path, team: Team
) -> None:
    enrol(fixed_db, team)
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await sync_screen(pilot)
        screen.http_factory = lambda _server, token: team.http(token)
        assert "server     http://testserver" in text(screen, "sync-status")
        assert screen.status is not None and screen.status.pending_total > 0
        seen: list[str] = []
        original = screen.post_message

        def spy(message: Message) -> bool:
            if isinstance(message, SyncScreen.Progress):
                seen.append(message.phase)
            return original(message)

        screen.post_message = spy  # type: ignore[method-assign]
        await pilot.press("s")
        await settle(pilot)
        outcome = text(screen, "sync-outcome")
        assert outcome.startswith("synced: pushed "), outcome
        for name in ("pulled", "superseded", "conflicts", "rejected"):
            assert name in outcome
        assert "push" in seen and "pull" in seen  # the worker posted live progress
        assert screen.status is not None and screen.status.pending_total == 0
        assert "pending    0" in text(screen, "sync-status")
        assert "last sync  never" not in text(screen, "sync-status")
    assert pending_in(fixed_db) == 0


async def test_an_unreachable_server_keeps_everything_pending(fixed_db: Path, team: Team) -> None:
    enrol(fixed_db, team)
    before = pending_in(fixed_db)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await sync_screen(pilot)
        screen.http_factory = lambda server, _token: httpx.Client(
            base_url=server, transport=httpx.MockTransport(refuse)
        )
        await pilot.press("s")
        await settle(pilot)
        assert UNREACHABLE in text(screen, "sync-outcome")
        assert screen.check_action("sync", ()) is True  # idle again, can retry
    assert pending_in(fixed_db) == before


async def test_a_demo_database_says_it_will_not_sync(fixed_db: Path, team: Team) -> None:
    enrol(fixed_db, team)
    store = open_store(fixed_db)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO local_meta(key, value) VALUES ('demo', '1')")
    store.close()
    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await sync_screen(pilot)
        screen.http_factory = lambda _server, token: team.http(token)
        assert "generated demo database" in text(screen, "sync-status")
        await pilot.press("s")
        await settle(pilot)
        assert "generated demo database" in text(screen, "sync-outcome")


def add_conflict(path: Path, contact_id: str) -> None:
    """A conflict on a contact's city as a pull leaves it: the server kept theirs."""
    from crmtui.store.sync_state import SyncConflict

    store = open_store(path)
    try:
        with store.engine.begin() as conn:
            device = conn.exec_driver_sql(
                "SELECT value FROM local_meta WHERE key = 'device_id'"
            ).scalar_one()
        with store.write() as tx:
            tx.session.add(
                SyncConflict(
                    kind="conflict",
                    entity="contact",
                    row_id=contact_id,
                    field="city",
                    kept_value='"Leeds"',
                    kept_device="another-laptop",
                    other_value='"York"',
                    other_device=device,
                )
            )
    finally:
        store.close()


def city_of(path: Path, contact_id: str) -> str | None:
    """A contact's city, read back from the file."""
    from crmtui.store.models import Contact

    store = open_store(path)
    try:
        with store.read() as s:
            contact = s.get(Contact, contact_id)
            assert contact is not None
            return contact.city
    finally:
        store.close()


@pytest.mark.parametrize(("key", "kept"), [("m", "York"), ("t", "Leeds")])
async def test_keep_mine_or_theirs_settles_the_conflict(
    tmp_path: Path, key: str, kept: str
) -> None:
    path = tmp_path / "crm.db"
    ids = build_fixed_db(path)
    smith = ids["John Smith"]
    add_conflict(path, smith)
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await sync_screen(pilot)
        assert text(screen, "sync-conflicts-title") == "Open conflicts: 1"
        row = screen.conflicts_table.get_row_at(0)
        assert row[2:] == ["city", "York", "Leeds"]  # field, mine, theirs
        await pilot.press(key)
        await settle(pilot)
        assert text(screen, "sync-conflicts-title") == "No open conflicts"
        assert screen.conflicts_table.row_count == 0
    assert city_of(path, smith) == kept


def test_the_summary_names_every_count_and_a_few_reasons() -> None:
    report = SyncReport(pushed=9, pulled=4, superseded=1, conflicts=2, rejected=7)
    report.reasons = [f"contact c{i} city: not yours" for i in range(7)]
    lines = report_text(report).plain.splitlines()
    assert lines[0] == "synced: pushed 9  pulled 4  superseded 1  conflicts 2  rejected 7"
    assert lines[1:6] == [f"rejected: contact c{i} city: not yours" for i in range(5)]
    assert lines[6:] == ["… and 2 more rejected"]


async def test_an_unexpected_failure_is_shown_and_the_key_comes_back(
    fixed_db: Path, team: Team
) -> None:
    enrol(fixed_db, team)

    def broken(_server: str, _token: str) -> httpx.Client:
        raise OSError("disk on fire")

    app = make_app(db_path=fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await sync_screen(pilot)
        screen.http_factory = broken
        await pilot.press("s")
        await settle(pilot)
        assert "sync failed: OSError: disk on fire" in text(screen, "sync-outcome")
        assert screen.check_action("sync", ()) is True
