"""`crm sync` from the shell against a live server: enrol, sync, exit codes, rescue file."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crmtui.server import admin
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.sync.client import pending_count
from tests.cli_commands import Ran, run
from tests.test_sync_crash import live_server  # noqa: F401  (fixture)


def _crm(db: Path, *args: str) -> Ran:
    # In-process (the commands' own code, exit codes and messages): starting `crm` as a
    # process cost seconds a call and is not what these tests are about.
    ran = run(["--db", str(db), *args])
    assert ran.error is None, f"crm {' '.join(args)} let {ran.error!r} escape (a traceback)"
    return ran


@contextmanager
def _refusing_port() -> Iterator[int]:
    """A port that refuses connections for as long as the block runs.

    Bound and never listening: no other test (another xdist worker's server on port 0)
    can take it in the meantime, as it could a port closed right after it was found.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def test_enrol_sync_then_network_error_and_unknown_device(live_server, tmp_path: Path) -> None:  # noqa: F811
    url, engine = live_server
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    token = admin.issue_token(engine, "ann", "ann-laptop").token
    db = tmp_path / "ann.db"
    assert _crm(db, "sync").code == 3  # no database yet: `sync` does not make one
    assert _crm(db, "db", "upgrade").code == 0
    assert _crm(db, "sync").code == 2  # not enrolled yet
    login = _crm(db, "sync", "login", "--server", url, "--token", token)
    assert login.code == 0, login.err
    store = open_store(db)
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
    dry = _crm(db, "sync", "--dry-run")
    # Changed records (one new contact), then the field operations a push would send.
    assert dry.out.split() == ["contact", "1"]
    assert f"({pending_count(store)} field operations)" in dry.err
    done = _crm(db, "sync")
    assert done.code == 0, done.err
    assert "PUSHED" in done.out and pending_count(store) == 0
    # Network error: everything stays pending, exit 75.
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Joe"), region="DE")
    pending = pending_count(store)
    with _refusing_port() as port:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE local_meta SET value = ? WHERE key = 'sync_server'",
                (f"http://127.0.0.1:{port}",),
            )
        offline = _crm(db, "sync")
    assert offline.code == 75 and "stays pending" in offline.err
    assert pending_count(store) == pending
    # Unknown device: a rescue file, nothing discarded without --discard.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE local_meta SET value = ? WHERE key = 'sync_server'", (url,))
    admin.revoke_token(engine, "ann-laptop")
    refused = _crm(db, "sync")
    assert refused.code == 77, refused.err
    rescue = Path(refused.err.split("saved to ")[1].split(" ")[0])
    header, *saved = [json.loads(line) for line in rescue.read_text().splitlines()]
    assert header["crmtui_rescue"] == 1  # names the database, for `crm sync rescue replay`
    assert len(saved) == pending == pending_count(store)
    assert f"{pending} pending op(s) saved to" in refused.err
    dropped = _crm(db, "sync", "--discard")
    assert dropped.code == 77 and "discarded" in dropped.err
    assert pending_count(store) == 0
    status = _crm(db, "sync", "status")
    assert "pending\t0" in status.out
    store.close()


def _activity_reps(db: Path) -> list[str | None]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT rep_id FROM activity ORDER BY occurred_at")]
    finally:
        con.close()


def test_activities_are_logged_as_the_enrolled_rep(live_server, tmp_path: Path) -> None:  # noqa: F811
    url, engine = live_server
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    db = tmp_path / "ann.db"
    assert _crm(db, "db", "upgrade").code == 0
    added = _crm(db, "log", "note", "Jane Roe", "not enrolled yet", "--create")
    assert added.code == 0, added.err
    token = admin.issue_token(engine, "ann", "ann-laptop").token
    assert _crm(db, "sync", "login", "--server", url, "--token", token).code == 0
    # The CRM's own rep record named like the enrolled rep is "me" from now on.
    assert _crm(db, "territory", "add-rep", "ann").code == 0
    assert _crm(db, "log", "note", "Jane Roe", "enrolled").code == 0
    ann_id = sqlite3.connect(db).execute("SELECT id FROM rep WHERE name = 'ann'").fetchone()[0]
    assert _activity_reps(db) == [None, ann_id]


def test_a_revoked_laptop_is_re_enrolled_with_a_new_token(live_server, tmp_path: Path) -> None:  # noqa: F811
    url, engine = live_server
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    admin.add_rep(engine, "bob", "rep", ["North"])
    first = admin.issue_token(engine, "ann", "ann-laptop")
    db = tmp_path / "ann.db"
    assert _crm(db, "sync", "login", "--server", url, "--token", first.token).code == 0
    store = open_store(db)
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
    assert _crm(db, "sync").code == 0
    # The laptop is revoked (lost, say, then found); its edits wait.
    assert admin.revoke_token(engine, first.device_id)
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Joe"), region="DE")
    assert _crm(db, "sync").code == 77
    # A token of another rep cannot take this database over.
    other = admin.issue_token(engine, "bob", "bob-laptop").token
    assert _crm(db, "sync", "login", "--server", url, "--token", other).code == 0
    refused = _crm(db, "sync")
    assert refused.code == 77 and "another rep" in refused.err
    # A new token for ann: login, then every sync works and nothing was lost.
    second = admin.issue_token(engine, "ann", "ann-laptop")
    login = _crm(db, "sync", "login", "--server", url, "--token", second.token)
    assert login.code == 0, login.err
    done = _crm(db, "sync")
    assert done.code == 0, done.err
    assert pending_count(store) == 0
    assert _crm(db, "sync").code == 0
    with engine.connect() as conn:
        names = conn.exec_driver_sql(
            "SELECT value FROM srv_field WHERE entity = 'contact' AND field = 'name'"
        ).scalars()
        assert sorted(names) == ['"Jane"', '"Joe"']
        bound = conn.exec_driver_sql(
            "SELECT id FROM srv_device WHERE client_id IS NOT NULL"
        ).scalars()
        assert list(bound) == [second.device_id]
    # The old token stays dead.
    old = _crm(db, "sync", "login", "--server", url, "--token", first.token)
    assert old.code == 77
    store.close()
