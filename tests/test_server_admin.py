"""`crm server` team administration: list, rename, remove, roles, unassign, revocation by id.

Every change runs twice: the second run is a no-op with a message (never an
IntegrityError), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from crmtui.cli import app
from crmtui.server.app import make_server
from tests.sync_support import new_record, push_ops, wire_op


@pytest.fixture(params=["sqlite", "pg"])
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A server database URL on either store."""
    if request.param == "pg":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "server.db")


Crm = Callable[..., Result]


@pytest.fixture
def crm(server_db: str) -> Crm:
    """Run `crm server ...` against the database."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["server", *args, "--db", server_db])

    assert run("init").exit_code == 0
    return run


def _ok(result: Result, message: str) -> None:
    assert result.exit_code == 0, result.output
    assert message in result.stderr, result.stderr


def test_territories_and_reps_are_listed_renamed_and_removed(crm: Crm) -> None:
    for args in (
        ("add-territory", "Europe"),
        ("add-territory", "North", "--parent", "Europe"),
        ("add-territory", "Empty"),
        ("add-rep", "ann", "--territory", "North", "--territory", "Empty"),
        ("add-rep", "bob", "--role", "manager", "--territory", "Europe"),
    ):
        assert crm(*args).exit_code == 0
    # A second run of an add is a no-op that prints the same id; a different one is refused.
    first = crm("add-territory", "Solo").stdout.strip()
    again = crm("add-territory", "Solo")
    _ok(again, "exists already: nothing changed")
    assert again.stdout.strip() == first
    assert crm("add-territory", "Solo", "--parent", "Europe").exit_code == 2
    _ok(crm("add-rep", "ann", "--territory", "North", "--territory", "Empty"), "nothing changed")
    differs = crm("add-rep", "ann", "--role", "admin")
    assert differs.exit_code == 2 and "set-role" in differs.stderr
    _ok(crm("remove-territory", "Solo"), "removed Solo")
    listed = crm("territories").stdout
    assert "North" in listed and "Europe" in listed and "ann" in listed
    _ok(crm("rename-territory", "North", "Nord"), "territory North is now Nord")
    _ok(crm("rename-territory", "North", "Nord"), "is Nord already")
    clash = crm("rename-territory", "Nord", "Europe")
    assert clash.exit_code == 2 and "territory 'Europe' exists already" in clash.stderr
    unknown = crm("rename-territory", "Mars", "Venus")
    assert unknown.exit_code == 1 and "no territory named 'Mars'" in unknown.stderr
    parent = crm("remove-territory", "Europe")
    assert parent.exit_code == 2 and "territories under it (Nord)" in parent.stderr
    _ok(crm("remove-territory", "Empty"), "removed Empty")
    _ok(crm("remove-territory", "Empty"), "nothing to remove")
    assert "Empty" not in crm("reps").stdout
    assert "Nord" in crm("reps").stdout

    _ok(crm("set-role", "ann", "manager"), "ann is now manager")
    _ok(crm("set-role", "ann", "manager"), "ann is manager already")
    bad = crm("set-role", "ann", "boss")
    assert bad.exit_code == 2 and "role must be one of" in bad.stderr
    assert crm("set-role", "zed", "rep").exit_code == 1
    _ok(crm("unassign", "ann", "Nord"), "ann no longer covers Nord")
    _ok(crm("unassign", "ann", "Nord"), "ann did not cover Nord")
    assert crm("unassign", "ann", "Mars").exit_code == 1
    _ok(crm("rename-rep", "ann", "anne"), "rep ann is now anne")
    _ok(crm("rename-rep", "ann", "anne"), "rep is anne already")
    assert crm("rename-rep", "anne", "bob").exit_code == 2
    reps = crm("reps").stdout
    assert "anne" in reps and "manager" in reps

    crm("issue-token", "anne", "--device", "laptop")
    live = crm("remove-rep", "anne")
    assert live.exit_code == 2 and "live devices" in live.stderr
    _ok(crm("revoke-token", "laptop"), "laptop revoked")
    _ok(crm("revoke-token", "laptop"), "was revoked already")
    _ok(crm("remove-rep", "anne"), "removed anne")
    _ok(crm("remove-rep", "anne"), "nothing to remove")
    assert "anne" not in crm("reps").stdout


def test_a_territory_holding_records_is_refused_until_they_move(crm: Crm, server_db: str) -> None:
    crm("add-territory", "North")
    crm("add-territory", "South")
    crm("add-rep", "root", "--role", "admin")
    token = crm("issue-token", "root", "--device", "root-laptop").stdout.strip()
    server = make_server(server_db, migrate=False)
    try:
        with TestClient(server) as http:
            http.headers["Authorization"] = f"Bearer {token}"
            ids = {str(r["name"]): str(r["id"]) for r in _territories(server_db)}
            row, ops = new_record("account", {"name": "Acme", "territory_id": ids["North"]})
            assert [r["status"] for r in push_ops(http, "root-db", ops)] == ["applied"] * 3
            held = crm("remove-territory", "North")
            assert held.exit_code == 2 and "still holds records (1 account)" in held.stderr
            assert "North" in crm("territories").stdout
            move = wire_op("account", row, "set", "territory_id", ids["South"])
            assert push_ops(http, "root-db", [move])[0]["status"] == "applied"
            _ok(crm("remove-territory", "North"), "removed North")
            # Every laptop hears of the removal.
            changes = http.get("/v1/pull", params={"cursor": 0}).json()["changes"]
            gone = [c for c in changes if c["row_id"] == ids["North"] and c["kind"] == "delete"]
            assert len(gone) == 1
            renamed = crm("rename-territory", "South", "Süd")
            assert renamed.exit_code == 0
            changes = http.get("/v1/pull", params={"cursor": 0}).json()["changes"]
            names = [
                c["value"] for c in changes if c["row_id"] == ids["South"] and c["field"] == "name"
            ]
            assert json.loads(names[-1]) == "Süd"
    finally:
        server.state.engine.dispose()


def _territories(db: str) -> list[dict[str, str | int | None]]:
    from crmtui.server.admin import territories
    from crmtui.server.db import make_server_engine

    engine = make_server_engine(db)
    try:
        return territories(engine)
    finally:
        engine.dispose()


def test_device_names_are_unique_per_rep_and_revocation_is_by_id(crm: Crm, server_db: str) -> None:
    crm("add-territory", "North")
    crm("add-rep", "ann", "--territory", "North")
    crm("add-rep", "bob", "--territory", "North")
    assert crm("issue-token", "ann", "--device", "laptop").exit_code == 0
    again = crm("issue-token", "ann", "--device", "laptop")
    assert again.exit_code == 2 and "live device named 'laptop'" in again.stderr
    assert crm("issue-token", "bob", "--device", "laptop").exit_code == 0  # another rep's
    both = crm("revoke-token", "laptop")
    assert both.exit_code == 1 and "2 live devices are named 'laptop'" in both.stderr
    assert "(ann)" in both.stderr and "(bob)" in both.stderr
    devices = crm("devices").stdout
    assert devices.count("laptop") == 2
    from crmtui.server.admin import devices as list_devices
    from crmtui.server.db import make_server_engine

    engine = make_server_engine(server_db)
    try:
        rows = list_devices(engine)
        assert all(r["revoked_at"] is None for r in rows)  # nothing revoked by the name
        ann = next(r["id"] for r in rows if r["rep"] == "ann")
        _ok(crm("revoke-token", str(ann)), "revoked")
        after = {r["rep"]: r["revoked_at"] for r in list_devices(engine)}
        assert after["ann"] is not None and after["bob"] is None
        # A revoked device's name may be used again: that is how a laptop is re-enrolled.
        assert crm("issue-token", "ann", "--device", "laptop").exit_code == 0
    finally:
        engine.dispose()
    assert crm("revoke-token", "nonesuch").exit_code == 1


def test_a_team_is_enrolled_in_one_transaction_with_each_reps_checks(
    crm: Crm, server_db: str
) -> None:
    from crmtui.server import admin
    from crmtui.server.db import make_server_engine

    crm("add-territory", "North")
    crm("add-territory", "South")
    engine = make_server_engine(server_db)
    try:
        ids = admin.add_reps(
            engine,
            [("ann", "rep", ["North"]), ("max", "manager", ["North", "South", "North"])],
        )
        issued = admin.issue_tokens(engine, [("ann", "laptop"), ("max", "laptop")])
        assert len(set(ids)) == 2 and len({i.token for i in issued}) == 2
        listed = {r["name"]: r for r in admin.reps(engine)}
        assert listed["max"]["role"] == "manager"
        assert {d["rep"] for d in admin.devices(engine)} == {"ann", "max"}
        # One refused rep creates none: the batch is one transaction.
        with pytest.raises(admin.AdminNotFound, match="no territory named 'East'"):
            admin.add_reps(engine, [("cy", "rep", ["North"]), ("di", "rep", ["East"])])
        with pytest.raises(admin.AlreadyThere):
            admin.add_reps(engine, [("cy", "rep", ["North"]), ("ann", "rep", ["North"])])
        with pytest.raises(admin.AdminError, match="named twice"):
            admin.add_reps(engine, [("cy", "rep", []), ("cy", "rep", [])])
        assert "cy" not in {r["name"] for r in admin.reps(engine)}
        with pytest.raises(admin.AdminError, match="live device named 'laptop'"):
            admin.issue_tokens(engine, [("max", "phone"), ("ann", "laptop")])
        assert len(admin.devices(engine)) == 2
    finally:
        engine.dispose()
    # The reps were published: the CLI lists them like reps added one by one.
    assert "max" in crm("reps").stdout
