"""`BulkWriter.insert_contacts` writes what an `insert` per table writes (issue #15).

New contacts and their items counted pending at once (one `sync_pending` upsert per
contact instead of one per row) must leave the tables, the journal and the pending
counts exactly as inserting the contacts and then each item table does.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtui.store.bulk import BulkWriter, full_row, full_rows
from crmtui.store.database import Store
from crmtui.store.journal import WriteTx
from crmtui.store.models import CONTACT_ITEMS, Contact
from crmtui.store.types import format_timestamp
from tests.budget import examples

Shape = list[tuple[int, int, int]]  # per contact: phones, emails, addresses


def _rows(
    tx: WriteTx, prefix: str, shape: Shape
) -> tuple[list[dict[str, Any]], list[tuple[Any, list[dict[str, Any]]]]]:
    contacts = [
        full_row(tx, Contact, {"id": f"{prefix}c{i}", "name": f"P {i}", "source": "import:t"})
        for i in range(len(shape))
    ]
    made: dict[str, list[dict[str, Any]]] = {t: [] for t in CONTACT_ITEMS}
    for i, counts in enumerate(shape):
        cid = f"{prefix}c{i}"
        for n in range(counts[0]):
            made["contact_phone"].append(
                {"id": f"{prefix}p{i}.{n}", "contact_id": cid, "number": f"030 {i}{n}",
                 "e164": f"+4930{i}{n}", "is_primary": n == 0}
            )  # fmt: skip
        for n in range(counts[1]):
            made["contact_email"].append(
                {"id": f"{prefix}e{i}.{n}", "contact_id": cid, "address": f"p{i}.{n}@x.example"}
            )
        for n in range(counts[2]):
            made["contact_address"].append(
                {"id": f"{prefix}a{i}.{n}", "contact_id": cid, "city": "Berlin", "country": "DE"}
            )
    items = [(CONTACT_ITEMS[t], full_rows(tx, CONTACT_ITEMS[t], v)) for t, v in made.items()]
    return contacts, items


def _state(db: sqlite3.Connection, prefix: str, stamp: str) -> dict[str, Any]:
    """What a transaction wrote for the records with ids starting with `prefix`, with the
    prefix and its timestamp (`stamp`) taken out (so two writes of one shape compare equal)."""
    like = prefix + "%"

    def plain(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [
            tuple(
                v.replace(prefix, "").replace(stamp, "NOW") if isinstance(v, str) else v for v in r
            )
            for r in rows
        ]

    tables = {
        t: plain(db.execute(f"SELECT * FROM {t} WHERE id LIKE ? ORDER BY id", (like,)).fetchall())
        for t in ("contact", *CONTACT_ITEMS)
    }
    return {
        "tables": tables,
        # Ids and clock readings are fresh per write; the rest, in the order written.
        "journal": plain(
            db.execute(
                "SELECT entity, row_id, op, field, value, pushed_at FROM journal"
                " WHERE row_id LIKE ? ORDER BY hlc",
                (like,),
            ).fetchall()
        ),
        "pending": plain(
            db.execute(
                "SELECT entity, row_id, record_entity, record_id, ops FROM sync_pending"
                " WHERE row_id LIKE ? ORDER BY row_id",
                (like,),
            ).fetchall()
        ),
    }


def _totals(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT entity, records FROM sync_pending_total"))


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shape=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=5
    )
)
def test_insert_contacts_writes_what_an_insert_per_table_writes(store: Store, shape: Shape) -> None:
    db = sqlite3.connect(store.path)
    run = _totals(db).get("contact", 0)
    prefix_a, prefix_b = f"a{run}-", f"b{run}-"
    with store.write() as tx:  # the old way: the contacts, then each item table
        writer = BulkWriter(tx)
        contacts, items = _rows(tx, prefix_a, shape)
        writer.insert(Contact, contacts)
        for model, rows in items:
            writer.insert(model, rows)
        ops_a = writer.ops
        stamp_a = format_timestamp(tx.now)
    after_a = _totals(db)
    with store.write() as tx:
        writer = BulkWriter(tx)
        contacts, items = _rows(tx, prefix_b, shape)
        assert writer.insert_contacts(contacts, items) == len(shape)
        ops_b = writer.ops
        stamp_b = format_timestamp(tx.now)
    after_b = _totals(db)
    state_a, state_b = _state(db, prefix_a, stamp_a), _state(db, prefix_b, stamp_b)
    assert state_b == state_a
    assert ops_b == ops_a
    # Each write counted its contacts once as pending records (items count on them).
    assert after_a["contact"] - run == len(shape)
    assert after_b["contact"] - after_a["contact"] == len(shape)
    # One pending row per contact, holding its create and its items' creates.
    pending = state_b["pending"]
    assert [p[4] for p in pending] == [1 + sum(counts) for counts in shape]
    db.close()


def test_insert_contacts_refuses_an_item_of_another_contact(store: Store) -> None:
    with store.write() as tx:
        contacts, items = _rows(tx, "x-", [(1, 0, 0)])
        BulkWriter(tx).insert(Contact, contacts)
        others, _ = _rows(tx, "y-", [(0, 0, 0)])
        with pytest.raises(ValueError, match="new contacts"):
            BulkWriter(tx).insert_contacts(others, items)  # x-c0's phone
