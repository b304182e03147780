"""A laptop never dies on a pulled change: a malformed one is held back, the rest applies.

The server refuses such values now, but an older one let them into its feed. They
are put into the feed here directly (as that server would have) and a second
laptop syncs: no traceback, the good changes arrive, each bad one is listed by
`crm conflicts` as quarantined, and `crm sync` exits 65.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crmtui.domain.ids import uuid7
from crmtui.server import admin
from crmtui.server.feed import PendingChange, lock_feed, write_changes
from crmtui.store.database import open_store
from crmtui.store.models import Contact
from crmtui.sync.conflicts import ConflictError, list_conflicts, restore
from tests.cli_commands import Ran
from tests.sync_support import BACKENDS, Team, hlc_now, make_team
from tests.test_sync_cli import _crm
from tests.test_sync_crash import live_server  # noqa: F401  (fixture)


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


BAD = {
    "name": "null",
    "tags": "5",
    "given_name": '"\\ud800"',
    "max_calls": str(2**70),
    "notes": "[" * 5000 + "]" * 5000,
    "do_not_call": '"maybe"',
}


def _inject(engine: Engine, territory: str) -> str:
    """A contact with good and bad values, written straight into the feed."""
    row = uuid7()
    changes = [PendingChange("create", "contact", row, None, None, hlc_now(), "old", territory)]
    good = {"name": '"Jane"', "city": '"York"'}
    for name, value in [*good.items(), *BAD.items()]:
        changes.append(
            PendingChange("set", "contact", row, name, value, hlc_now(), "old", territory)
        )
    with engine.begin() as conn:
        lock_feed(conn)
        write_changes(conn, changes)
    return row


def test_a_malformed_pulled_change_is_quarantined_and_the_rest_applies(team: Team) -> None:
    row = _inject(team.engine, team.north)
    store, token = team.laptop("bob")
    report = team.sync_client(store, token).sync()
    assert report.quarantined == len(BAD)
    assert all(row in line for line in report.held)
    with store.read() as s:
        got = s.get(Contact, row)
        assert got is not None and (got.name, got.city, got.tags) == ("Jane", "York", [])
    held = [c for c in list_conflicts(store) if c.kind == "quarantined"]
    assert {(c.entity, c.row_id, c.field) for c in held} == {("contact", row, f) for f in BAD}
    with pytest.raises(ConflictError, match="quarantined"):
        restore(store, held[0].id)
    # Held once: the next sync is clean, and the laptop still syncs.
    assert team.sync_client(store, token).sync().quarantined == 0


def test_crm_sync_reports_quarantined_values_and_exits_65(live_server, tmp_path: Path) -> None:  # noqa: F811
    url, engine = live_server
    north = admin.add_territory(engine, "North")
    admin.add_rep(engine, "bob", "rep", ["North"])
    token = admin.issue_token(engine, "bob", "bob-laptop").token
    row = _inject(engine, north)
    db = tmp_path / "bob.db"

    def crm(*args: str) -> Ran:
        return _crm(db, *args)

    assert crm("sync", "login", "--server", url, "--token", token).code == 0
    done = crm("sync")
    assert done.code == 65, done.err
    assert "Traceback" not in done.err
    assert f"quarantined: contact {row} name" in done.err
    listed = crm("conflicts", "--format", "json")
    assert listed.code == 0
    kinds = [r["kind"] for r in json.loads(listed.out)]
    assert kinds.count("quarantined") == len(BAD)
    again = crm("sync")
    assert again.code == 0, again.err
    store = open_store(db)
    try:
        with store.read() as s:
            assert s.get(Contact, row).name == "Jane"  # type: ignore[union-attr]
    finally:
        store.close()
