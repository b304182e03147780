"""Two laptops and a server in-process: enrol, work offline, sync, see a real conflict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from crmtui.server import admin
from crmtui.server.app import make_server
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.sales.deals import DealCreate, DealUpdate, create_deal, update_deal
from crmtui.store.database import Store, open_store
from crmtui.store.models import Contact, Deal
from crmtui.store.sync_state import SyncConflict
from crmtui.sync.client import DemoDatabase, SyncClient, pending_count


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    app = make_server(str(tmp_path / "server.db"))
    engine = app.state.engine
    north = admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    # A manager: unplaced contacts are seen by their creator and managers only.
    admin.add_rep(engine, "bob", "manager", ["North"])
    tokens = {
        "ann": admin.issue_token(engine, "ann", "ann-laptop").token,
        "bob": admin.issue_token(engine, "bob", "bob-laptop").token,
    }
    with TestClient(app) as http:
        yield http, tokens, north
    engine.dispose()


def _client(store: Store, http: TestClient, token: str) -> SyncClient:
    http.headers["Authorization"] = f"Bearer {token}"
    return SyncClient(store, http, batch=7)


def test_two_laptops_see_each_others_work_and_a_real_conflict(tmp_path: Path, team) -> None:
    http, tokens, north = team
    ann = open_store(tmp_path / "ann.db")
    bob = open_store(tmp_path / "bob.db")
    _client(ann, http, tokens["ann"]).sync()  # enrolment: the territories arrive
    with ann.write() as tx:
        contact = create_contact(
            tx=tx, data=ContactCreate(name="Jane Smyth", city="Leeds"), region="DE"
        )
        deal = create_deal(
            tx=tx, data=DealCreate(name="Big one", amount_minor=1000, territory_id=north)
        )
    report = _client(ann, http, tokens["ann"]).sync()
    assert report.rejected == 0, report.reasons
    assert report.pushed > 10 and pending_count(ann) == 0
    _client(bob, http, tokens["bob"]).sync()
    with bob.read() as s:
        got = s.exec(select(Contact).where(Contact.id == contact.id)).one()
        assert (got.name, got.city) == ("Jane Smyth", "Leeds")
        assert s.get(Deal, deal.id).amount_minor == 1000  # type: ignore[union-attr]
    # Bob can find the contact by search: the index followed the sync.
    hits = (
        bob.engine.connect()
        .exec_driver_sql("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'smyth'")
        .scalar()
    )
    assert hits == 1
    # Both edit offline: a plain field (last writer wins) and a high-stakes one (conflict).
    with ann.write() as tx:
        update_contact(tx=tx, contact_id=contact.id, data=ContactUpdate(city="York"), region="DE")
        update_deal(tx=tx, deal_id=deal.id, data=DealUpdate(amount_minor=2000))
    with bob.write() as tx:
        update_deal(tx=tx, deal_id=deal.id, data=DealUpdate(amount_minor=3000))
    a = _client(ann, http, tokens["ann"]).sync()
    b = _client(bob, http, tokens["bob"]).sync()
    assert a.applied >= 2 and b.conflicts == 1
    _client(ann, http, tokens["ann"]).sync()
    with ann.read() as sa, bob.read() as sb:
        amounts = {sa.get(Deal, deal.id).amount_minor, sb.get(Deal, deal.id).amount_minor}  # type: ignore[union-attr]
        assert amounts == {3000}  # converged on the later value ...
        for s in (sa, sb):  # ... and both laptops list the conflict with both values
            conflict = s.exec(select(SyncConflict).where(SyncConflict.kind == "conflict")).one()
            assert {conflict.kept_value, conflict.other_value} == {"2000", "3000"}
        assert sb.get(Contact, contact.id).city == "York"  # type: ignore[union-attr]
    ann.close()
    bob.close()


def test_a_demo_database_is_refused(tmp_path: Path, team) -> None:
    http, tokens, _ = team
    store = open_store(tmp_path / "demo.db")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO local_meta(key, value) VALUES ('demo', '1')")
    with pytest.raises(DemoDatabase, match="demo"):
        _client(store, http, tokens["ann"]).sync()
    store.close()


def test_a_not_a_duplicate_decision_syncs_to_the_other_laptop(tmp_path: Path, team) -> None:
    from crmtui.services.upkeep.duplicate_decisions import mark_not_duplicate, not_duplicate_pairs

    http, tokens, north = team
    ann = open_store(tmp_path / "ann.db")
    bob = open_store(tmp_path / "bob.db")
    _client(ann, http, tokens["ann"]).sync()
    with ann.write() as tx:
        data = ContactCreate(name="Jon Smith", city="Leeds")
        one = create_contact(tx=tx, data=data, region="DE")
        two = create_contact(tx=tx, data=ContactCreate(name="John Smith"), region="DE")
        update_contact(
            tx=tx, contact_id=one.id, data=ContactUpdate(territory_id=north), region="DE"
        )
        update_contact(
            tx=tx, contact_id=two.id, data=ContactUpdate(territory_id=north), region="DE"
        )
    with ann.write() as tx:
        mark_not_duplicate(tx=tx, contact_id=two.id, other_id=one.id)
    report = _client(ann, http, tokens["ann"]).sync()
    assert report.rejected == 0, report.reasons
    _client(bob, http, tokens["bob"]).sync()
    with bob.engine.connect() as conn:
        pairs = not_duplicate_pairs(conn.connection.driver_connection)  # type: ignore[arg-type]
    assert pairs == {tuple(sorted((one.id, two.id)))}
    ann.close()
    bob.close()
