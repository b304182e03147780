"""`crm server` administration from the shell (SQLite store)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.server.auth import hash_token
from crmtui.server.db import make_server_engine


def test_admin_commands_enrol_and_revoke_a_device(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "server.db")

    def crm(*args: str) -> str:
        result = runner.invoke(app, ["server", *args, "--db", db])
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    crm("init")
    crm("add-territory", "Europe")
    crm("add-territory", "North", "--parent", "Europe")
    crm("add-rep", "ann", "--role", "rep", "--territory", "North")
    token = crm("issue-token", "ann", "--device", "ann-laptop")
    assert len(token) >= 40
    engine = make_server_engine(db)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_sha256 FROM srv_device").scalar_one()
    assert stored == hash_token(token) and token not in stored  # only the hash is kept
    assert "ann-laptop" in crm("devices")
    crm("revoke-token", "ann-laptop")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT revoked_at FROM srv_device").scalar_one()
    engine.dispose()
    bad = runner.invoke(app, ["server", "add-rep", "bob", "--role", "boss", "--db", db])
    assert bad.exit_code == 2 and "role must be one of" in bad.output
    unknown = runner.invoke(app, ["server", "add-rep", "bob", "--territory", "Mars", "--db", db])
    assert unknown.exit_code == 1 and "no territory named 'Mars'" in unknown.output
    workers = runner.invoke(app, ["server", "run", "--workers", "2", "--db", db])
    assert workers.exit_code == 2 and "need PostgreSQL" in workers.output
