"""A record that changes territory takes what inherits its territory along.

Activities, ticklers and the like have no territory of their own: the server gives
them the one of the contact, deal or account they link to. When that record moves,
reps of the old territory must lose them and reps of the new one get them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.store.database import Store
from crmtui.store.models import Activity, Tickler
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


def _record(entity: str, values: dict[str, object]) -> tuple[str, list[dict]]:
    row, tx = uuid7(), uuid7()
    hlc = HLC(time.time_ns() // 1_000_000, 0).encode()
    ops = [{"op_id": uuid7(), "tx_id": tx, "hlc": hlc, "entity": entity, "row_id": row}]
    ops[0]["op"] = "create"
    for name, value in values.items():
        ops.append(
            {
                "op_id": uuid7(),
                "tx_id": tx,
                "hlc": hlc,
                "entity": entity,
                "row_id": row,
                "op": "set",
                "field": name,
                "value": json.dumps(value),
            }
        )
    return row, ops


def _push(http: httpx.Client, device: str, ops: list[dict]) -> list[str]:
    r = http.post("/v1/push", json={"device_id": device, "ops": ops})
    assert r.status_code == 200, r.text
    return [x["status"] for x in r.json()["results"]]


def _pull(http: httpx.Client, cursor: int = 0) -> tuple[dict[str, set[str]], int]:
    page = http.get("/v1/pull", params={"cursor": cursor, "limit": 5000}).json()
    seen: dict[str, set[str]] = {"changes": set(), "removals": set()}
    for kind in seen:
        seen[kind] = {c["row_id"] for c in page[kind]}
    return seen, page["cursor"]


def _check_laptops(
    ann_store: Store, sue_store: Store, contact: str, call: str, todo: str, note: str
) -> None:
    """Ann's copies of what moved are gone, Sue's arrived whole; the note stayed."""
    with ann_store.read() as s:
        # Purged, not hidden: nothing of a record out of scope stays (issue #14).
        assert s.get(Activity, call) is None
        assert s.get(Tickler, todo) is None
        assert s.get(Activity, note).deleted_at is None  # type: ignore[union-attr]
    with sue_store.read() as s:
        got = s.get(Activity, call)
        assert got is not None and got.deleted_at is None and got.text == "hi"
        assert got.contact_id == contact
        tickler = s.get(Tickler, todo)
        assert tickler is not None and tickler.text == "ring back"
        assert s.get(Activity, note) is None


def test_what_inherits_a_territory_follows_its_record(team: Team) -> None:
    ann_store, ann_token = team.laptop("ann")
    sue_store, sue_token = team.laptop("sue")
    _, max_token = team.laptop("max")
    ann, sue, mx = team.http(ann_token), team.http(sue_token), team.http(max_token)
    ann_dev, mx_dev = uuid7(), uuid7()
    contact, ops = _record("contact", {"name": "Jane", "territory_id": team.north})
    other, more = _record("contact", {"name": "Joe", "territory_id": team.north})
    at = "2026-11-23T10:00:00.000000Z"
    call, calls = _record(
        "activity", {"kind": "call", "contact_id": contact, "text": "hi", "occurred_at": at}
    )
    todo, todos = _record("tickler", {"text": "ring back", "contact_id": contact, "due_at": at})
    # Linked to the other contact: it stays where that one is.
    note, notes = _record("activity", {"kind": "note", "contact_id": other, "occurred_at": at})
    assert set(_push(ann, ann_dev, ops + more + calls + todos + notes)) == {"applied"}
    ann_laptop = team.sync_client(ann_store, ann_token)
    ann_laptop.sync()
    sue_laptop = team.sync_client(sue_store, sue_token)
    sue_laptop.sync()
    ann_seen, ann_cursor = _pull(ann)
    assert {contact, call, todo, note} <= ann_seen["changes"]
    sue_seen, sue_cursor = _pull(sue)
    assert not {contact, call, todo, note} & sue_seen["changes"]

    moves = [
        {
            "op_id": uuid7(),
            "tx_id": uuid7(),
            "hlc": HLC(time.time_ns() // 1_000_000 + 1, 0).encode(),
            "entity": "contact",
            "row_id": contact,
            "op": "set",
            "field": "territory_id",
            "value": json.dumps(team.south),
        }
    ]
    assert _push(mx, mx_dev, moves) == ["applied"]

    ann_seen, _ = _pull(ann, ann_cursor)
    assert ann_seen["removals"] == {contact, call, todo}
    assert not ann_seen["changes"] & {contact, call, todo}
    sue_seen, _ = _pull(sue, sue_cursor)
    assert sue_seen["changes"] == {contact, call, todo}
    with team.engine.connect() as conn:
        scoped = dict(
            conn.execute(
                select(t.row_scope.c.row_id, t.row_scope.c.territory_id).where(
                    t.row_scope.c.row_id.in_([contact, call, todo, note])
                )
            ).all()
        )
    assert scoped == {contact: team.south, call: team.south, todo: team.south, note: team.north}

    # On the laptops: Ann's copies leave, Sue's arrive whole.
    ann_laptop.sync()
    sue_laptop.sync()
    _check_laptops(ann_store, sue_store, contact, call, todo, note)
    # And the server now lets Sue, not Ann, change them.
    edit = {
        "op_id": uuid7(),
        "tx_id": uuid7(),
        "hlc": HLC(time.time_ns() // 1_000_000 + 2, 0).encode(),
        "entity": "activity",
        "row_id": call,
        "op": "set",
        "field": "text",
        "value": '"mine"',
    }
    assert _push(ann, ann_dev, [edit]) == ["rejected"]
    assert _push(sue, uuid7(), [edit | {"op_id": uuid7()}]) == ["applied"]

    # Relinking moves too: Ann may not link her note to a contact she cannot see...
    relink = edit | {"row_id": note, "field": "contact_id", "value": json.dumps(contact)}
    assert _push(ann, ann_dev, [relink | {"op_id": uuid7()}]) == ["rejected"]
    # ...the manager may, and the note goes from Ann's laptop to Sue's.
    _, ann_cursor = _pull(ann, ann_cursor)
    _, sue_cursor = _pull(sue, sue_cursor)
    assert _push(mx, mx_dev, [relink | {"op_id": uuid7()}]) == ["applied"]
    ann_seen, _ = _pull(ann, ann_cursor)
    sue_seen, _ = _pull(sue, sue_cursor)
    assert ann_seen["removals"] == {note} and not ann_seen["changes"]
    assert sue_seen["changes"] == {note}
