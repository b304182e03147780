"""The server checks every op against the models' field specs before it decides it.

Each malformed op of issue #14 is answered `rejected` with a reason naming the
field, changes nothing on the server, and another laptop still syncs afterwards.
Nothing a caller sends gives a 5xx: not a list in an id field, not a value or a
body nested thousands of levels deep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.store.models import Contact
from crmtui.sync.fields import SPECS, check_value
from tests.sync_support import BACKENDS, Team, make_team, new_record, push_ops, wire_op


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


DEEP = "[" * 5000 + "]" * 5000

# (field, the value's JSON text, a word the reason must carry)
BAD_SETS = [
    ("name", "null", "null"),
    ("tags", "5", "list"),
    ("tags", '[["nested"]]', "list"),
    ("city", '["a", ["b"]]', "list"),
    ("max_calls", str(2**64), "64 bits"),
    ("max_calls", "1" + "0" * 5000, "JSON"),
    ("name", '"\\ud800"', "surrogate"),
    ("city", '"a\\u0000b"', "NUL"),
    ("do_not_call", '"maybe"', "true or false"),
    ("do_not_call", "1", "true or false"),
    ("max_calls", "NaN", "JSON"),
    ("max_calls", "Infinity", "JSON"),
    ("max_calls", "1.5", "integer"),
    ("account_id", "[1]", "list"),
    ("account_id", '{"a": 1}', "object"),
    ("owner_id", '"not an id!"', "id"),
    ("notes", DEEP, "nests"),
    ("name", "{not json", "JSON"),
]


def _field_rows(team: Team, row: str) -> dict[str, str | None]:
    with team.engine.connect() as conn:
        return dict(
            conn.execute(
                select(t.field_state.c.field, t.field_state.c.value).where(
                    t.field_state.c.row_id == row
                )
            ).all()
        )


def _feed_len(team: Team) -> int:
    with team.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(t.change).where(t.change.c.kind != t.LOGGED)
        ).scalar()
    return int(n or 0)


def test_every_malformed_set_is_rejected_and_changes_nothing(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    device = uuid7()
    contact, ops = new_record("contact", {"name": "Jane", "territory_id": team.north})
    assert {r["status"] for r in push_ops(http, device, ops)} == {"applied"}
    before, feed = _field_rows(team, contact), _feed_len(team)
    for field, text, word in BAD_SETS:
        [result] = push_ops(http, device, [wire_op("contact", contact, "set", field, raw=text)])
        assert result["status"] == "rejected", (field, text[:20], result)
        assert field in result["reason"] and word in result["reason"], result["reason"]
        assert result["current"] is None
    assert _field_rows(team, contact) == before and _feed_len(team) == feed
    # A surrogate in the body itself (not in the value's text) is refused at the parse.
    raw = wire_op("contact", contact, "set", "city", raw='"\ud800"')
    body = json.dumps({"device_id": device, "ops": [raw]}).encode()
    r = http.post("/v1/push", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "unicode" in r.text  # refused by the wire model
    # One escaped in a link's JSON text decodes to a lone surrogate: never looked up
    # (the driver cannot encode it), refused like any malformed link.
    link = wire_op("contact", contact, "set", "account_id", raw='"\\ud800"')
    [result] = push_ops(http, device, [link])
    assert result["status"] == "rejected" and "account_id" in result["reason"]
    # Every other laptop still syncs and holds the good values.
    other, other_token = team.laptop("bob")
    report = team.sync_client(other, other_token).sync()
    assert report.pulled > 0
    with other.read() as s:
        got = s.get(Contact, contact)
        assert got is not None and got.name == "Jane" and got.tags == []


def test_a_create_needs_its_required_fields(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    device = uuid7()
    contact, ops = new_record("contact", {"name": "Jane", "territory_id": team.north})
    push_ops(http, device, ops)
    # An activity created with only a contact id: the create and its set are refused.
    activity, ops = new_record("activity", {"contact_id": contact})
    results = push_ops(http, device, ops)
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert "kind" in results[0]["reason"] and "occurred_at" in results[0]["reason"]
    assert _field_rows(team, activity) == {}
    # A required field set to a bad value does not count as set.
    deal, ops = new_record(
        "deal", {"name": None, "pipeline_id": uuid7(), "stage_id": uuid7(), "territory_id": None}
    )
    results = push_ops(http, device, ops)
    assert results[0]["status"] == "rejected" and "name" in results[0]["reason"]
    assert _field_rows(team, deal) == {}
    # With every required field, it is made.
    activity, ops = new_record(
        "activity",
        {"contact_id": contact, "kind": "call", "occurred_at": "2026-12-07T10:00:00.000000Z"},
    )
    assert {r["status"] for r in push_ops(http, device, ops)} == {"applied"}
    # An unknown activity kind is not one of the model's.
    [bad] = push_ops(http, device, [wire_op("activity", activity, "set", "kind", "séance")])
    assert bad["status"] == "rejected" and "activity.kind" in bad["reason"]


def test_nothing_a_caller_sends_gives_a_server_error(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    device = uuid7()
    contact, ops = new_record("contact", {"name": "Jane", "territory_id": team.north})
    push_ops(http, device, ops)
    op = wire_op("contact", contact, "set", "city", "York")
    for key in ("row_id", "entity", "field", "op_id"):
        for bad in ([contact], {"id": contact}):
            r = http.post("/v1/push", json={"device_id": device, "ops": [{**op, key: bad}]})
            assert r.status_code == 422, (key, r.status_code)
    deep_body = '{"device_id": "' + device + '", "ops": ' + DEEP + "}"
    r = http.post("/v1/push", content=deep_body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "deep" in r.text
    r = http.post("/v1/push", content=b'{"device_id": "\\ud800", "ops": []}')
    assert r.status_code < 500
    # A deep value in the op itself: rejected as an op, not a crash.
    deep = wire_op("contact", contact, "set", "notes", raw=DEEP)
    assert push_ops(http, device, [deep])[0]["status"] == "rejected"


def test_the_specs_come_from_the_models() -> None:
    assert SPECS["contact"]["name"].required and not SPECS["contact"]["name"].nullable
    assert SPECS["deal"]["amount_minor"].kind == "int"
    assert SPECS["contact"]["do_not_call"].kind == "bool"
    assert SPECS["contact"]["account_id"].kind == "id"
    assert "id" not in SPECS["contact"] and "updated_at" not in SPECS["contact"]
    assert check_value("deal", "expected_close", json.dumps("2026-12-07")) is None
    assert check_value("deal", "expected_close", json.dumps("7/12/2026")) is not None
    assert check_value("territory_rule", "kind", json.dumps("x" * 21)) is not None
