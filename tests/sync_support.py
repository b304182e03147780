"""Helpers for the sync tests: a server in-process over either store, and laptops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from crmtui.server import admin
from crmtui.server.app import make_server
from crmtui.store.database import Store, open_store
from crmtui.sync.client import SyncClient

BACKENDS = ["sqlite", "pg"]
RIG = "rig"
"""The scale-out rig (tests/rig_support.py): PgBouncer in front, pulls from a standby."""
RIG_BACKENDS = [*BACKENDS, RIG]

_REPLICAS: dict[str, str] = {}
"""The standby URL of each rig database URL handed out (for `Team`)."""


def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL for the parametrised backend."""
    if request.param == "pg":
        return str(request.getfixturevalue("pg_url"))
    if request.param == RIG:
        rig = request.getfixturevalue("rig")
        name = request.getfixturevalue("rig_db")
        url = str(rig.url("bouncer", name))
        _REPLICAS[url] = str(rig.url("replica", name))
        return url
    return str(tmp_path / "server.db")


def replica_of(url: str) -> str | None:
    """The standby a rig database URL reads pulls from (None off the rig)."""
    return _REPLICAS.get(url)


class Team:
    """A server with territories Region > North, South; reps and their laptops."""

    def __init__(self, url: str, tmp: Path, *, seeded: bool = False) -> None:
        """A new team on the server database at `url`.

        `seeded`: the database is a copy of one a Team was already made on (migrated,
        territories and reps in place): it is opened as it is, as a test that makes
        many servers does to skip the migrations and the set-up each time.
        """
        self.app = make_server(url, migrate=not seeded, replica_url=replica_of(url))
        self.engine = self.app.state.engine
        self.tmp = tmp
        if seeded:
            ids = {str(r["name"]): str(r["id"]) for r in admin.territories(self.engine)}
            self.region, self.north, self.south = ids["Region"], ids["North"], ids["South"]
        else:
            self.region = admin.add_territory(self.engine, "Region")
            self.north = admin.add_territory(self.engine, "North", parent="Region")
            self.south = admin.add_territory(self.engine, "South", parent="Region")
            admin.add_rep(self.engine, "ann", "rep", ["North"])
            admin.add_rep(self.engine, "bob", "rep", ["North"])
            admin.add_rep(self.engine, "sue", "rep", ["South"])
            admin.add_rep(self.engine, "max", "manager", ["Region"])
            admin.add_rep(self.engine, "root", "admin", [])
        self._inner = TestClient(self.app)
        self.stores: list[Store] = []
        self.clients: list[httpx.Client] = []

    def transport(self) -> httpx.BaseTransport:
        """The in-process transport to the app."""
        return self._inner._transport  # type: ignore[attr-defined,no-any-return]

    def http(
        self, token: str, wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None
    ) -> httpx.Client:
        """An HTTP client for one device."""
        transport = self.transport() if wrap is None else wrap(self.transport())
        client = httpx.Client(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        )
        self.clients.append(client)
        return client

    def laptop(self, rep: str, name: str | None = None) -> tuple[Store, str]:
        """A new local database and a token for it."""
        name = name or f"{rep}-{len(self.stores)}"
        store = open_store(self.tmp / f"{name}.db")
        self.stores.append(store)
        return store, admin.issue_token(self.engine, rep, name).token

    def sync_client(self, store: Store, token: str, *, batch: int = 50, wrap=None) -> SyncClient:
        """A sync client for a laptop."""
        return SyncClient(store, self.http(token, wrap), batch=batch)

    def close(self) -> None:
        """Release every store, client and the engine."""
        for s in self.stores:
            s.close()
        for c in self.clients:
            c.close()
        self._inner.close()
        if self.app.state.replica is not None:
            self.app.state.replica.dispose()
        self.engine.dispose()


def make_team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """Body of a `team` fixture parametrised over BACKENDS (PostgreSQL skipped unless reachable)."""
    t = Team(server_url(request, tmp_path), tmp_path)
    yield t
    t.close()


def hlc_now(offset_ms: int = 0) -> str:
    """The wall clock as an HLC text."""
    import time

    from crmtui.domain.hlc import HLC

    return HLC(time.time_ns() // 1_000_000 + offset_ms, 0).encode()


def wire_op(
    entity: str,
    row: str,
    kind: str,
    field: str | None = None,
    value: object = None,
    *,
    raw: str | None = None,
    tx: str | None = None,
) -> dict[str, object]:
    """One op as the client sends it; `value` is JSON-encoded unless `raw` gives the text."""
    import json

    from crmtui.domain.ids import uuid7

    op: dict[str, object] = {
        "op_id": uuid7(),
        "tx_id": tx or uuid7(),
        "hlc": hlc_now(),
        "entity": entity,
        "row_id": row,
        "op": kind,
    }
    if kind == "set":
        op["field"] = field
        op["value"] = raw if raw is not None else json.dumps(value)
    return op


def new_record(entity: str, values: dict[str, object]) -> tuple[str, list[dict[str, object]]]:
    """A create and its sets in one transaction, as a laptop's packed create expands."""
    from crmtui.domain.ids import uuid7

    row, tx = uuid7(), uuid7()
    ops = [wire_op(entity, row, "create", tx=tx)]
    ops += [wire_op(entity, row, "set", name, value, tx=tx) for name, value in values.items()]
    return row, ops


def push_ops(http: httpx.Client, device: str, ops: list[dict[str, object]]) -> list[dict]:
    """POST one batch; the per-op answers (the request must succeed)."""
    r = http.post("/v1/push", json={"device_id": device, "ops": ops})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])
