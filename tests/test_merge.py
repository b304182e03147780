"""Merging contacts: field choice, unions, children moved, journaled; undo restores exactly."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.validate import InvalidInput
from crmtui.search.lookup import search_contacts
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler
from crmtui.services.sales.deals import DealCreate, create_deal
from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID
from crmtui.services.upkeep.merge import MergeError, merge_contacts, undo_merge
from crmtui.store.database import Store

NO_CAP = CallCap(10**6, 30)


def _seed(store: Store) -> tuple[str, str]:
    with store.write() as tx:
        a = create_contact(
            tx=tx,
            data=ContactCreate(
                name="John Smith", company="Acme", email="john@acme.com", phone="+49 30 1111111",
                tags=["vip"], notes="met at fair",
            ),
            region="DE",
        )  # fmt: skip
        b = create_contact(
            tx=tx,
            data=ContactCreate(
                name="Mr J. Smith", email="j.smith@acme.com", phone="+49 30 2222222",
                mobile="+49 151 3333333", title="CFO", tags=["de", "vip"], do_not_call=True,
                city="Berlin", notes="prefers mornings",
            ),
            region="DE",
        )  # fmt: skip
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=b.id, outcome="no-answer"),
            cap=NO_CAP,
            force=True,
        )
        create_tickler(
            tx=tx,
            data=TicklerCreate(
                text="call back", due_at=datetime.now(UTC) + timedelta(days=1), contact_id=b.id
            ),
        )
        create_deal(
            tx=tx,
            data=DealCreate(name="Acme renewal", contact_id=b.id, pipeline=DEFAULT_PIPELINE_ID),
        )
    return a.id, b.id


def _rows(path: Path, a: str, b: str) -> dict[tuple[str, str], dict[str, object]]:
    """Every row a merge touches, as stored, keyed by (table, id)."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    out = {}
    for table, where in (
        ("contact", "id IN (?, ?)"),
        ("activity", "contact_id IN (?, ?)"),
        ("tickler", "contact_id IN (?, ?)"),
        ("deal", "contact_id IN (?, ?)"),
    ):
        for row in db.execute(f"SELECT * FROM {table} WHERE {where}", (a, b)):
            out[(table, row["id"])] = dict(row)
    db.close()
    return out


def test_merge_unions_fills_and_moves_children(store: Store, db_path: Path) -> None:
    a, b = _seed(store)
    with store.write() as tx:
        record = merge_contacts(tx=tx, survivor_id=a, merged_id=b)
    rows = _rows(db_path, a, b)
    survivor = rows[("contact", a)]
    assert survivor["name"] == "John Smith"  # A preferred
    assert survivor["title"] == "CFO"  # filled from B
    assert survivor["city"] == "Berlin"
    assert survivor["tags"] == '["vip", "de"]'
    assert survivor["do_not_call"] == 1  # the opt-out stays
    assert survivor["phone_e164"] == "+49301111111"
    assert survivor["mobile_e164"] == "+491513333333"  # B's mobile fills the empty one
    notes = str(survivor["notes"])
    assert "met at fair" in notes and "prefers mornings" in notes
    assert "+49 30 2222222" in notes and "j.smith@acme.com" in notes  # nothing dropped
    assert rows[("contact", b)]["deleted_at"] is not None
    children = [k for k in rows if k[0] != "contact"]
    assert len(children) == 3
    assert all(rows[k]["contact_id"] == a for k in children)
    db = sqlite3.connect(db_path)
    ops = db.execute(
        "SELECT entity, op, field FROM journal WHERE tx_id = ("
        "SELECT tx_id FROM journal WHERE op = 'delete' AND row_id = ?)",
        (b,),
    ).fetchall()
    assert ("contact", "delete", None) in ops
    assert ("contact", "set", "title") in ops
    moved = [e for e, _, f in ops if f == "contact_id"]
    assert sum(1 for e in moved if not e.startswith("contact_")) == 3
    # B's phones and email move as items: the survivor keeps every number.
    assert sum(1 for e in moved if e.startswith("contact_")) == 4
    numbers = {
        r[0]
        for r in db.execute(
            "SELECT e164 FROM contact_phone WHERE contact_id = ? AND deleted_at IS NULL", (a,)
        )
    }
    assert {"+49302222222", "+491513333333", "+49301111111"} <= numbers
    assert record.snapshot["moved"]["activity"]
    hits = [h.id for h in search_contacts(db, "smith")]
    assert a in hits and b not in hits


def test_undo_restores_every_column_but_updated_at(store: Store, db_path: Path) -> None:
    a, b = _seed(store)
    before = _rows(db_path, a, b)
    with store.write() as tx:
        record = merge_contacts(tx=tx, survivor_id=b, merged_id=a, prefer="B", fields={"name": "A"})
    assert _rows(db_path, a, b) != before
    with store.write() as tx:
        undo_merge(tx=tx, merge_id=record.id[:10])
    after = _rows(db_path, a, b)
    assert after.keys() == before.keys()
    for key, old in before.items():
        new = after[key]
        changed = {c for c in old if old[c] != new[c]}
        assert changed <= {"updated_at"}, (key, changed)
    db = sqlite3.connect(db_path)
    assert {h.id for h in search_contacts(db, "smith")} >= {a, b}
    with store.write() as tx, pytest.raises(MergeError, match="already undone"):
        undo_merge(tx=tx, merge_id=record.id)


def test_field_choice_and_bad_input(store: Store, db_path: Path) -> None:
    a, b = _seed(store)
    with store.write() as tx, pytest.raises(InvalidInput, match="cannot be chosen"):
        merge_contacts(tx=tx, survivor_id=a, merged_id=b, fields={"tags": "B"})
    with store.write() as tx, pytest.raises(MergeError, match="itself"):
        merge_contacts(tx=tx, survivor_id=a, merged_id=a)
    with store.write() as tx:
        merge_contacts(tx=tx, survivor_id=a, merged_id=b, fields={"name": "B", "email": "B"})
    row = _rows(db_path, a, b)[("contact", a)]
    assert (row["name"], row["family_name"], row["email"]) == (
        "Mr J. Smith",
        "Smith",
        "j.smith@acme.com",
    )


def test_cli_merge_and_undo(store: Store, db_path: Path) -> None:
    a, b = _seed(store)
    runner = CliRunner()
    result = runner.invoke(app, ["--db", str(db_path), "merge", a, b, "--field", "title=A"])
    assert result.exit_code == 0, result.stderr
    merge_id = result.stdout.strip()
    assert "undo with: crm merge --undo" in result.stderr
    assert _rows(db_path, a, b)[("contact", a)]["title"] is None
    result = runner.invoke(app, ["--db", str(db_path), "merge", "--undo", merge_id])
    assert result.exit_code == 0, result.stderr
    assert _rows(db_path, a, b)[("contact", b)]["deleted_at"] is None
    result = runner.invoke(app, ["--db", str(db_path), "merge", "--undo", merge_id])
    assert result.exit_code == 2 and "already undone" in result.stderr
    result = runner.invoke(app, ["--db", str(db_path), "merge", a, b, "--prefer", "C"])
    assert result.exit_code == 2
