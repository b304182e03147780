"""The scale-out rig: pushes through PgBouncer, pulls from a lagging standby, cursors exact.

The rig (scripts/rig.py) runs a PostgreSQL primary, a `pg_basebackup -R` hot standby
and PgBouncer in transaction pooling. The server's engine goes through PgBouncer
(prepared statements off, advisory locks transaction-scoped) and pulls read the
standby when it has replayed as far as the device's cursor. The standby's replay is
paused on purpose: a pull never skips or repeats a feed entry.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crmtui.server.app import READ_FROM_HEADER, make_server
from crmtui.server.pull import pull
from crmtui.sync.wire import PROTOCOL_HEADER, PROTOCOL_VERSION, PullResponse
from tests import rig_support
from tests.feed_support import Reader, Team, feed_for, new_contact, now_ms, op
from tests.rig_support import replay, rig_module

rig = rig_support.rig
rig_db = rig_support.rig_db

LIVENESS_S = 180


@pytest.fixture
def rig_app(rig: Any, rig_db: str) -> Iterator[FastAPI]:
    """The server over the rig: PgBouncer for everything, the standby for pulls."""
    app = make_server(rig.url("bouncer", rig_db), replica_url=rig.url("replica", rig_db))
    try:
        yield app
    finally:
        replay(rig, paused=False)
        app.state.engine.dispose()
        app.state.replica.dispose()


def _pull(client: TestClient, token: str, reader: Reader) -> str:
    """One HTTP pull page for `reader`; returns where it was read from."""
    answer = client.get(
        "/v1/pull",
        params={"cursor": reader.cursor, "limit": 500},
        headers={"Authorization": f"Bearer {token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    assert answer.status_code == 200, answer.text
    reader.take(PullResponse.model_validate(answer.json()))
    return str(answer.headers[READ_FROM_HEADER])


def _contacts(reader: Reader) -> set[str]:
    return {k[1] for k in reader.seen if k[0] == "contact"}


def test_a_lagging_standby_serves_only_what_it_replayed(rig: Any, rig_app: FastAPI) -> None:
    engine = rig_app.state.engine
    team = Team.make(engine)
    client = TestClient(rig_app)
    bob, mgr = Reader(team.who["bob"]), Reader(team.who["max"])
    first, ops = new_contact(team.territory["North"])
    team.push("ann", ops)
    rig_module().wait_replayed(rig)
    assert _pull(client, team.tokens["bob"], bob) == "replica"
    assert _contacts(bob) == {first}
    replay(rig, paused=True)
    second, ops = new_contact(team.territory["North"])
    pushed = team.push("ann", ops)
    assert pushed.feed is not None
    # The standby has not replayed the second contact: it answers up to its own head.
    before = bob.cursor
    assert _pull(client, team.tokens["bob"], bob) == "replica"
    assert bob.cursor == before
    assert _contacts(bob) == {first}
    # A device that already read further on the primary is not sent back by the standby.
    mgr.take(pull(engine, mgr.who, 0, 500, "0000000000000-00000"))
    assert mgr.cursor >= pushed.feed[1]
    at = mgr.cursor
    assert _pull(client, team.tokens["max"], mgr) == "primary"
    assert mgr.cursor == at
    third, ops = new_contact(team.territory["North"])
    team.push("bob", ops)
    replay(rig, paused=False)
    rig_module().wait_replayed(rig)
    while True:
        where = _pull(client, team.tokens["bob"], bob)
        assert where == "replica"
        if bob.cursor == mgr.cursor or _contacts(bob) == {first, second, third}:
            break
    assert _contacts(bob) == {first, second, third}
    assert set(bob.seqs) == feed_for(engine, team.who["bob"])
    assert set(bob.seqs.values()) == {1}


def test_writers_through_pgbouncer_and_readers_on_a_lagging_standby_miss_nothing(
    rig: Any, rig_app: FastAPI
) -> None:
    engine = rig_app.state.engine
    team = Team.make(engine)
    readers = {rep: Reader(team.who[rep]) for rep in ("bob", "max")}
    served: list[str] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def write(rep: str, territory: str) -> None:
        try:
            for i in range(12):
                row, ops = new_contact(team.territory[territory])
                ops.append(op(row, "set", fld="city", value=f"{rep}{i}"))
                answer = team.push(rep, ops)
                assert {r.status for r in answer.results} == {"applied"}
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    def read(rep: str) -> None:
        client = TestClient(rig_app)
        try:
            while not done.is_set():
                served.append(_pull(client, team.tokens[rep], readers[rep]))
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    def lag() -> None:
        rnd = random.Random(now_ms())
        try:
            while not done.is_set():
                replay(rig, paused=True)
                done.wait(rnd.uniform(0.2, 0.6))
                replay(rig, paused=False)
                done.wait(rnd.uniform(0.1, 0.3))
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    writers = [threading.Thread(target=write, args=a) for a in (("ann", "North"), ("sue", "South"))]
    others = [threading.Thread(target=read, args=(r,)) for r in readers] + [
        threading.Thread(target=lag)
    ]
    for th in writers + others:
        th.start()
    for th in writers:
        th.join(LIVENESS_S)
    done.set()
    for th in others:
        th.join(LIVENESS_S)
    assert not errors, errors
    replay(rig, paused=False)
    rig_module().wait_replayed(rig)
    client = TestClient(rig_app)
    for rep, reader in readers.items():
        expected = feed_for(engine, team.who[rep])
        while set(reader.seqs) != expected:
            before = reader.cursor
            _pull(client, team.tokens[rep], reader)
            assert reader.cursor > before or set(reader.seqs) == expected, "the cursor is stuck"
        assert set(reader.seqs.values()) == {1}, f"{rep} was sent an entry twice"
    assert "replica" in served
    assert len(_contacts(readers["max"])) == 24
    assert len(_contacts(readers["bob"])) == 12
