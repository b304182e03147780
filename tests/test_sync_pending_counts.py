"""Pending counts: ops a push would send (SQL over the journal), and the changed records a
user is shown, kept by the journal's triggers (0011) and equal to a recount at every step."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from crmtui.formats.csv_import import apply_import, plan_import, read_csv
from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    delete_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.sync.client import pending_count, pending_ops
from crmtui.sync.sync_summary import (
    pending_by_entity,
    pending_journal_rows,
    pending_records,
    read_sync_summary,
)
from tests.test_journal_packing import _unpack_into_old_form


def _mixed_journal(store: Store, tmp_path: Path) -> None:
    """Packed creates (service and bulk import), an old unpacked create, sets, a delete,
    ops already pushed, and a pulled op from another device."""
    with store.write() as tx:
        old = create_contact(
            tx=tx,
            data=ContactCreate(name="Old Form", city="Leeds", phone="+44 20 7946 0000"),
            region="DE",
        )
        gone = create_contact(tx=tx, data=ContactCreate(name="Gone Soon"), region="DE")
        create_account(tx=tx, data=AccountCreate(name="Acme"), region="DE")
    _unpack_into_old_form(store, old.id)
    with store.write() as tx:
        update_contact(tx=tx, contact_id=old.id, data=ContactUpdate(city="Hull"), region="DE")
        delete_contact(tx=tx, contact_id=gone.id)
    csv = tmp_path / "people.csv"
    csv.write_text(
        "Name,Email,Company,City\n"
        "Zoë Weiß,zoe@example.com,Globex,Köln\n"
        "Li Wei,li@example.com,Globex,\n",
        encoding="utf-8",
    )
    with store.write() as tx:
        plan = plan_import(tx, read_csv(csv), region="DE")
        apply_import(tx, plan, source_label="import:test")
    with store.write() as tx:
        # Ops the server has answered, and one pulled from another device: not pending.
        tx.db.execute(
            "UPDATE journal SET pushed_at = created_at WHERE row_id IN"
            " (SELECT row_id FROM journal WHERE entity = 'account' LIMIT 1)"
        )
        tx.db.execute(
            "INSERT INTO journal (id, tx_id, hlc, device_id, entity, row_id, op, field, value,"
            " created_at, pushed_at) VALUES ('r1', 'remote-1', '0000000000001-00000', 'other',"
            " 'contact', ?, 'set', 'city', '\"York\"', '2026-01-01', '2026-01-01')",
            (old.id,),
        )


# The oracle: changed records counted from the journal itself, items as their contact.
_RECOUNT = """
SELECT entity, count(DISTINCT row_id) FROM (
    SELECT CASE WHEN coalesce(p.contact_id, e.contact_id, a.contact_id) IS NULL
                THEN j.entity ELSE 'contact' END AS entity,
           coalesce(p.contact_id, e.contact_id, a.contact_id, j.row_id) AS row_id
    FROM journal j
    LEFT JOIN contact_phone p ON j.entity = 'contact_phone' AND p.id = j.row_id
    LEFT JOIN contact_email e ON j.entity = 'contact_email' AND e.id = j.row_id
    LEFT JOIN contact_address a ON j.entity = 'contact_address' AND a.id = j.row_id
    WHERE j.pushed_at IS NULL
) GROUP BY entity
"""


def recount(path: Path) -> tuple[dict[str, int], int]:
    """Changed records per entity and pending journal rows, counted from the journal."""
    db = sqlite3.connect(path)
    try:
        records = {e: n for e, n in db.execute(_RECOUNT)}
        rows = db.execute("SELECT count(*) FROM journal WHERE pushed_at IS NULL").fetchone()[0]
        return records, rows
    finally:
        db.close()


def kept_counts(path: Path) -> tuple[dict[str, int], int]:
    """What the triggers kept: changed records per entity and pending journal rows."""
    db = sqlite3.connect(path)
    try:
        return pending_records(db), pending_journal_rows(db)
    finally:
        db.close()


def test_pending_counts_per_entity_equal_the_pending_ops(store: Store, tmp_path: Path) -> None:
    _mixed_journal(store, tmp_path)
    expected = Counter(op.entity for op in pending_ops(store))
    db = sqlite3.connect(store.path)
    try:
        forms = dict(db.execute("SELECT op, count(*) FROM journal GROUP BY op").fetchall())
        by_entity = pending_by_entity(db)
        summary = read_sync_summary(db)
    finally:
        db.close()
    # The journal really is mixed: old set rows, packed creates, a delete.
    assert forms["set"] > 3 and forms["create"] >= 5 and forms["delete"] == 1
    assert set(expected) >= {"contact", "account", "contact_email"}
    assert by_entity == dict(expected)
    assert pending_count(store) == sum(expected.values())
    # The header counts records: 2 service contacts + 2 imported, and the imported
    # company (Acme's ops were answered); every item is its contact's.
    records, _ = recount(store.path)
    assert records == {"contact": 4, "account": 1}
    assert summary.pending == 5
    assert kept_counts(store.path) == recount(store.path)


def test_the_kept_counts_follow_every_way_ops_come_and_go(store: Store, tmp_path: Path) -> None:
    _mixed_journal(store, tmp_path)
    assert kept_counts(store.path) == recount(store.path)
    with store.write() as tx:  # a record's other ops leave one pending
        tx.db.execute("UPDATE journal SET pushed_at = created_at WHERE entity = 'contact_email'")
    assert kept_counts(store.path) == recount(store.path)
    with store.write() as tx:  # dropped ops (a purge, a downgrade) count down too
        tx.db.execute("DELETE FROM journal WHERE pushed_at IS NULL AND op = 'delete'")
    assert kept_counts(store.path) == recount(store.path)
    with store.write() as tx:  # everything answered: nothing pending, no stale rows
        tx.db.execute("UPDATE journal SET pushed_at = created_at WHERE pushed_at IS NULL")
    assert kept_counts(store.path) == ({}, 0)
    db = sqlite3.connect(store.path)
    try:
        assert db.execute("SELECT count(*) FROM sync_pending").fetchone()[0] == 0
    finally:
        db.close()


def test_nothing_pending_counts_nothing(store: Store) -> None:
    db = sqlite3.connect(store.path)
    try:
        assert pending_by_entity(db) == {}
        assert read_sync_summary(db).pending == 0
    finally:
        db.close()
    assert pending_count(store) == 0
