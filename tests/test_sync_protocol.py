"""The wire carries a protocol version; a client and server that do not work together say so.

Both directions: a client newer than the server is told to upgrade the server, one
older than the server's minimum to upgrade crmtui, and a client refuses a server
older than its own minimum. `crm sync` exits 76 with the message, nothing lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crmtui.server import admin
from crmtui.server import app as server_app
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import open_store
from crmtui.sync import client as sync_client
from crmtui.sync.client import ProtocolMismatch, pending_count
from crmtui.sync.wire import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.cli_commands import Ran
from tests.sync_support import Team
from tests.test_sync_cli import _crm
from tests.test_sync_crash import live_server  # noqa: F401  (fixture)


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite (the version check runs before any database work)."""
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def test_every_answer_names_the_servers_protocol_and_old_clients_still_work(team: Team) -> None:
    _, token = team.laptop("ann")
    http = team.http(token)
    answer = http.get("/v1/whoami")  # no header: an older client, protocol 1
    assert answer.status_code == 200
    assert answer.headers[PROTOCOL_HEADER] == str(PROTOCOL_VERSION)
    assert http.get("/healthz").headers[PROTOCOL_HEADER] == str(PROTOCOL_VERSION)
    bad = http.get("/v1/whoami", headers={PROTOCOL_HEADER: "two"})
    assert bad.status_code == 400


def test_a_client_newer_than_the_server_is_told_to_upgrade_the_server(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, token = team.laptop("ann")
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
    pending = pending_count(store)
    monkeypatch.setattr(sync_client, "PROTOCOL_VERSION", PROTOCOL_VERSION + 1)
    with pytest.raises(ProtocolMismatch, match="upgrade the server"):
        team.sync_client(store, token).sync()
    assert pending_count(store) == pending


def test_a_client_older_than_the_servers_minimum_is_told_to_upgrade(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, token = team.laptop("ann")
    monkeypatch.setattr(server_app, "MIN_CLIENT_PROTOCOL", PROTOCOL_VERSION + 1)
    with pytest.raises(ProtocolMismatch, match="upgrade crmtui"):
        team.sync_client(store, token).sync()


def test_a_client_refuses_a_server_older_than_its_minimum(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, token = team.laptop("ann")
    monkeypatch.setattr(sync_client, "MIN_SERVER_PROTOCOL", PROTOCOL_VERSION + 1)
    with pytest.raises(ProtocolMismatch, match="upgrade the server"):
        team.sync_client(store, token).sync()
    # A server that sends no version at all (before it was sent) is protocol 1.
    monkeypatch.setattr(sync_client, "MIN_SERVER_PROTOCOL", 2)
    old = httpx.Response(200, json={})
    with pytest.raises(ProtocolMismatch, match="protocol 1"):
        sync_client.check_protocol(old)


def test_crm_sync_and_login_exit_76_with_the_message(
    live_server,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = live_server
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    token = admin.issue_token(engine, "ann", "ann-laptop").token
    db = tmp_path / "ann.db"

    def crm(*args: str) -> Ran:
        return _crm(db, *args)

    assert crm("sync", "login", "--server", url, "--token", token).code == 0
    store = open_store(db)
    with store.write() as tx:
        create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
    pending = pending_count(store)
    # The server (in this process) now needs a newer client than the `crm` it runs.
    monkeypatch.setattr(server_app, "MIN_CLIENT_PROTOCOL", PROTOCOL_VERSION + 1)
    refused = crm("sync")
    assert refused.code == 76, refused.err
    assert "upgrade crmtui" in refused.err and "Traceback" not in refused.err
    assert pending_count(store) == pending
    login = crm("sync", "login", "--server", url, "--token", token)
    assert login.code == 76 and "upgrade crmtui" in login.err
    monkeypatch.setattr(server_app, "MIN_CLIENT_PROTOCOL", 1)
    assert crm("sync").code == 0
    assert pending_count(store) == 0
    store.close()
