"""0017: a new contact's item creates count under the contact; a database counted the 0011
way (a row per item) is re-keyed without losing a pending op, and pushes the same ops."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select

from crmtui.formats.csv_import import apply_import, plan_import, read_csv
from crmtui.server import tables as t
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.store.migrate import _alembic_config, current_revision, upgrade
from crmtui.store.schema_version import SCHEMA_HEAD
from crmtui.sync.client import pending_count, pending_ops
from tests.sync_support import BACKENDS, Team, make_team
from tests.test_journal_packing import _unpack_into_old_form
from tests.test_sync_pending_counts import kept_counts, recount

# The 0011 keying: one row per entity and row id with pending journal rows.
_PER_ROW = (
    "SELECT entity, row_id, count(*) FROM journal WHERE pushed_at IS NULL"
    " GROUP BY entity, row_id ORDER BY entity, row_id"
)
_KEPT = "SELECT entity, row_id, ops FROM sync_pending ORDER BY entity, row_id"


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    yield from make_team(request, tmp_path)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _journal_with_items(store: Store, tmp_path: Path) -> str:
    """Items made every way: a service create, an old unpacked create, a bulk import,
    a phone added to a contact later, and an item field changed. Returns a contact id."""
    with store.write() as tx:
        first = create_contact(
            tx=tx,
            data=ContactCreate(name="Ann Old", city="Leeds", phone="+44 20 7946 0000"),
            region="DE",
        )
        plain = create_contact(tx=tx, data=ContactCreate(name="No Items"), region="DE")
    _unpack_into_old_form(store, first.id)
    csv = tmp_path / "people.csv"
    csv.write_text(
        "Name,Email,Phone,Company,City\n"
        "Zoë Weiß,zoe@example.com,+49 30 1234567,Globex,Köln\n"
        "Li Wei,li@example.com,,Globex,\n",
        encoding="utf-8",
    )
    with store.write() as tx:
        apply_import(tx, plan_import(tx, read_csv(csv), region="DE"), source_label="import:t")
    with store.write() as tx:  # an item added to a contact, and an item's field changed
        update_contact(
            tx=tx,
            contact_id=plain.id,
            data=ContactUpdate(email="plain@example.com"),
            region="DE",
        )
        update_contact(tx=tx, contact_id=first.id, data=ContactUpdate(city="Hull"), region="DE")
    return first.id


def test_an_0016_database_is_rekeyed_without_loss_and_pushes_the_same_ops(
    team: Team, tmp_path: Path
) -> None:
    ann, token = team.laptop("ann")
    _journal_with_items(ann, tmp_path)
    # Counted the 0017 way: a new contact and its items are one row.
    assert kept_counts(ann.path) == recount(ann.path)
    rekeyed = _rows(ann.path, _KEPT)
    assert len(rekeyed) < len(_rows(ann.path, _PER_ROW))
    expected = [(op.op_id, op.entity, op.row_id) for op in pending_ops(ann)]
    records_and_rows = kept_counts(ann.path)

    # Back to 0016: the counts as 0011 kept them, a row per item with pending ops.
    command.downgrade(_alembic_config(ann.path), "0016_mail")
    assert current_revision(ann.path) == "0016_mail"
    assert _rows(ann.path, _KEPT) == _rows(ann.path, _PER_ROW)
    assert any(e == "contact_phone" for e, _, _ in _rows(ann.path, _KEPT))
    assert kept_counts(ann.path) == records_and_rows

    upgrade(ann.path)
    assert current_revision(ann.path) == SCHEMA_HEAD  # 0017_pending, or a later head
    assert _rows(ann.path, _KEPT) == rekeyed
    assert kept_counts(ann.path) == records_and_rows == recount(ann.path)
    assert [(op.op_id, op.entity, op.row_id) for op in pending_ops(ann)] == expected

    report = team.sync_client(ann, token, batch=5).sync()
    assert report.rejected == 0 and report.pushed == len(expected), report.reasons
    assert pending_count(ann) == 0
    assert kept_counts(ann.path) == ({}, 0)
    assert _rows(ann.path, _KEPT) == []
    with team.engine.connect() as conn:
        pushed = set(conn.execute(select(t.op_log.c.op_id)).scalars())
    assert {op_id for op_id, _, _ in expected} <= pushed


def test_an_item_moved_to_another_contact_still_counts_down(store: Store, tmp_path: Path) -> None:
    first = _journal_with_items(store, tmp_path)
    with store.write() as tx:
        other = create_contact(tx=tx, data=ContactCreate(name="Other"), region="DE")
        phone = tx.db.execute(
            "SELECT id FROM contact_phone WHERE contact_id = ?", (first,)
        ).fetchone()[0]
        # As a merge does: the item's contact changes while its create is pending.
        tx.db.execute("UPDATE contact_phone SET contact_id = ? WHERE id = ?", (other.id, phone))
    assert kept_counts(store.path)[1] == recount(store.path)[1]
    with store.write() as tx:
        tx.db.execute("UPDATE journal SET pushed_at = created_at WHERE pushed_at IS NULL")
    assert kept_counts(store.path) == ({}, 0)
    assert _rows(store.path, _KEPT) == []
