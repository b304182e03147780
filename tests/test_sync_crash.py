"""`kill -9` of a syncing client at random points: the file stays whole, nothing is lost or doubled.

The server runs in a thread of the test process (uvicorn, SQLite store); each sync
runs as a separate `crm sync` process that is killed after a random delay.
`bench/sync_crash.py` runs the same loop with more kills.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.app import make_server
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import open_store
from tests.budget import examples
from tests.journal_support import logical_journal
from tests.sync_support import RIG

KILLS = examples(20, least=5)  # 5 in CI, 20 under `make test-full`; bench/sync_crash.py: 100+


@pytest.fixture
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, object]]:
    # SQLite unless a test names another backend (indirect parametrisation).
    if getattr(request, "param", "sqlite") == RIG:
        rig = request.getfixturevalue("rig")
        name = request.getfixturevalue("rig_db")
        url = rig.url("bouncer", name)
        replica = rig.url("replica", name)
    else:
        url, replica = str(tmp_path / "server.db"), None
    app = make_server(url, replica_url=replica)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # readiness, not a timing assertion
        assert time.monotonic() < deadline, "the server did not start"
        thread.join(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", app.state.engine
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()
    if app.state.replica is not None:
        app.state.replica.dispose()


def _verify(db: Path, engine: object, ids: list[str]) -> set[str]:
    """Integrity, nothing pending, every op once on the server, same values; returns op ids."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        pending = con.execute("SELECT count(*) FROM journal WHERE pushed_at IS NULL").fetchone()[0]
        # The contract's op ids: a packed create stands for its create and field sets.
        mine = {
            r[0]
            for r in logical_journal(
                con, "device_id = (SELECT value FROM local_meta WHERE key='device_id')"
            )
        }
        local = dict(con.execute("SELECT id, city FROM contact"))
    finally:
        con.close()
    assert pending == 0
    with engine.connect() as conn:  # type: ignore[attr-defined]
        logged = list(conn.execute(select(t.op_log.c.op_id)).scalars())
        rows = set(
            conn.execute(
                select(t.row_scope.c.row_id).where(t.row_scope.c.entity == "contact")
            ).scalars()
        )
        cities = dict(
            conn.execute(
                select(t.field_state.c.row_id, t.field_state.c.value).where(
                    t.field_state.c.entity == "contact",  # not the address items' city
                    t.field_state.c.field == "city",
                )
            ).all()
        )
    assert len(logged) == len(set(logged))  # nothing doubled
    assert mine == set(logged)  # nothing lost: every op answered once
    assert rows == set(ids) == set(local)
    for cid, value in cities.items():
        assert f'"{local[cid]}"' == value
    return mine


def crash_loop(
    url: str, engine: object, tmp: Path, kills: int, seed: int, *, until_kills: int = 0
) -> dict[str, int]:
    """Edit, start a sync, kill it at a random point; repeat; then finish and check.

    Runs `kills` rounds, or with `until_kills` as many rounds as it takes (at most
    five times that many) for that many kills to land before the sync finished.
    """
    rng = random.Random(seed)
    admin.add_territory(engine, "North")  # type: ignore[arg-type]
    admin.add_rep(engine, "ann", "rep", ["North"])  # type: ignore[arg-type]
    token = admin.issue_token(engine, "ann", "laptop").token  # type: ignore[arg-type]
    db = tmp / "laptop.db"
    store = open_store(db)
    crm = [str(Path(sys.executable).with_name("crm")), "--db", str(db)]
    env = dict(os.environ)
    login = subprocess.run(
        [*crm, "sync", "login", "--server", url, "--token", token],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert login.returncode == 0, login.stderr
    # Kill after start-up (measured once) plus a random part of a sync, so the kills
    # land in the push, the pull, the local commits, not only in the imports.
    started = time.monotonic()
    subprocess.run([*crm, "sync", "--dry-run"], env=env, capture_output=True, check=True)
    startup = time.monotonic() - started
    ids: list[str] = []
    killed = 0
    round_ = -1
    while True:
        round_ += 1
        if until_kills:
            if killed >= until_kills or round_ >= 5 * until_kills:
                break
        elif round_ >= kills:
            break
        with store.write() as tx:
            for i in range(rng.randint(5, 40)):
                ids.append(
                    create_contact(tx=tx, data=ContactCreate(name=f"P{round_}-{i}"), region="DE").id
                )
            for cid in rng.sample(ids, min(5, len(ids))):
                update_contact(
                    tx=tx, contact_id=cid, data=ContactUpdate(city=f"c{round_}"), region="DE"
                )
        proc = subprocess.Popen(
            [*crm, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            proc.wait(timeout=startup * 0.8 + rng.uniform(0, 0.5))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed += 1
    final = subprocess.run([*crm, "sync"], env=env, capture_output=True, text=True, check=False)
    assert final.returncode == 0, final.stderr
    store.close()
    mine = _verify(db, engine, ids)
    return {"kills": killed, "ops": len(mine), "rounds": round_}


@pytest.mark.parametrize("live_server", ["sqlite", RIG], indirect=True)
def test_kill_9_during_sync_loses_and_doubles_nothing(live_server, tmp_path: Path) -> None:
    url, engine = live_server
    result = crash_loop(url, engine, tmp_path, KILLS, seed=7)
    assert result["ops"] > 0
