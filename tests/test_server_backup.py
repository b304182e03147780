"""`crm server backup` and `restore` on both stores, and the laptops after a restore (issue #20).

A restored server is behind its laptops: their cursors name feed numbers it will
hand out again, and they hold ops it lost (marked pushed). The decision: a restore
gives the server a new identity and opens a reseed window, so each laptop sends
back its full state before anything else and pulls from 0. The test backs up,
writes more (synced), restores, and checks every laptop ends with everything,
the work done after the backup included, and that syncing goes on normally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.server.backup import BadBackupFile, LiveDatabase, backup, read_backup, restore
from crmtui.server.reseed import reseed_until, server_id
from crmtui.services.address_book.accounts import (
    AccountCreate,
    AccountUpdate,
    create_account,
    update_account,
)
from crmtui.store.database import Store
from crmtui.sync.client import SyncClient, UnknownDevice, pending_count
from tests.sync_support import BACKENDS, Team, server_url


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The server database on SQLite and on PostgreSQL."""
    return server_url(request, tmp_path)


def _accounts(store: Store) -> dict[str, tuple[str, str | None, bool]]:
    """Account id -> (name, city, deleted) as a laptop shows them."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, name, city, deleted_at IS NOT NULL FROM account"
        ).all()
    return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}


def _new(store: Store, name: str, territory: str) -> str:
    with store.write() as tx:
        return create_account(
            tx=tx, data=AccountCreate(name=name, territory_id=territory), region="DE"
        ).id


def _city(store: Store, account: str, city: str) -> None:
    with store.write() as tx:
        update_account(tx=tx, account_id=account, data=AccountUpdate(city=city), region="DE")


def _head(team: Team) -> int:
    with team.engine.connect() as conn:
        return int(conn.execute(text("SELECT value FROM sync_counter")).scalar() or 0)


def _check_converged(team: Team, stores: tuple[Store, ...], rows: tuple[str, ...]) -> None:
    """Every laptop holds what was done after the backup, and so does the server."""
    ann, bob, sue = stores
    north0, north1, south0 = rows
    for store in (ann, bob):
        seen = _accounts(store)
        assert seen[north0] == ("North 0", "Hull", False)
        assert seen[north1] == ("North 1", None, False)
        assert south0 not in seen
        assert pending_count(store) == 0
    assert _accounts(sue)[south0] == ("South 0", "Leeds", False)
    with team.engine.connect() as conn:
        cities = dict(
            conn.execute(text("SELECT row_id, value FROM srv_field WHERE field = 'city'")).all()
        )
    assert cities[north0] == '"Hull"' and cities[south0] == '"Leeds"'


def test_restore_gives_a_new_identity_and_laptops_reseed_what_came_after(
    url: str, tmp_path: Path
) -> None:
    team = Team(url, tmp_path)
    laptops: dict[str, tuple[Store, str]] = {rep: team.laptop(rep) for rep in ("ann", "bob", "sue")}
    clients = {rep: team.sync_client(s, tok) for rep, (s, tok) in laptops.items()}
    ann, bob, sue = (laptops[r][0] for r in ("ann", "bob", "sue"))
    for c in clients.values():
        c.sync()  # the territories come down first
    north0 = _new(ann, "North 0", team.north)
    south0 = _new(sue, "South 0", team.south)
    for _ in range(2):
        for c in clients.values():
            c.sync()
    dump = tmp_path / "server.backup"
    taken = backup(url, dump)
    assert taken.head == _head(team) or taken.head == -1  # pg_dump's head is not read back
    assert read_backup(dump).store in ("sqlite", "postgresql")

    # After the backup: more work, synced and pulled, that the backup does not hold.
    north1 = _new(ann, "North 1", team.north)
    _city(ann, north0, "Hull")
    _city(sue, south0, "Leeds")
    late_store, late_token = team.laptop("sue", "sue-late")  # enrolled after the backup
    for _ in range(2):
        for c in clients.values():
            c.sync()
    assert _accounts(bob)[north1][0] == "North 1"
    ahead = _head(team)
    old_identity = server_id(team.engine)
    team.close()

    with pytest.raises(LiveDatabase, match="--force"):
        restore(url, dump)
    with pytest.raises(BadBackupFile, match="not a crmtui server backup"):
        restore(url, Path(__file__), force=True)
    back = restore(url, dump, force=True, reseed_hours=1)
    assert back.head < ahead  # the laptops' cursors are past the restored head

    team = Team(url, tmp_path, seeded=True)
    assert server_id(team.engine) not in ("", old_identity)
    assert reseed_until(team.engine) is not None
    with team.engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT row_id FROM srv_row"))}
    assert north0 in names and north1 not in names  # the server is at the backup's moment
    clients = {rep: team.sync_client(s, tok) for rep, (s, tok) in laptops.items()}
    # bob only pulled North 1 and Hull: his reseed sends them back with ann's versions.
    report = clients["bob"].sync()
    assert report.reseeded > 0 and report.rejected == 0, report.reasons
    for rep in ("sue", "ann"):
        report = clients[rep].sync()
        assert report.reseeded > 0 and report.rejected == 0, report.reasons
    for _ in range(2):
        for c in clients.values():
            c.sync()
    _check_converged(team, (ann, bob, sue), (north0, north1, south0))

    # Syncing goes on as usual: a new edit travels once, with no reseed.
    _city(bob, north1, "York")
    assert clients["bob"].sync().reseeded == 0
    report = clients["ann"].sync()
    assert report.reseeded == 0 and report.pulled > 0
    assert _accounts(ann)[north1][1] == "York"
    # A device enrolled after the backup is unknown to the restored server.
    with pytest.raises(UnknownDevice):
        SyncClient(late_store, team.http(late_token)).sync()
    team.close()


def test_cli_backup_and_restore_refuse_a_live_database_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "server.db")
    dump = tmp_path / "server.backup"

    def crm(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["server", *args, "--db", db])
        return result.exit_code, result.output

    assert crm("init")[0] == 0
    assert crm("add-territory", "North")[0] == 0
    code, out = crm("backup", str(dump))
    assert code == 0 and "backed up" in out and "feed at" in out
    code, out = crm("restore", str(dump))
    assert code == 2 and "already holds a crmtui server: pass --force" in out
    assert "Traceback" not in out
    code, out = crm("restore", str(tmp_path / "missing.backup"), "--force")
    assert code == 2 and "cannot read" in out
    code, out = crm("restore", str(dump), "--force")
    assert code == 0 and "new server identity" in out
    code, out = crm("territories")
    assert code == 0 and "North" in out
    fresh = tmp_path / "fresh.db"
    result = runner.invoke(app, ["server", "restore", str(dump), "--db", str(fresh)])
    assert result.exit_code == 0, result.output  # an empty target needs no --force
    nothing = runner.invoke(app, ["server", "backup", str(dump), "--db", str(tmp_path / "none.db")])
    assert nothing.exit_code == 3 and "no server database at" in nothing.output
