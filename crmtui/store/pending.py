"""Counting new pending journal rows into `sync_pending` and `sync_pending_total`.

The journal's writers (`WriteTx.flush`, the bulk writer) call `note_pending` for the
rows they insert unpushed, in the same transaction; triggers on `journal` count rows
down when they are marked pushed or deleted, whoever does it (migrations 0011, 0017).
Inserts are counted here rather than by a trigger: a trigger on `journal` inserts cost
~100 us a row (a bulk import journals 455k rows, a pull journals every change it applies).

A journal row is counted under its *key* (`pending_key`): its own entity and row id,
except a packed create of a phone, email or address, which is counted under its
contact (the `contact_id` its packed value carries, which never changes). So a new
contact with its items is one `sync_pending` row, not one per item (an import of
100k contacts wrote 455k); the triggers derive the same key from the same journal row.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable

from crmtui.store.sql_in import select_in

ITEM_ENTITIES = ("contact_phone", "contact_email", "contact_address")
"""A contact's phones, emails and addresses: a user changed their contact."""

PendingKey = tuple[str, str, str | None]
"""(entity, row id, the item's contact id when the writer has it) of one journal row's key."""


def pending_key(
    entity: str, row_id: str, op: str, value: str | None, contact: str | None = None
) -> PendingKey:
    """The key a journal row is counted under (as the 0017 triggers derive it).

    A packed item create counts under its contact (`contact`, or the `contact_id`
    its value carries): the key comes from the journal row alone, so a later merge
    that moves the item to another contact cannot make the count-down miss it.
    """
    if op == "create" and value is not None and entity in ITEM_ENTITIES:
        owner = contact if contact is not None else json.loads(value)["contact_id"]
        return ("contact", owner, None)
    return (entity, row_id, contact)


_UPSERT = (
    "INSERT INTO sync_pending (entity, row_id, record_entity, record_id, ops)"
    " VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (entity, row_id) DO UPDATE SET ops = ops + excluded.ops"
)
_ADD_TOTAL = (
    "INSERT INTO sync_pending_total (entity, records) VALUES (?, ?)"
    " ON CONFLICT (entity) DO UPDATE SET records = records + excluded.records"
)


def note_pending(
    db: sqlite3.Connection,
    keys: Iterable[PendingKey],
    seen: set[tuple[str, str]],
    *,
    created: bool = False,
) -> None:
    """Count new unpushed journal rows (one key per row) and the records they change.

    `seen` holds the records this transaction already counted as pending (the
    writer's own set, updated here), so a bulk import asks the table about none of
    its records. With `created`, the rows are creates: a record that is not an item
    cannot have been pending before its own create.
    """
    counts = Counter(keys)
    if not counts:
        return
    owner: dict[tuple[str, str], str] = {}
    for table in ITEM_ENTITIES:
        ids = sorted({r for e, r, c in counts if e == table and c is None})
        if ids:
            for item, contact in select_in(db, f"SELECT id, contact_id FROM {table}", ids):
                owner[(table, item)] = contact
    rows = [
        (e, r, "contact", c or owner.get((e, r), r), n) if e in ITEM_ENTITIES else (e, r, e, r, n)
        for (e, r, c), n in counts.items()
    ]
    records = {(row[2], row[3]) for row in rows}
    fresh = records - seen
    new = {(e, r) for e, r, _, _, _ in rows if created and e not in ITEM_ENTITIES} & fresh
    unknown = fresh - new
    for entity in sorted({e for e, _ in unknown}):
        # Entity first: ix_sync_pending_record answers it without a scan.
        ids = sorted(r for e, r in unknown if e == entity)
        counted = {
            rid
            for (rid,) in select_in(
                db,
                "SELECT DISTINCT record_id FROM sync_pending",
                ids,
                column="record_id",
                where="record_entity = ?",
                params=(entity,),
            )
        }
        new |= {(entity, r) for r in ids if r not in counted}
    db.executemany(_UPSERT, rows)
    db.executemany(_ADD_TOTAL, sorted(Counter(e for e, _ in new).items()))
    seen |= records
