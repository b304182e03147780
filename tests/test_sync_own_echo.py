"""A pull leaves out a laptop's own ops that it already holds, and nothing else.

A push answer names the feed numbers the batch drew (when the client asks, with
`X-Crm-Feed-Range: 1`); a pull naming those ranges (`own`) is not sent the device's
own ops in them, as it sent them. Removals, snapshots, undeletes and versions the
server made are still sent, and a database restored from a backup (whose ranges
are the backup's) gets back the ops it lost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import open_store
from crmtui.store.models import Contact
from crmtui.sync.client import OWN_FEED, own_ranges
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


def _now(offset: int = 0) -> str:
    return HLC(time.time_ns() // 1_000_000 + offset, 0).encode()


def _op(row: str, op: str, field: str | None = None, value: object = None, at: int = 0) -> dict:
    body = {"op_id": uuid7(), "tx_id": uuid7(), "hlc": _now(at), "entity": "contact"}
    body |= {"row_id": row, "op": op}
    if field is not None:
        body |= {"field": field, "value": json.dumps(value)}
    return body


def _push(http: httpx.Client, device: str, ops: list[dict], *, ask: bool = True) -> dict:
    headers = {"x-crm-feed-range": "1"} if ask else {}
    r = http.post("/v1/push", json={"device_id": device, "ops": ops}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _pull(http: httpx.Client, own: str | None = None) -> list[tuple[str, str, str | None]]:
    params: dict[str, object] = {"cursor": 0, "limit": 5000}
    if own is not None:
        params["own"] = own
    r = http.get("/v1/pull", params=params)
    assert r.status_code == 200, r.text
    page = r.json()
    return [(c["kind"], c["row_id"], c["field"]) for c in page["changes"] + page["removals"]]


def test_the_feed_range_is_sent_only_to_a_client_that_asks(team: Team) -> None:
    _, token = team.laptop("ann")
    http, device = team.http(token), uuid7()
    row = uuid7()
    asked = _push(http, device, [_op(row, "create"), _op(row, "set", "name", "Jane")])
    first, last = asked["feed"]
    assert last - first == 1  # the create and the set
    plain = _push(http, device, [_op(row, "set", "city", "Leeds")], ask=False)
    assert "feed" not in plain  # a client that does not know the field never sees it
    # Sent again (a lost answer): answered from the log, nothing new is drawn.
    ops = [_op(row, "set", "city", "York")]
    assert _push(http, device, ops)["feed"] is not None
    assert _push(http, device, ops)["feed"] is None
    assert _push(http, device, [])["feed"] is None


def test_own_ops_are_left_out_only_for_their_device_and_range(team: Team) -> None:
    _, ann_token = team.laptop("ann")
    # Her second laptop: unplaced contacts are seen by their creator (and managers) only.
    _, bob_token = team.laptop("ann", "ann-2")
    ann, bob = team.http(ann_token), team.http(bob_token)
    ann_dev, bob_dev = uuid7(), uuid7()
    mine, theirs = uuid7(), uuid7()
    a = _push(ann, ann_dev, [_op(mine, "create"), _op(mine, "set", "name", "Jane")])["feed"]
    _push(bob, bob_dev, [_op(theirs, "create"), _op(theirs, "set", "name", "Joe")])
    b = _push(ann, ann_dev, [_op(mine, "set", "city", "Leeds", at=1)])["feed"]
    everything = _pull(ann)
    assert ("set", mine, "city") in everything and ("create", theirs, None) in everything
    own = f"{a[0]}-{a[1]}"
    left = _pull(ann, own)
    assert ("create", mine, None) not in left and ("set", mine, "name") not in left
    assert ("set", mine, "city") in left  # outside the range named
    assert ("create", theirs, None) in left and ("set", theirs, "name") in left
    assert ("set", mine, "city") not in _pull(ann, f"{a[0]}-{a[1]},{b[0]}-{b[1]}")
    # Another device naming Ann's range gets everything: only one's own ops are left out.
    assert sorted(_pull(bob, own)) == sorted(_pull(bob))


def test_a_move_is_sent_to_the_device_that_made_it(team: Team) -> None:
    """Removal and snapshot are not echoes: the mover gets them like everyone else."""
    _, max_token = team.laptop("max")
    mx, device = team.http(max_token), uuid7()
    row = uuid7()
    made = _push(
        mx,
        device,
        [
            _op(row, "create"),
            _op(row, "set", "territory_id", team.north),
            _op(row, "set", "name", "J"),
        ],
    )["feed"]
    moved = _push(mx, device, [_op(row, "set", "territory_id", team.south, at=1)])["feed"]
    left = _pull(mx, f"{made[0]}-{moved[1]}")
    assert ("set", row, "name") in left  # in the snapshot for South
    assert ("removal", row, None) in left and ("create", row, None) in left
    assert left.count(("set", row, "name")) == 1  # the echo of the first push is left out


def test_bad_ranges_are_refused(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    for bad in ("1", "a-b", "1-2,", "-1-2", ",".join(["1-2"] * 33), "1" * 20 + "-1"):
        assert http.get("/v1/pull", params={"own": bad}).status_code == 422, bad
    huge = "9" * 19
    assert http.get("/v1/pull", params={"own": f"{huge}-{huge}"}).status_code == 200


def test_a_laptop_does_not_pull_back_what_it_pushed(team: Team) -> None:
    store, token = team.laptop("ann")
    client = team.sync_client(store, token, batch=7)
    client.sync()
    with store.write() as tx:
        for i in range(5):
            create_contact(tx=tx, data=ContactCreate(name=f"P{i}", city="Leeds"), region="DE")
    report = client.sync()
    assert report.pushed > 10 and report.pulled == 0
    with store.engine.connect() as conn:
        db = conn.connection.driver_connection
        assert own_ranges(db) == []  # pulled past: nothing left to name


def test_a_newer_own_value_is_kept_over_an_older_one_pulled_later(team: Team) -> None:
    """Bob's older edit reaches the server first; Ann's newer one stands, on her laptop too."""
    ann_store, ann_token = team.laptop("ann")
    # Her second laptop: unplaced contacts are seen by their creator (and managers) only.
    bob_store, bob_token = team.laptop("ann", "ann-2")
    ann, bob = team.sync_client(ann_store, ann_token), team.sync_client(bob_store, bob_token)
    with ann_store.write() as tx:
        contact = create_contact(tx=tx, data=ContactCreate(name="Jane", city="Leeds"), region="DE")
    ann.sync()
    bob.sync()
    with bob_store.write() as tx:
        update_contact(tx=tx, contact_id=contact.id, data=ContactUpdate(city="Hull"), region="DE")
    time.sleep(0.01)
    with ann_store.write() as tx:
        update_contact(tx=tx, contact_id=contact.id, data=ContactUpdate(city="York"), region="DE")
    bob.sync()
    ann.sync()
    bob.sync()
    with ann_store.read() as a, bob_store.read() as b:
        assert a.get(Contact, contact.id).city == "York"  # type: ignore[union-attr]
        assert b.get(Contact, contact.id).city == "York"  # type: ignore[union-attr]


def test_a_laptop_restored_from_a_backup_gets_its_lost_ops_back(team: Team) -> None:
    store, token = team.laptop("ann")
    client = team.sync_client(store, token)
    with store.write() as tx:
        kept = create_contact(tx=tx, data=ContactCreate(name="Kept", city="Leeds"), region="DE")
    client.sync()
    backup = team.tmp / "ann-backup.db"
    with store.engine.connect() as conn:
        source = conn.connection.driver_connection
        with sqlite3.connect(backup) as target:
            source.backup(target)  # type: ignore[union-attr]
        target.close()
    with store.write() as tx:
        lost = create_contact(tx=tx, data=ContactCreate(name="Lost", city="Hull"), region="DE")
        update_contact(tx=tx, contact_id=kept.id, data=ContactUpdate(city="York"), region="DE")
    client.sync()  # pushed; not pulled back
    restored = open_store(backup)
    team.stores.append(restored)
    with restored.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="New", city="Bath"), region="DE")
    again = team.sync_client(restored, token)
    again.sync()
    with restored.read() as s:
        back = s.get(Contact, lost.id)
        assert back is not None and back.city == "Hull"
        assert s.get(Contact, kept.id).city == "York"  # type: ignore[union-attr]
    with restored.engine.connect() as conn:
        ranges = conn.exec_driver_sql(
            "SELECT value FROM local_meta WHERE key = ?", (OWN_FEED,)
        ).scalar()
    assert json.loads(ranges or "[]") == []
