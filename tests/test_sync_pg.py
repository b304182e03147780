"""PostgreSQL: many writers committing out of order while readers pull; none may miss an op."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import admin
from crmtui.server.auth import authenticate
from crmtui.server.db import make_server_engine, upgrade_server
from crmtui.server.pull import pull
from crmtui.server.push import apply_push
from crmtui.sync.wire import Op, PushRequest

WRITERS = 8
READERS = 4
BATCHES = 25
OPS_PER_BATCH = 8


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_server_engine(pg_url, pool_size=WRITERS + READERS + 2)
    upgrade_server(engine)
    yield engine
    engine.dispose()


def _now() -> int:
    return time.time_ns() // 1_000_000


def test_concurrent_writers_and_pulling_readers_miss_nothing(pg_engine: Engine) -> None:  # noqa: PLR0915
    admin.add_territory(pg_engine, "T")
    admin.add_rep(pg_engine, "w", "admin", [])
    tokens = [admin.issue_token(pg_engine, "w", f"dev{i}").token for i in range(WRITERS + 1)]
    with pg_engine.connect() as conn:
        writers = [authenticate(conn, tok) for tok in tokens[:WRITERS]]
        reader_who = authenticate(conn, tokens[WRITERS])
    assert all(writers) and reader_who
    expected: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()
    errors: list[BaseException] = []

    def write(index: int) -> None:
        who = writers[index]
        assert who is not None
        device = uuid7()
        try:
            for _ in range(BATCHES):
                ops = []
                for _ in range(OPS_PER_BATCH):
                    row = uuid7()
                    tx = uuid7()
                    hlc = HLC(_now(), 0).encode()
                    ops.append(
                        Op(
                            op_id=uuid7(),
                            tx_id=tx,
                            hlc=hlc,
                            entity="contact",
                            row_id=row,
                            op="create",
                        )
                    )
                    ops.append(
                        Op(
                            op_id=uuid7(),
                            tx_id=tx,
                            hlc=hlc,
                            entity="contact",
                            row_id=row,
                            op="set",
                            field="name",
                            value=json.dumps(row),
                        )
                    )
                    with lock:
                        expected.add(row)
                answer = apply_push(
                    pg_engine, who, PushRequest(device_id=device, ops=ops), _now(), "t"
                )
                assert {r.status for r in answer.results} == {"applied"}
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    seen: list[dict[str, int]] = [{} for _ in range(READERS)]

    def read(index: int) -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()
                page = pull(pg_engine, reader_who, cursor, 500, HLC(_now(), 0).encode())
                for c in page.changes:
                    if c.entity == "contact" and c.kind == "set" and c.field == "name":
                        seen[index][c.row_id] = seen[index].get(c.row_id, 0) + 1
                cursor = page.cursor
                if finished and not page.has_more:
                    return
        except Exception as exc:  # noqa: BLE001 (asserted empty in the main thread)
            errors.append(exc)

    readers = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    writer_threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for th in readers + writer_threads:
        th.start()
    for th in writer_threads:
        th.join()
    done.set()
    for th in readers:
        th.join()
    assert not errors, errors
    assert len(expected) == WRITERS * BATCHES * OPS_PER_BATCH
    for got in seen:
        assert set(got) == expected  # 0 missed
        assert set(got.values()) == {1}  # 0 duplicated
