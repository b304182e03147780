"""The server's API on both stores: auth everywhere, limits, the authorization matrix,
exactly-once under lost responses, and clock skew."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.server.admin import issue_token, revoke_token
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID, DEFAULT_STAGES
from crmtui.store.models import Contact
from crmtui.sync.client import NetworkError, UnknownDevice, pending_count
from crmtui.sync.merge import MAX_CLOCK_SKEW_MS
from tests.sync_support import BACKENDS, RIG_BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


# The default pipeline: a link must name a record the server knows (every replica has it).
PIPELINE, STAGE = DEFAULT_PIPELINE_ID, DEFAULT_STAGES[0].id
"""A deal needs both, and they must name records the server knows."""


def _hlc(offset_ms: int = 0) -> str:
    return HLC(time.time_ns() // 1_000_000 + offset_ms, 0).encode()


def _new_deal_ops(territory: str | None, entity: str = "deal") -> tuple[str, list[dict]]:
    row = uuid7()
    tx = uuid7()
    ops = [
        {
            "op_id": uuid7(),
            "tx_id": tx,
            "hlc": _hlc(),
            "entity": entity,
            "row_id": row,
            "op": "create",
        }
    ]
    values = (
        {
            "name": '"D"',
            "territory_id": json.dumps(territory),
            "pipeline_id": json.dumps(PIPELINE),
            "stage_id": json.dumps(STAGE),
        }
        if entity == "deal"
        else {"name": '"T"'}
    )
    for field, value in values.items():
        ops.append(
            {
                "op_id": uuid7(),
                "tx_id": tx,
                "hlc": _hlc(),
                "entity": entity,
                "row_id": row,
                "op": "set",
                "field": field,
                "value": value,
            }
        )
    return row, ops


def _push(http: httpx.Client, device: str, ops: list[dict]) -> list[dict]:
    r = http.post("/v1/push", json={"device_id": device, "ops": ops})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def _server_knows(team: Team, row: str) -> int:
    with team.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(t.field_state).where(t.field_state.c.row_id == row)
        ).scalar()
        m = conn.execute(
            # The op log's rows (kind `logged`, answers only) are not a change.
            select(func.count())
            .select_from(t.change)
            .where(t.change.c.row_id == row, t.change.c.kind != t.LOGGED)
        ).scalar()
        k = conn.execute(
            select(func.count()).select_from(t.row_scope).where(t.row_scope.c.row_id == row)
        ).scalar()
    return int(n or 0) + int(m or 0) + int(k or 0)


def test_every_v1_endpoint_needs_a_live_token(team: Team) -> None:
    anon = httpx.Client(transport=team.transport(), base_url="http://testserver")
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/readyz").json()["status"] == "ok"
    for method, path in (("GET", "/v1/whoami"), ("GET", "/v1/pull"), ("POST", "/v1/push")):
        assert anon.request(method, path, json={}).status_code == 401
        bad = anon.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
    issued = issue_token(team.engine, "ann", "old-laptop")
    http = team.http(issued.token)
    assert http.get("/v1/whoami").json()["rep_name"] == "ann"
    revoke_token(team.engine, "old-laptop")
    assert http.get("/v1/whoami").status_code == 401
    anon.close()


def test_a_body_that_is_not_json_gets_a_422_in_the_schema_s_shape(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    for body in (b"\xfe[\xcf\x9e.c:", b"[" * 40 + b"]" * 40):
        answer = http.post("/v1/push", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422
        ((problem,),) = [answer.json()["detail"]]
        assert problem["loc"] == ["body"] and "is not JSON" in problem["msg"]


def test_oversized_bodies_and_batches_are_refused(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    huge = b"x" * (8 * 1024 * 1024 + 1)
    assert (
        http.post(
            "/v1/push", content=huge, headers={"content-type": "application/json"}
        ).status_code
        == 413
    )
    ops = _new_deal_ops(team.north)[1] * 400  # 1200 ops: over the batch bound
    assert http.post("/v1/push", json={"device_id": uuid7(), "ops": ops}).status_code == 422


ROLES = {"ann": "North", "sue": "South", "max": "Region", "root": None}
CAN_WRITE = {
    "ann": {"North"},
    "sue": {"South"},
    "max": {"North", "South", "Region"},
    "root": {"North", "South", "Region"},
}


def test_authorization_matrix(team: Team) -> None:
    territory_ids = {"North": team.north, "South": team.south, "Region": team.region}
    devices = {}
    for rep in ROLES:
        _, token = team.laptop(rep)
        devices[rep] = (team.http(token), uuid7())
    made: dict[str, str] = {}
    for rep, (http, device) in devices.items():
        for name, tid in territory_ids.items():
            row, ops = _new_deal_ops(tid)
            statuses = {r["status"] for r in _push(http, device, ops)}
            if name in CAN_WRITE[rep]:
                assert statuses == {"applied"}, (rep, name)
                made[f"{rep}:{name}"] = row
            else:
                assert statuses == {"rejected"}, (rep, name, statuses)
                assert _server_knows(team, row) == 0  # a denied write changes nothing
        # Territories are the admin's; pipelines need a manager.
        row, ops = _new_deal_ops(None, entity="territory")
        expect = "applied" if rep == "root" else "rejected"
        assert {r["status"] for r in _push(http, device, ops)} == {expect}
    # Reads: each rep pulls exactly the deals in the territories they may see.
    for rep, (http, _) in devices.items():
        rows = {
            c["row_id"]
            for c in http.get("/v1/pull", params={"limit": 5000}).json()["changes"]
            if c["entity"] == "deal"
        }
        visible = {k.split(":")[1] for k, v in made.items() if v in rows}
        assert visible == CAN_WRITE[rep], rep
    # A rep cannot edit or move a record outside, nor move one out of, their territories.
    ann, ann_dev = devices["ann"]
    south_deal = made["sue:South"]
    north_deal = made["ann:North"]
    for row, value in ((south_deal, '"hijack"'), (north_deal, None)):
        op = {
            "op_id": uuid7(),
            "tx_id": uuid7(),
            "hlc": _hlc(),
            "entity": "deal",
            "row_id": row,
            "op": "set",
        }
        op |= (
            {"field": "name", "value": value}
            if value
            else {"field": "territory_id", "value": json.dumps(team.south)}
        )
        assert _push(ann, ann_dev, [op])[0]["status"] == "rejected"
    # A manager moves a deal North -> South: Ann is told it left her scope.
    mx, mx_dev = devices["max"]
    cursor = ann.get("/v1/pull", params={"limit": 5000}).json()["cursor"]
    move = {
        "op_id": uuid7(),
        "tx_id": uuid7(),
        "hlc": _hlc(),
        "entity": "deal",
        "row_id": north_deal,
        "op": "set",
        "field": "territory_id",
        "value": json.dumps(team.south),
    }
    assert _push(mx, mx_dev, [move])[0]["status"] == "applied"
    page = ann.get("/v1/pull", params={"cursor": cursor}).json()
    assert [(r["kind"], r["row_id"]) for r in page["removals"]] == [("removal", north_deal)]
    assert all(c["row_id"] != north_deal for c in page["changes"])
    sue, _ = devices["sue"]
    assert north_deal in {c["row_id"] for c in sue.get("/v1/pull").json()["changes"]}


def _set_op(entity: str, row: str, field: str, value: str | None) -> dict:
    return {
        "op_id": uuid7(),
        "tx_id": uuid7(),
        "hlc": _hlc(),
        "entity": entity,
        "row_id": row,
        "op": "set",
        "field": field,
        "value": value,
    }


def _owner(team: Team, row: str) -> tuple[str | None, str | None]:
    """The deal's owner as the server holds it: (field value, scope row's owner)."""
    with team.engine.connect() as conn:
        value = conn.execute(
            select(t.field_state.c.value).where(
                t.field_state.c.row_id == row, t.field_state.c.field == "owner_id"
            )
        ).scalar()
        scoped = conn.execute(
            select(t.row_scope.c.owner_id).where(t.row_scope.c.row_id == row)
        ).scalar()
    return value, scoped


def test_owner_changes_are_decided_by_the_server(team: Team) -> None:
    with team.engine.connect() as conn:
        ids = dict(conn.execute(select(t.rep.c.name, t.rep.c.id)).all())
    devices = {}
    for rep in ("ann", "sue", "max", "root"):
        _, token = team.laptop(rep)
        devices[rep] = (team.http(token), uuid7())
    ann, ann_dev = devices["ann"]
    deal, ops = _new_deal_ops(team.north)
    # Handing a new deal to a rep of another territory: the deal is made, the owner is not.
    ops.append(_set_op("deal", deal, "owner_id", json.dumps(ids["sue"])))
    results = _push(ann, ann_dev, ops)
    assert [r["status"] for r in results] == ["applied"] * 5 + ["rejected"]
    assert "territory" in results[-1]["reason"]
    assert _owner(team, deal) == (None, None)
    # (who, new owner, allowed): reps and managers keep ownership with people who
    # work in the deal's territory (North); an admin names anyone; a known rep only.
    cases = [
        ("ann", "bob", True),  # gives it to a teammate
        ("ann", "ann", True),  # takes it
        ("ann", "sue", False),  # South
        ("ann", "max", True),  # the manager of Region covers North
        ("ann", "nobody", False),  # no such rep
        ("ann", None, True),  # unassigns it
        ("sue", "sue", False),  # the deal is outside her territories
        ("max", "bob", True),
        ("max", "sue", False),
        ("root", "sue", True),
        ("root", "nobody", False),
    ]
    expected: str | None = None
    for who, owner, allowed in cases:
        http, device = devices[who]
        owner_id = ids.get(owner, uuid7()) if owner else None
        value = json.dumps(owner_id)
        result = _push(http, device, [_set_op("deal", deal, "owner_id", value)])[0]
        assert result["status"] == ("applied" if allowed else "rejected"), (who, owner, result)
        if allowed:
            expected = owner_id
        # A denied change leaves the field and the scope row as they were.
        stored, scoped = _owner(team, deal)
        assert (json.loads(stored) if stored else None, scoped) == (expected, expected)


class Faulty(httpx.BaseTransport):
    """Forwards requests, failing the first push in a chosen way."""

    def __init__(self, inner: httpx.BaseTransport, mode: str) -> None:
        self.inner = inner
        self.mode = mode
        self.armed = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not (self.armed and request.url.path == "/v1/push"):
            return self.inner.handle_request(request)
        self.armed = False
        if self.mode == "before-send":
            raise httpx.ConnectError("cut before send", request=request)
        response = self.inner.handle_request(request)
        body = response.read()
        if self.mode == "after-commit":
            raise httpx.ReadError("cut after the server committed", request=request)
        return httpx.Response(
            response.status_code,
            headers={"content-type": "application/json"},
            content=body[: len(body) // 2],
            request=request,
        )


@pytest.mark.parametrize("team", RIG_BACKENDS, indirect=True)
@pytest.mark.parametrize("mode", ["before-send", "after-commit", "mid-response"])
def test_lost_responses_apply_every_op_exactly_once(team: Team, mode: str) -> None:
    store, token = team.laptop("ann")
    team.sync_client(store, token).sync()
    with store.write() as tx:
        for i in range(30):
            c = create_contact(tx=tx, data=ContactCreate(name=f"Person {i}"), region="DE")
        update_contact(tx=tx, contact_id=c.id, data=ContactUpdate(city="Bonn"), region="DE")
    pending = pending_count(store)
    with sqlite3.connect(store.path) as db:  # the 30 contacts and the address Bonn made
        (creates,) = db.execute(
            "SELECT count(*) FROM journal WHERE op = 'create' AND pushed_at IS NULL"
        ).fetchone()
    faulty = None

    def wrap(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        nonlocal faulty
        faulty = Faulty(inner, mode)
        return faulty

    with pytest.raises(NetworkError):
        team.sync_client(store, token, batch=1000, wrap=wrap).sync()
    assert pending_count(store) == pending  # nothing marked pushed without an answer
    report = team.sync_client(store, token, batch=1000).sync()
    assert pending_count(store) == 0 and report.pushed == pending
    with team.engine.connect() as conn:
        logged = conn.execute(
            select(func.count()).select_from(t.op_log).where(t.op_log.c.op_id.is_not(None))
        ).scalar()
        sets = conn.execute(
            select(t.change.c.row_id, t.change.c.field, func.count())
            # The laptop's records (not the team's published reps and territories).
            .where(t.change.c.kind == "set", t.change.c.device_id != "server")
            .group_by(t.change.c.entity, t.change.c.row_id, t.change.c.field)
        ).all()
    assert logged == pending
    assert all(n == 1 for _, field, n in sets if field != "city")  # each value once in the feed
    assert sum(n for *_, n in sets) == pending - creates  # every set op, once; creates are not sets


def test_a_clock_a_year_ahead_cannot_win_beyond_the_clamp(team: Team) -> None:
    fast, fast_token = team.laptop("ann")
    # Her second laptop: an unplaced contact is seen by its creator (and managers) only.
    slow, slow_token = team.laptop("ann", "ann-desktop")
    for s, tok in ((fast, fast_token), (slow, slow_token)):
        team.sync_client(s, tok).sync()
    with fast.write() as tx:
        c = create_contact(tx=tx, data=ContactCreate(name="Skew"), region="DE")
    team.sync_client(fast, fast_token).sync()
    team.sync_client(slow, slow_token).sync()
    year = 365 * 24 * 3600 * 1000
    with fast.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE local_meta SET value = ? WHERE key = 'hlc'", (_hlc(year),))
    with fast.write() as tx:
        update_contact(tx=tx, contact_id=c.id, data=ContactUpdate(city="Future"), region="DE")
    team.sync_client(fast, fast_token).sync()
    with team.engine.connect() as conn:
        stored = conn.execute(
            select(t.field_state.c.hlc).where(
                t.field_state.c.row_id == c.id, t.field_state.c.field == "city"
            )
        ).scalar_one()
    assert HLC.decode(stored).millis <= time.time_ns() // 1_000_000 + MAX_CLOCK_SKEW_MS
    # An edit made a little past the clamp window (simulated) wins over the year-ahead one.
    with slow.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE local_meta SET value = ? WHERE key = 'hlc'", (_hlc(MAX_CLOCK_SKEW_MS + 60_000),)
        )
    with slow.write() as tx:
        update_contact(tx=tx, contact_id=c.id, data=ContactUpdate(city="Now"), region="DE")
    team.sync_client(slow, slow_token).sync()
    team.sync_client(fast, fast_token).sync()
    for s in (fast, slow):
        with s.read() as session:
            assert session.get(Contact, c.id).city == "Now"  # type: ignore[union-attr]


def test_an_unknown_device_is_told_so(team: Team) -> None:
    store, token = team.laptop("ann")
    revoke_token(team.engine, "ann-0")
    with pytest.raises(UnknownDevice):
        team.sync_client(store, token).sync()


SCOPE_MOVES = {
    # action: the roles it is applied for (refused for the others)
    "unplace a North deal": {"max", "root"},
    "move a North deal to South": {"max", "root"},
    "move a North deal to Region": {"max", "root"},
    "place another rep's unplaced contact in North": {"max", "root"},
    "create a pipeline (reference data)": {"root"},
    "rename a default stage (reference data)": set(),  # not on the server: no record there
    "rename a pipeline (reference data)": {"root"},
    "create a territory (server-managed)": {"root"},
}


def test_authorization_matrix_scope_moves(team: Team) -> None:
    """Reps cannot unplace or move records; managers can; reference data is the admin's."""
    devices = {}
    for rep in ("ann", "bob", "max", "root"):
        _, token = team.laptop(rep)
        devices[rep] = (team.http(token), uuid7())
    bob, bob_dev = devices["bob"]
    root, root_dev = devices["root"]
    pipeline, ops = _new_deal_ops(None, entity="pipeline")
    assert {r["status"] for r in _push(root, root_dev, ops)} == {"applied"}
    seen: dict[str, set[str]] = {action: set() for action in SCOPE_MOVES}
    for rep in ("ann", "max", "root"):
        http, device = devices[rep]
        for action in SCOPE_MOVES:
            if "deal" in action:
                row, ops = _new_deal_ops(team.north)
                assert {r["status"] for r in _push(http, device, ops)} == {"applied"}
                target = {"unplace": None, "to South": team.south, "to Region": team.region}
                value = next(v for k, v in target.items() if k in action)
                op = _set_op("deal", row, "territory_id", json.dumps(value))
                answers = _push(http, device, [op])
            elif "contact" in action:
                row, ops = _new_deal_ops(None, entity="contact")
                assert {r["status"] for r in _push(bob, bob_dev, ops)} == {"applied"}
                op = _set_op("contact", row, "territory_id", json.dumps(team.north))
                answers = _push(http, device, [op])
            elif action.startswith("create"):
                entity = "pipeline" if "pipeline" in action else "territory"
                _, ops = _new_deal_ops(None, entity=entity)
                answers = _push(http, device, ops)
            elif "default stage" in action:
                answers = _push(http, device, [_set_op("stage", STAGE, "name", '"X"')])
            else:
                answers = _push(http, device, [_set_op("pipeline", pipeline, "name", '"Y"')])
            statuses = {a["status"] for a in answers}
            assert statuses in ({"applied"}, {"rejected"}), (rep, action, answers)
            if statuses == {"applied"}:
                seen[action].add(rep)
            elif "contact" in action:
                # Bob's unplaced contact: Ann may not read it, so nothing of it comes back.
                assert [a["current"] for a in answers] == [None]
    assert seen == SCOPE_MOVES
