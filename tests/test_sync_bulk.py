"""The batched push path gives the same answers and server state as deciding op by op.

`apply_push` decides plain field sets without building `decide`'s inputs and
writes a batch's rows back at the end; `per_op=True` sends every op through
`decide` and writes each op's effects before the next one. Random batches (creates,
deletes, plain, consent, high-stakes, territory and owner fields, links, bad
values, duplicates, clamped clocks, every role) go to two servers with the same
starting state, one each way; the answers and every server table must be equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, insert, select, text

from crmtui.domain.hlc import HLC
from crmtui.server import tables as t
from crmtui.server.auth import Principal
from crmtui.server.db import make_server_engine, upgrade_server
from crmtui.server.push import apply_push
from crmtui.sync.wire import Op, PushRequest
from tests.budget import examples

NOW = 1_900_000_000_000
NORTH, SOUTH = "terr-north", "terr-south"
ROWS = {
    "contact": ["c1", "c2", "c3"],
    "deal": ["d1", "d2"],
    "activity": ["a1"],
    "pipeline": ["p1"],
    "territory": ["t1"],
}
PLAIN = {"contact": ["name", "city", "account_id"], "deal": ["name"], "activity": ["text"]}
SPECIAL = {
    "contact": ["do_not_call", "territory_id", "owner_id", "nope"],
    "deal": ["amount_minor", "stage_id", "territory_id", "contact_id"],
    "activity": ["contact_id"],
    "pipeline": ["name"],
    "territory": ["name"],
}
REQUIRED: dict[str, dict[str, object]] = {
    "contact": {"name": "C"},
    "deal": {"name": "D", "pipeline_id": "p1", "stage_id": "s1"},
    "activity": {"kind": "call", "occurred_at": "2026-12-07T10:00:00.000000Z"},
    "pipeline": {"name": "P"},
    "territory": {"name": "T"},
}
ADMIN = Principal("dev-admin", "admin", "r0", "root", "admin", frozenset(), None)
CLOCKS = [HLC(NOW - 5000 + ms, counter).encode() for ms in range(3) for counter in range(2)]
AHEAD = HLC(NOW + 10 * 365 * 86_400_000, 0).encode()
"""A clock ten years ahead: clamped by the server."""


def _values(entity: str, name: str) -> st.SearchStrategy[str | None]:
    if name == "territory_id":
        return st.sampled_from([json.dumps(NORTH), json.dumps(SOUTH), "null", None])
    if name == "do_not_call":
        return st.sampled_from(["true", "false"])
    if name in ("contact_id", "account_id"):
        return st.sampled_from([json.dumps(r) for r in ROWS["contact"]] + ["null"])
    return st.sampled_from(['"a"', '"b"', '"a"', "7", None, "{not json"])


@st.composite
def records(draw: st.DrawFn) -> list[Op]:
    """An admin's creates of some of the records, most in the rep's territory or none."""
    made = []
    for entity, ids in ROWS.items():
        for row_id in ids:
            if not draw(st.booleans()) and row_id not in ("c1", "d1"):
                continue
            made.append(
                Op(
                    op_id=f"new-{row_id}",
                    tx_id="tx-0",
                    hlc=CLOCKS[0],
                    entity=entity,
                    row_id=row_id,
                    op="create",
                )
            )
            # Every field a new record needs (the server refuses a create without them).
            for name, value in REQUIRED[entity].items():
                made.append(
                    Op(
                        op_id=f"need-{row_id}-{name.replace('_', '-')}",
                        tx_id="tx-0",
                        hlc=CLOCKS[0],
                        entity=entity,
                        row_id=row_id,
                        op="set",
                        field=name,
                        value=json.dumps(value),
                    )
                )
            if entity in ("contact", "deal"):
                where = draw(st.sampled_from([NORTH, NORTH, None, SOUTH]))
                made.append(
                    Op(
                        op_id=f"where-{row_id}",
                        tx_id="tx-0",
                        hlc=CLOCKS[0],
                        entity=entity,
                        row_id=row_id,
                        op="set",
                        field="territory_id",
                        value=json.dumps(where),
                    )
                )
    return made


@st.composite
def ops(draw: st.DrawFn, device: str) -> Op:
    """One op on a small pool of records, fields and clocks."""
    entity = draw(
        st.sampled_from(["contact", "contact", "deal", "activity", "pipeline", "territory"])
    )
    row_id = draw(st.sampled_from(ROWS[entity]))
    kind = draw(st.sampled_from(["create", "set", "set", "set", "set", "set", "set", "delete"]))
    name = value = None
    if kind == "set" or draw(st.integers(0, 30)) == 0:  # now and then a malformed create
        plain = PLAIN.get(entity, [])
        name = draw(st.sampled_from(plain * 3 + SPECIAL[entity]))
        value = draw(_values(entity, name))
    return Op(
        op_id=f"op-{draw(st.integers(0, 80))}",
        tx_id="tx-1",
        hlc=draw(st.sampled_from([*CLOCKS, AHEAD])),
        entity=entity,
        row_id=row_id,
        op=kind,  # type: ignore[arg-type]
        field=name,
        value=value,
        base_hlc=draw(st.sampled_from([None, *CLOCKS[:3]])),
        base_device=draw(st.sampled_from([None, "dev-admin", device])),
    )


def _principal(role: str) -> Principal:
    visible = {"rep": frozenset({NORTH}), "manager": frozenset({NORTH, SOUTH}), "admin": None}
    return Principal("dev-rep", "laptop", "r1", "ann", role, frozenset({NORTH}), visible[role])


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(insert(t.counter).values(id="feed", value=0))


def _state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every server table the push writes, in a stable order (conflict ids are random)."""
    kept = {
        t.row_scope: [t.row_scope.c.entity, t.row_scope.c.row_id],
        t.field_state: [t.field_state.c.entity, t.field_state.c.row_id, t.field_state.c.field],
        t.op_log: [t.op_log.c.op_id],
        t.change: [t.change.c.seq],
        t.conflict: [t.conflict.c.seq],
    }
    state = {}
    with engine.connect() as conn:
        for table, order in kept.items():
            columns = [c for c in table.columns if c.name != "id" or table is not t.conflict]
            state[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*order))]
    return state


def _push(engine: Engine, who: Principal, device: str, batch: list[Op], *, per_op: bool) -> Any:
    request = PushRequest(device_id=device, ops=batch)
    answer = apply_push(engine, who, request, NOW, "2030-01-01T00:00:00Z", per_op=per_op)
    return [r.model_dump() for r in answer.results], answer.server_hlc


@pytest.fixture(params=["sqlite", "pg"])
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two empty servers of the same kind: one for each path."""
    if request.param == "sqlite":
        pair = (
            make_server_engine(str(tmp_path / "batched.db")),
            make_server_engine(str(tmp_path / "per-op.db")),
        )
    else:
        url = str(request.getfixturevalue("pg_url"))
        first = make_server_engine(url)
        with first.begin() as conn:
            conn.execute(text("CREATE SCHEMA per_op"))
        # The same database, the second server's tables in a schema of their own.
        second = create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1),
            connect_args={"options": "-csearch_path=per_op"},
        )
        pair = (first, second)
    for engine in pair:
        upgrade_server(engine)
    yield pair
    for engine in pair:
        engine.dispose()


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    made=records(),
    seed=st.lists(ops("dev-admin"), max_size=25),
    batch=st.lists(ops("dev-rep"), min_size=15, max_size=60),
    role=st.sampled_from(["rep", "manager", "admin"]),
)
def test_batched_push_answers_and_stores_like_per_op(
    engines: tuple[Engine, Engine], made: list[Op], seed: list[Op], batch: list[Op], role: str
) -> None:
    batched, per_op = engines
    for engine in engines:
        _reset(engine)
        # The starting state: an admin's batch, the same on both servers.
        _push(engine, ADMIN, "dev-admin", made + seed, per_op=True)
    assert _state(batched) == _state(per_op)
    who = _principal(role)
    fast = _push(batched, who, "dev-rep", batch, per_op=False)
    slow = _push(per_op, who, "dev-rep", batch, per_op=True)
    assert fast == slow
    assert _state(batched) == _state(per_op)
