"""After a server reset the laptops reseed it, in any order, and end where they were (issue #14).

Before: a laptop pushed its pending edits to the rebuilt server, whose answers
(`rejected: unknown record`) marked them pushed -- lost -- and every later sync
failed (cursor ahead of the server) until `--discard`. Now the laptop sees the
server's identity changed, sends nothing and says so; once the admin opens a
reseed window each laptop sends its full state with the original versions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.reseed import allow_reseed, close_reseed, server_id
from crmtui.services.address_book.accounts import (
    AccountCreate,
    AccountUpdate,
    create_account,
    update_account,
)
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store
from crmtui.sync.client import ServerReset, SyncClient, SyncReport, pending_count
from tests.budget import FULL
from tests.sync_support import BACKENDS, Team, server_url

REPS = ("ann", "bob", "max")


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The server database on SQLite and on PostgreSQL."""
    return server_url(request, tmp_path)


def _reset(team: Team, url: str) -> Team:
    """The server rebuilt from nothing: the admin re-creates territories (new ids) and reps."""
    team.close()
    engine = team.engine
    with engine.begin() as conn:
        t.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE crmtui_server_version"))
    engine.dispose()
    return Team(url, team.tmp)


def _state(store: Store) -> dict[str, object]:
    """The customer records a laptop shows, by table (no bookkeeping columns)."""
    out: dict[str, object] = {}
    with store.engine.connect() as conn:
        for table in ("account", "contact"):
            rows = conn.exec_driver_sql(
                f"SELECT id, name, city, notes, territory_id, deleted_at IS NOT NULL"
                f" FROM {table} ORDER BY id"
            ).all()
            out[table] = [tuple(r) for r in rows]
    return out


def _work(team: Team) -> tuple[dict[str, Store], dict[str, SyncClient], list[str]]:
    """Three laptops, a day's work synced, then offline edits not yet pushed."""
    stores, clients = {}, {}
    for rep in REPS:
        store, token = team.laptop(rep)
        stores[rep], clients[rep] = store, SyncClient(store, team.http(token), batch=40)
        clients[rep].sync()
    accounts = []
    with stores["ann"].write() as tx:
        for i in range(4):
            accounts.append(
                create_account(
                    tx=tx,
                    data=AccountCreate(name=f"North {i}", territory_id=team.north, notes="n"),
                    region="DE",
                ).id
            )
        create_contact(
            tx=tx, data=ContactCreate(name="Ann Contact", company="North 0"), region="DE"
        )
    with stores["max"].write() as tx:
        accounts.append(
            create_account(
                tx=tx, data=AccountCreate(name="South 0", territory_id=team.south), region="DE"
            ).id
        )
    for rep in REPS:
        clients[rep].sync()
    for rep in REPS:
        clients[rep].sync()
    # Offline edits, the same field on two laptops (the later one must win everywhere).
    with stores["bob"].write() as tx:
        update_account(
            tx=tx, account_id=accounts[1], data=AccountUpdate(city="Bradford"), region="DE"
        )
    with stores["ann"].write() as tx:
        update_account(tx=tx, account_id=accounts[0], data=AccountUpdate(city="Hull"), region="DE")
        update_account(tx=tx, account_id=accounts[1], data=AccountUpdate(city="York"), region="DE")
    with stores["max"].write() as tx:
        update_account(
            tx=tx, account_id=accounts[4], data=AccountUpdate(notes="south note"), region="DE"
        )
    return stores, clients, accounts


def before_with_edits(before: dict[str, object], accounts: list[str]) -> dict[str, object]:
    """The laptops' states before the reset, with the offline edits every laptop gets."""
    edits = {accounts[0]: (2, "Hull"), accounts[1]: (2, "York"), accounts[4]: (3, "south note")}
    out: dict[str, object] = {}
    for rep, state in before.items():
        tables = dict(state)  # type: ignore[call-overload]
        rows = []
        for old in tables["account"]:
            row = list(old)
            if row[0] in edits:
                at, value = edits[row[0]]
                row[at] = value
            rows.append(tuple(row))
        tables["account"] = rows
        out[rep] = tables
    return out


ORDERS = [("ann", "bob", "max"), ("max", "bob", "ann"), ("bob", "max", "ann")]
# Every order on SQLite; on PostgreSQL one in CI (the order is the server's logic, the
# same on both stores; PostgreSQL's own part is its store) and all under test-full.
CASES = [
    (backend, order)
    for backend in BACKENDS
    for order in ORDERS
    if FULL or backend == "sqlite" or order == ORDERS[0]
]


@pytest.mark.parametrize(
    ("url", "order"), CASES, indirect=["url"], ids=[f"{b}-{'-'.join(o)}" for b, o in CASES]
)
def test_laptops_reseed_a_reset_server_in_any_order_and_converge(
    url: str, tmp_path: Path, order: tuple[str, ...]
) -> None:
    team = Team(url, tmp_path)
    stores, clients, accounts = _work(team)
    pending = {rep: pending_count(stores[rep]) for rep in REPS}
    assert pending["ann"] > 0 and pending["bob"] > 0
    before = {rep: _state(stores[rep]) for rep in REPS}

    team = _reset(team, url)
    for rep in REPS:  # new tokens for the same laptops (`crm sync login`)
        token = admin.issue_token(team.engine, rep, f"{rep}-again").token
        clients[rep] = SyncClient(stores[rep], team.http(token), batch=40)
    # No window: nothing is sent, nothing is marked pushed, and the laptop says why.
    with pytest.raises(ServerReset, match="allow-reseed"):
        clients["ann"].sync()
    assert pending_count(stores["ann"]) == pending["ann"]
    with team.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM srv_row WHERE entity = 'account'")).scalar()
            == 0
        )

    allow_reseed(team.engine, 1)
    for rep in order:
        report = clients[rep].sync()
        assert report.reseeded > 0 and report.rejected == 0, report.reasons
        assert pending_count(stores[rep]) == 0
    for _ in range(2):
        for rep in REPS:
            clients[rep].sync()
    close_reseed(team.engine)
    after = {rep: _state(stores[rep]) for rep in REPS}
    # Every laptop shows the same records, and each holds what it held, with the
    # offline edits in: the later of the two cities, the unsent notes.
    assert after["ann"] == after["bob"]
    north = {r[0]: r for r in after["ann"]["account"]}  # type: ignore[index,union-attr]
    assert north[accounts[0]][2] == "Hull"
    assert north[accounts[1]][2] == "York"  # ann's edit was made after bob's
    south = {r[0]: r for r in after["max"]["account"]}  # type: ignore[index,union-attr]
    assert south[accounts[4]][3] == "south note"
    assert set(north) == {r[0] for r in before["ann"]["account"]}  # type: ignore[index,union-attr]
    for rep in REPS:
        ids = {r[0] for r in after[rep]["account"]}  # type: ignore[index,union-attr]
        assert ids == {r[0] for r in before[rep]["account"]}  # type: ignore[index,union-attr]
    assert after == before_with_edits(before, accounts)
    # The territories the admin re-created took back the ids the laptops know.
    with team.engine.connect() as conn:
        north_id = conn.execute(text("SELECT id FROM srv_territory WHERE name = 'North'")).scalar()
    assert north_id == north[accounts[0]][4]
    # A second reseed (e.g. a repeated sync while the window is open) changes nothing.
    allow_reseed(team.engine, 1)
    with team.engine.connect() as conn:
        head = conn.execute(text("SELECT value FROM sync_counter")).scalar()
    again = SyncReport()
    clients["ann"].reseed(again, server_id(team.engine))
    assert again.reseeded > 0 and again.rejected == 0
    with team.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM sync_counter")).scalar() == head
    team.close()
