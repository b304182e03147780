"""A rep's scope changes between syncs (issue #14): snapshot in, purge out, nothing lost.

Team (tests/sync_support.py): North (ann, bob), South (sue), Region over both
(max, a manager), root (admin). Real laptops (local stores and `SyncClient`)
against the server on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmtui.formats.jsonl import export_jsonl
from crmtui.server import admin
from crmtui.services.address_book.accounts import (
    AccountCreate,
    AccountUpdate,
    create_account,
    update_account,
)
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store
from crmtui.store.models import Account, Contact
from crmtui.sync import client as sync_client
from crmtui.sync.client import SyncClient, pending_count
from crmtui.sync.conflicts import list_conflicts, restore
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


class Laptop:
    """A rep's laptop: its store and a sync client saving rescue files under tmp."""

    def __init__(self, team: Team, rep: str) -> None:
        self.store, token = team.laptop(rep)
        self.rescue = team.tmp / f"rescue-{rep}"
        self.client = SyncClient(self.store, team.http(token), batch=50, rescue_dir=self.rescue)
        self.client.sync()  # enrolment: the territories arrive

    def sync(self) -> sync_client.SyncReport:
        """One `crm sync`."""
        return self.client.sync()

    def account(self, name: str, territory: str | None, notes: str = "") -> str:
        """Create an account locally (synced by the next `sync`)."""
        with self.store.write() as tx:
            made = create_account(
                tx=tx,
                data=AccountCreate(name=name, territory_id=territory, notes=notes),
                region="DE",
            )
        return made.id

    def edit(self, account: str, **values: object) -> None:
        """Edit an account locally."""
        with self.store.write() as tx:
            update_account(tx=tx, account_id=account, data=AccountUpdate(**values), region="DE")


def _dump(store: Store) -> str:
    """Everything the laptop holds, as text: every table (journal, search index, notes)."""
    with store.engine.connect() as conn:
        db = conn.connection.driver_connection
        return "\n".join(db.iterdump())  # type: ignore[union-attr]


def _export(store: Store) -> str:
    with store.engine.connect() as conn:
        out = io.StringIO()
        export_jsonl(conn.connection.driver_connection, out)  # type: ignore[arg-type]
        return out.getvalue()


def _get(store: Store, account: str) -> Account | None:
    with store.read() as s:
        return s.get(Account, account)


def test_a_rep_given_a_territory_gets_its_existing_records_whole(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, sue, bob = Laptop(team, "ann"), Laptop(team, "sue"), Laptop(team, "bob")
    ids = [sue.account(f"South {i}", team.south, notes=f"note {i}") for i in range(7)]
    sue.sync()
    ann.sync()  # her cursor is past every South record, which she could not see then
    assert _get(ann.store, ids[0]) is None
    admin.assign(team.engine, "ann", "South")
    sue.edit(ids[0], city="Leeds")  # a later partial edit: used to make a ghost row
    sue.sync()
    # Pages of 3: the snapshot pages like the feed.
    monkeypatch.setattr(sync_client, "PULL_PAGE", 3)
    report = ann.sync()
    assert report.pulled >= 7
    for i, account in enumerate(ids):
        got = _get(ann.store, account)
        assert got is not None and (got.name, got.notes) == (f"South {i}", f"note {i}")
        assert got.territory_id == team.south
    first = _get(ann.store, ids[0])
    assert first is not None and first.city == "Leeds"
    # Nothing of hers to push back: the snapshot is journaled as already pushed.
    assert pending_count(ann.store) == 0
    # A second sync brings nothing again.
    assert ann.sync().pulled == 0
    # The snapshot was for ann's laptop alone: bob (North) is sent none of it.
    bob.sync()
    assert all(_get(bob.store, account) is None for account in ids)


def test_a_rep_losing_a_territory_keeps_no_value_of_it_but_her_own_edit(team: Team) -> None:
    admin.assign(team.engine, "ann", "South")
    ann, sue = Laptop(team, "ann"), Laptop(team, "sue")
    secret = sue.account("Secret South Ltd", team.south, notes="the price is quokka")
    with sue.store.write() as tx:
        contact = create_contact(
            tx=tx,
            data=ContactCreate(name="Zebedee Quarrington", company="Secret South Ltd"),
            region="DE",
        )
    assert sue.sync().rejected == 0
    ann.sync()
    assert (got := _get(ann.store, secret)) is not None and got.name == "Secret South Ltd"
    with ann.store.read() as s:
        assert s.get(Contact, contact.id) is not None
    sue.edit(secret, notes="the price is wombat")  # an overwritten-value note on ann's side later
    ann.edit(secret, city="Hull")  # ann's offline edit, not yet accepted
    sue.sync()
    admin.unassign(team.engine, "ann", "South")
    report = ann.sync()
    assert report.removed >= 2
    assert _get(ann.store, secret) is None
    with ann.store.read() as s:
        assert s.get(Contact, contact.id) is None
    text = _dump(ann.store) + _export(ann.store)
    # Words no id or clock reading can contain by chance.
    for value in ("Secret South", "quokka", "wombat", "Zebedee", "Quarrington"):
        assert value not in text, value
    # The tombstone: the id and that it left, no value.
    with ann.store.engine.connect() as conn:
        stones = conn.exec_driver_sql(
            "SELECT op, field, value, pushed_at IS NOT NULL FROM journal WHERE row_id = ?",
            (secret,),
        ).all()
    assert [tuple(r) for r in stones] == [("delete", None, None, 1)]
    # Her own edit, refused as outside her territories, is kept for her (her value only).
    [note] = [c for c in list_conflicts(ann.store) if c.row_id == secret]
    assert (note.kind, note.field, note.mine, note.theirs) == ("moved_away", "city", '"Hull"', None)
    assert any("left your territories" in line for line in report.set_aside)
    # Back in scope: the snapshot brings the record back whole, and her edit can be restored.
    admin.assign(team.engine, "ann", "South")
    ann.sync()
    back = _get(ann.store, secret)
    assert back is not None and (back.name, back.notes) == (
        "Secret South Ltd",
        "the price is wombat",
    )
    restore(ann.store, note.id)
    ann.sync()
    sue.sync()
    again = _get(sue.store, secret)
    assert again is not None and again.city == "Hull"


def test_an_offline_edit_of_a_record_a_manager_moved_away_ends_in_conflicts(team: Team) -> None:
    ann, max_ = Laptop(team, "ann"), Laptop(team, "max")
    account = ann.account("Northern Widgets", team.north, notes="call Tuesdays")
    ann.sync()
    max_.sync()
    max_.edit(account, territory_id=team.south)
    max_.sync()
    ann.edit(account, notes="ann's offline note")
    # The edit is made while the move is already on the server; the pull comes first
    # here (as when a push failed half way): the pending edit must not vanish.
    ann.client.pull(sync_client.SyncReport())
    assert _get(ann.store, account) is None
    [note] = [c for c in list_conflicts(ann.store) if c.row_id == account]
    assert (note.kind, note.field, note.mine) == ("moved_away", "notes", '"ann\'s offline note"')
    [rescue] = sorted(ann.rescue.glob("rescue-*.jsonl"))
    lines = [json.loads(x) for x in rescue.read_text().splitlines()]
    assert lines[0]["crmtui_rescue"] == 1
    assert [(op["row_id"], op["field"], op["value"]) for op in lines[1:]] == [
        (account, "notes", '"ann\'s offline note"')
    ]
    assert pending_count(ann.store) == 0
    assert "call Tuesdays" not in _dump(ann.store)
