"""Two laptops upgrade through 0007 with the same synced contacts, then sync.

0007 turns every contact's phone, mobile, email and city columns into items, with ids
derived from the contact (`contact_details.item_id`), and journals their creates so the
server learns them. Both laptops make the same items: after syncing, every laptop and
a newcomer hold one set of items per contact, nothing is a conflict, and the first push
(a whole migration in one transaction) goes through in ordinary batches.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store, open_store
from crmtui.store.migrate import _alembic_config
from crmtui.sync.client import _SELECT_PENDING, SyncClient, pending_count, pending_records
from tests.sync_support import Team

ITEMS = ("contact_phone", "contact_email", "contact_address")
PEOPLE = [
    ("Ana Ortiz", "+49 30 1234567", "+49 151 7654321", "ana@example.org", "Berlin"),
    ("Ben Okafor", "+49 40 5555555", None, "ben@example.org", "Hamburg"),
    ("Cem Yilmaz", None, "+49 160 1111111", None, "Köln"),
]


def _items(path: Path) -> list[tuple[object, ...]]:
    """Every live item of the database at `path`: table, id, contact and value."""
    db = sqlite3.connect(path)
    try:
        return sorted(
            row
            for table, value in (
                ("contact_phone", "number"),
                ("contact_email", "address"),
                ("contact_address", "city"),
            )
            for row in db.execute(
                f"SELECT '{table}', id, contact_id, {value}, is_primary FROM {table}"
                " WHERE deleted_at IS NULL"
            )
        )
    finally:
        db.close()


def _strip_items(store: Store) -> None:
    """Remove the items and their journal rows: the contacts keep their columns."""
    with store.write() as tx:
        for table in ITEMS:
            tx.db.execute("DELETE FROM journal WHERE entity = ?", (table,))
            tx.db.execute(f"DELETE FROM {table}")


def _columns(path: Path) -> list[tuple[object, ...]]:
    """The contacts' phone, mobile, email and city columns."""
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT id, phone, mobile, email, city FROM contact ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def _as_before_0007(stores: list[Store]) -> None:
    """Back to the schema before items: the contacts keep their columns only."""
    for store in stores:
        store.close()
        command.downgrade(_alembic_config(store.path), "0006_report_indexes")


def _sync(store: Store, team: Team, token: str) -> SyncClient:
    client = team.sync_client(store, token, batch=7)
    report = client.sync()
    assert report.rejected == 0 and report.conflicts == 0, report.reasons
    return client


def test_two_laptops_migrating_the_same_contacts_sync_one_set_of_items(tmp_path: Path) -> None:
    team = Team(str(tmp_path / "server.db"), tmp_path)
    try:
        ann, ann_token = team.laptop("ann", "ann")
        bob, bob_token = team.laptop("bob", "bob")
        _sync(ann, team, ann_token)  # enrolment: the territories arrive
        with ann.write() as tx:
            create_account(
                tx=tx, data=AccountCreate(name="Nordwerk", territory_id=team.north), region="DE"
            )
            for name, phone, mobile, email, city in PEOPLE:
                create_contact(
                    tx=tx,
                    data=ContactCreate(
                        name=name,
                        company="Nordwerk",  # placed in North, so bob sees them
                        phone=phone,
                        mobile=mobile,
                        email=email,
                        city=city,
                    ),
                    region="DE",
                )
        _strip_items(ann)  # as a crmtui before items wrote them: the columns only
        _sync(ann, team, ann_token)
        _sync(bob, team, bob_token)
        assert _items(bob.path) == [] and _columns(bob.path) == _columns(ann.path)

        # Both laptops upgrade through 0007, each on its own.
        _as_before_0007([ann, bob])
        ann, bob = open_store(ann.path), open_store(bob.path)
        team.stores += [ann, bob]
        derived = _items(ann.path)
        assert len(derived) == 9 and _items(bob.path) == derived  # the same ids on both
        assert {str(i[1])[14] for i in derived} == {"5"}  # derived (UUIDv5), not random
        # The upgrade journaled the items: three changed contacts, many field operations.
        assert pending_records(ann) == {"contact": 3}
        assert pending_count(ann) > 9

        # The push takes a batch's transaction through its own index, not by reading
        # every pending row once per batch (the migration is one transaction).
        with ann.engine.connect() as conn:
            plan = " ".join(
                str(r[-1])
                for r in conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {_SELECT_PENDING} AND tx_id = ? ORDER BY hlc, id",
                    ("device", "tx"),
                )
            )
        assert "ix_journal_pending_tx" in plan, plan

        for store, token in ((ann, ann_token), (bob, bob_token), (ann, ann_token)):
            _sync(store, team, token)
        _sync(bob, team, bob_token)
        for store in (ann, bob):
            assert pending_count(store) == 0 and pending_records(store) == {}
            with store.engine.connect() as conn:
                kept = conn.exec_driver_sql(
                    "SELECT kind, entity, field, kept_value, other_value FROM sync_conflict"
                ).all()
            assert kept == []  # the second laptop's equal values are no conflict
        # One set of items per contact, the same on both; a newcomer pulls the same.
        newcomer, new_token = team.laptop("bob", "bob-new")
        _sync(newcomer, team, new_token)
        both = _items(ann.path)
        assert _items(bob.path) == both and _items(newcomer.path) == both
        contacts = {c for _, _, c, _, _ in both}
        assert len(contacts) == 3
        phones = sorted(v for t, _, _, v, _ in both if t == "contact_phone")
        assert phones == sorted(p for _, a, b, _, _ in PEOPLE for p in (a, b) if p)
    finally:
        team.close()
