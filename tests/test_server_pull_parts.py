"""A pull page read as one index range per part of the scope is exactly the scope, in order.

`crmtui.server.pull` reads a device's page as a union of disjoint parts (each visible
territory, the unplaced records it may read, the entries written for it alone) merged
in feed order. Checked here against a plain Python reading of the same rule over a
random feed: every kind of entry, shared and customer entities, territories inside and
outside the scope, entries for other devices, and the device's own echoes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.auth import Principal, authenticate
from crmtui.server.db import make_server_engine, upgrade_server
from crmtui.server.pull import pull_page
from crmtui.sync.fields import SHARED

TERRITORIES = ["tA", "tB", "tC"]
CLIENTS = ["c1", "c2", "c3"]
ENTITIES = ["contact", "deal", "product", "stage"]
ENTRIES = 400


@pytest.fixture(params=["sqlite", "pg"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        str(tmp_path / "server.db")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    engine = make_server_engine(url)
    upgrade_server(engine)
    yield engine
    engine.dispose()


def _fill(
    engine: Engine, rng: random.Random, head: int
) -> tuple[list[dict[str, object]], dict[tuple[str, str], str]]:
    """ENTRIES random entries after the feed's `head`, and who created each record."""
    creators: dict[tuple[str, str], str] = {}
    feed: list[dict[str, object]] = []
    for seq in range(head + 1, head + ENTRIES + 1):
        entity = rng.choice(ENTITIES)
        row_id = f"r{rng.randrange(40)}"
        creators.setdefault((entity, row_id), rng.choice(CLIENTS))
        feed.append(
            {
                "seq": seq,
                "kind": rng.choice(["set", "set", "create", "removal", t.LOGGED]),
                "entity": entity,
                "row_id": row_id,
                "field": "name",
                "value": f"v{seq}",
                "hlc": f"{seq:019d}",
                "device_id": rng.choice(CLIENTS),
                "territory_id": rng.choice([None, *TERRITORIES]),
                "flagged": False,
                "echo": rng.random() < 0.5,
                "op_id": f"op{seq}",
                "status": "applied",
                "for_device": rng.choice([None] * 8 + ["DEVICE", "other-device"]),
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(t.change), feed)
        conn.execute(
            insert(t.row_scope),
            [
                {
                    "entity": entity,
                    "row_id": row_id,
                    "territory_id": None,
                    "owner_id": None,
                    "deleted": False,
                    "flagged": False,
                    "last_hlc": "0",
                    "created_hlc": "0",
                    "created_device": creator,
                }
                for (entity, row_id), creator in creators.items()
            ],
        )
        conn.execute(update(t.counter).where(t.counter.c.id == "feed").values(value=head + ENTRIES))
    return feed, creators


def _expected(
    feed: list[dict[str, object]],
    creators: dict[tuple[str, str], str],
    who: Principal,
    client: str,
    cursor: int,
    limit: int,
    own: list[tuple[int, int]],
) -> list[int]:
    """The page by the rule, read entry by entry."""

    def readable(e: dict[str, object]) -> bool:
        if e["for_device"] is not None:
            return e["for_device"] == who.device_id
        territory = e["territory_id"]
        if who.visible is None:
            return True
        if territory is not None:
            return territory in who.visible
        if who.role != "rep" or e["entity"] in SHARED:
            return True
        return creators[(str(e["entity"]), str(e["row_id"]))] in who.clients

    out = []
    for e in feed:
        seq = int(str(e["seq"]))
        if seq <= cursor or e["kind"] == t.LOGGED:
            continue
        if own and e["echo"] and e["device_id"] == client and any(a <= seq <= b for a, b in own):
            continue
        if readable(e):
            out.append(seq)
    return out[: limit + 1]


def test_every_page_is_the_scope_in_feed_order(engine: Engine) -> None:
    rng = random.Random(20261208)
    # A real device, bound to journal id c1, for the own-echo rule (its entries come first).
    admin.add_territory(engine, "Region")
    admin.add_rep(engine, "pat", "rep", ["Region"])
    token = admin.issue_token(engine, "pat", "pat-laptop").token
    with engine.begin() as conn:
        conn.execute(update(t.device).values(client_id="c1"))
        real = authenticate(conn, token)
        head = int(
            conn.execute(select(t.counter.c.value).where(t.counter.c.id == "feed")).scalar_one()
        )
    assert real is not None
    feed, creators = _fill(engine, rng, head)
    checked = 0
    for _ in range(150):
        role = rng.choice(["rep", "manager", "admin"])
        visible = None if role == "admin" else frozenset(rng.sample(TERRITORIES, rng.randrange(4)))
        who = Principal(
            device_id=rng.choice([real.device_id, "DEVICE"]),
            device_name="laptop",
            rep_id="rep",
            rep_name="Rep",
            role=role,
            assigned=visible or frozenset(),
            visible=visible,
            clients=frozenset(rng.sample(CLIENTS, rng.randrange(3))),
        )
        cursor = head + rng.randrange(ENTRIES)
        limit = rng.choice([1, 5, 50, 1000])
        first = head + rng.randrange(1, ENTRIES)
        own = rng.choice([[], [(first, first + rng.randrange(100))]])
        client = "c1" if who.device_id == real.device_id else ""
        page = pull_page(engine, who, cursor, limit, "hlc", own)
        got = [entry["seq"] for entry in page["changes"] + page["removals"]]
        want = _expected(feed, creators, who, client, cursor, limit, own)
        assert sorted(got) == want[:limit], (who, cursor, limit, own)
        assert page["has_more"] == (len(want) > limit)
        checked += len(got)
    assert checked > 1000  # the pages were not all empty
