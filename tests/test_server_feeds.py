"""No global push lock: territories commit in parallel, readers' cursors stay exact.

On PostgreSQL a rep's push locks only its territories (crmtui.server.locks) and its
feed entries are numbered after commit (crmtui.server.feed.settle). These tests hold
one territory's push transaction open and commit another's meanwhile, and check a
manager reading several territories misses nothing while records move between them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from crmtui.server import push as push_module
from crmtui.server.db import make_server_engine, upgrade_server
from crmtui.server.locks import push_keys
from tests.feed_support import Reader, Team, feed_for, new_contact, op, server_values

LIVENESS_S = 120
"""How long a thread may take before the test calls it stuck (never a timing claim)."""


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_server_engine(pg_url, pool_size=12)
    upgrade_server(engine)
    yield engine
    engine.dispose()


def _waiting_for_lock(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        )


def _until(check: Any, what: str) -> None:
    end = time.monotonic() + LIVENESS_S
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


def test_lock_keys_follow_the_distribution_key(pg_engine: Engine) -> None:
    team = Team.make(pg_engine)
    ann, bob, sue, mgr = (team.who[r] for r in ("ann", "bob", "sue", "max"))
    assert set(push_keys(ann) or []) & set(push_keys(bob) or [])  # North is shared
    assert not set(push_keys(ann) or []) & set(push_keys(sue) or [])  # North vs South
    assert push_keys(mgr) is None  # a manager locks what its batch touches (push.py)


def test_a_territory_commits_while_another_territory_push_is_held_open(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = Team.make(pg_engine)
    entered, release = threading.Event(), threading.Event()
    original = push_module.bind_client

    def held(conn: Any, who: Any, client_id: str) -> None:
        original(conn, who, client_id)
        if who.rep_name == "ann":  # ann's transaction holds North's lock from here
            entered.set()
            assert release.wait(LIVENESS_S)

    monkeypatch.setattr(push_module, "bind_client", held)
    answers: dict[str, Any] = {}
    made: dict[str, str] = {}

    def push(rep: str, territory: str) -> None:
        made[rep], ops = new_contact(team.territory[territory])
        answers[rep] = team.push(rep, ops)

    try:
        _held_open(team, pg_engine, push, answers, made, (entered, release))
    finally:
        release.set()


def _held_open(
    team: Team,
    pg_engine: Engine,
    push: Any,
    answers: dict[str, Any],
    made: dict[str, str],
    events: tuple[threading.Event, threading.Event],
) -> None:
    entered, release = events

    ann = threading.Thread(target=push, args=("ann", "North"))
    ann.start()
    assert entered.wait(LIVENESS_S)
    sue = threading.Thread(target=push, args=("sue", "South"))
    sue.start()
    sue.join(LIVENESS_S)
    assert not sue.is_alive(), "a South push waited for a North push"
    assert ann.is_alive(), "ann's push was not held open"
    assert {r.status for r in answers["sue"].results} == {"applied"}
    # A manager reads South's commit now, while North's push is still open.
    manager = Reader(team.who["max"])
    manager.pull_all(pg_engine)
    assert {k[1] for k in manager.seen if k[0] == "contact"} == {made["sue"]}
    held_cursor = manager.cursor
    # bob works in North too: his push waits for ann's.
    bob = threading.Thread(target=push, args=("bob", "North"))
    bob.start()
    _until(lambda: _waiting_for_lock(pg_engine) >= 1, "bob's push waiting for North's lock")
    assert "bob" not in answers
    release.set()
    for th in (ann, bob):
        th.join(LIVENESS_S)
        assert not th.is_alive()
    for rep in ("ann", "bob"):
        assert {r.status for r in answers[rep].results} == {"applied"}
    # ann's entries were numbered after the manager's cursor although her push began first.
    manager.pull_all(pg_engine)
    assert manager.cursor > held_cursor
    assert set(manager.seqs) == feed_for(pg_engine, team.who["max"])
    assert set(manager.seqs.values()) == {1}


def test_a_managers_push_locks_only_the_territories_of_the_records_it_touches(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = Team.make(pg_engine)
    north, south = team.territory["North"], team.territory["South"]
    (c1, ops1), (c2, ops2) = new_contact(north), new_contact(north)
    assert {r.status for r in team.push("ann", ops1 + ops2).results} == {"applied"}
    entered, release = threading.Event(), threading.Event()
    original = push_module.bind_client

    def held(conn: Any, who: Any, client_id: str) -> None:
        original(conn, who, client_id)
        if who.rep_name == "max":  # max's transaction holds its territories' locks here
            entered.set()
            assert release.wait(LIVENESS_S)

    monkeypatch.setattr(push_module, "bind_client", held)
    answers: dict[str, Any] = {}

    def run(name: str, rep: str, ops: list[Any]) -> threading.Thread:
        th = threading.Thread(target=lambda: answers.__setitem__(name, team.push(rep, ops)))
        th.start()
        return th

    try:
        # 1. A manager's edit of a North record: South commits meanwhile, North waits.
        mgr = run("max-edit", "max", [op(c1, "set", fld="city", value="Hull")])
        assert entered.wait(LIVENESS_S)
        sue = run("sue-1", "sue", new_contact(south)[1])
        sue.join(LIVENESS_S)
        assert not sue.is_alive(), "a South push waited for a manager's North push"
        assert mgr.is_alive(), "the manager's push was not held open"
        bob = run("bob", "bob", [op(c2, "set", fld="city", value="York")])
        _until(lambda: _waiting_for_lock(pg_engine) >= 1, "bob's push waiting for North")
        assert "bob" not in answers
        release.set()
        for th in (mgr, bob):
            th.join(LIVENESS_S)
            assert not th.is_alive()
        # 2. A move North -> South locks both: a South push waits for it.
        entered.clear()
        release.clear()
        mgr = run("max-move", "max", [op(c1, "set", fld="territory_id", value=south)])
        assert entered.wait(LIVENESS_S)
        sue = run("sue-2", "sue", new_contact(south)[1])
        _until(lambda: _waiting_for_lock(pg_engine) >= 1, "sue's push waiting for the move")
        assert "sue-2" not in answers
        release.set()
        for th in (mgr, sue):
            th.join(LIVENESS_S)
            assert not th.is_alive()
    finally:
        release.set()
    for name in ("max-edit", "sue-1", "bob", "max-move", "sue-2"):
        assert {r.status for r in answers[name].results} == {"applied"}, name
    reader = Reader(team.who["sue"])
    reader.pull_all(pg_engine)
    # The moved record reached South with the manager's edit in it.
    assert reader.values[("contact", c1, "city")][1] == '"Hull"'
    assert set(reader.seqs) == feed_for(pg_engine, team.who["sue"])


def test_a_manager_push_that_touches_more_than_it_locked_is_redone_under_everything(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = Team.make(pg_engine)
    north, south = team.territory["North"], team.territory["South"]
    row, ops = new_contact(north)
    assert {r.status for r in team.push("ann", ops).results} == {"applied"}
    # As if the record had moved between the first read and the locks: nothing locked.
    monkeypatch.setattr(push_module, "_manager_territories", lambda *_a: frozenset())
    everything: list[bool] = []
    original = push_module.lock_for_push

    def spy(conn: Any, who: Any) -> bool:
        everything.append(who.rep_name == "max")
        return original(conn, who)

    monkeypatch.setattr(push_module, "lock_for_push", spy)
    answer = team.push("max", [op(row, "set", fld="territory_id", value=south)])
    assert [r.status for r in answer.results] == ["applied"]
    assert everything == [True]  # the second attempt took the everything lock
    with pg_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT territory_id FROM srv_row WHERE row_id = :r"), {"r": row}
            ).scalar_one()
            == south
        )
        # The first attempt was rolled back: one removal, one snapshot, not two.
        removals = conn.execute(
            text("SELECT count(*) FROM sync_change WHERE row_id = :r AND kind = 'removal'"),
            {"r": row},
        ).scalar_one()
    assert removals == 1


def test_push_answers_name_their_own_feed_range(pg_engine: Engine) -> None:
    team = Team.make(pg_engine)
    _row, ops = new_contact(team.territory["North"])
    answer = team.push("ann", ops)
    assert answer.feed is not None
    first, last = answer.feed
    with pg_engine.connect() as conn:
        mine = conn.execute(
            text("SELECT seq FROM sync_change WHERE op_id = ANY(:ids) ORDER BY seq"),
            {"ids": [o.op_id for o in ops]},
        ).scalars()
        assert list(mine) == list(range(first, last + 1))
    assert team.push("ann", ops).feed is None  # a retry draws nothing


def test_a_manager_misses_nothing_while_records_move_between_territories(
    pg_engine: Engine,
) -> None:
    team = Team.make(pg_engine)
    north, south = team.territory["North"], team.territory["South"]
    rows = {"ann": [], "sue": []}  # type: dict[str, list[str]]
    for rep, where in (("ann", north), ("sue", south)):
        for _ in range(4):
            row, ops = new_contact(where)
            assert {r.status for r in team.push(rep, ops).results} == {"applied"}
            rows[rep].append(row)
    done = threading.Event()
    errors: list[BaseException] = []
    manager = Reader(team.who["max"])
    statuses: list[str] = []

    def edit(rep: str) -> None:
        rnd = random.Random(rep)
        try:
            for i in range(30):
                row = rnd.choice(rows["ann"] + rows["sue"])
                answer = team.push(rep, [op(row, "set", fld="city", value=f"{rep}{i}")])
                statuses.extend(r.status for r in answer.results)
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    def move() -> None:
        rnd = random.Random("max")
        try:
            for _ in range(12):
                row = rnd.choice(rows["ann"] + rows["sue"])
                where = rnd.choice([north, south])
                team.push("max", [op(row, "set", fld="territory_id", value=where)])
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                manager.pull_all(pg_engine)
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    threads = [
        threading.Thread(target=f, args=a)
        for f, a in ((edit, ("ann",)), (edit, ("sue",)), (move, ()))
    ]
    reader = threading.Thread(target=read)
    reader.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join(LIVENESS_S * 3)
    done.set()
    reader.join(LIVENESS_S)
    assert not errors, errors
    manager.pull_all(pg_engine)
    # Every entry the manager may read came exactly once, in a cursor that never went back.
    assert set(manager.seqs) == feed_for(pg_engine, team.who["max"])
    assert set(manager.seqs.values()) == {1}
    assert "applied" in statuses
    # What the manager holds is the server's state, field by field.
    held = {k: v for k, (_hlc, v) in manager.values.items() if k[0] == "contact"}
    assert held == {k: v for k, v in server_values(pg_engine).items() if k[0] == "contact"}
