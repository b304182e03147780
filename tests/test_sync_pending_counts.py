"""Pending counts come from SQL and equal the ops a push would send, entity by entity."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from crmtui.formats.csv_import import apply_import, plan_import, read_csv
from crmtui.services.accounts import AccountCreate, create_account
from crmtui.services.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    delete_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.sync.client import pending_count, pending_ops
from crmtui.sync.sync_summary import pending_by_entity, read_sync_summary
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
    assert set(expected) >= {"contact", "account"}
    assert by_entity == dict(expected)
    assert pending_count(store) == summary.pending == sum(expected.values())


def test_nothing_pending_counts_nothing(store: Store) -> None:
    db = sqlite3.connect(store.path)
    try:
        assert pending_by_entity(db) == {}
        assert read_sync_summary(db).pending == 0
    finally:
        db.close()
    assert pending_count(store) == 0
