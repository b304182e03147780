"""0011: the kept pending counts start from the journal as it is; a demo drops 0007's items.

A demo database never syncs (the generator writes no journal), so the item creates an
older 0007 journaled there (3.47M ops on the 1M bench database) are dropped; anything
else pending stays, and a real database keeps every op.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crmtui.store.migrate import upgrade
from tests.test_contact_items import _seed_0006
from tests.test_sync_pending_counts import kept_counts, recount

OTHER_OP = (
    "INSERT INTO journal (id, tx_id, hlc, device_id, entity, row_id, op, field, value,"
    " created_at) VALUES ('op1', 'tx1', '0000000000001-00000', 'dev', 'contact', 'c2',"
    " 'set', 'name', '\"Renamed\"', '2026-01-02T03:04:05.000000Z')"
)


def _pending(path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT entity, op FROM journal WHERE pushed_at IS NULL ORDER BY entity"
        ).fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("demo", [False, True])
def test_items_journaled_by_0007_stay_only_where_they_can_sync(tmp_path: Path, demo: bool) -> None:
    path = tmp_path / "old.db"
    _seed_0006(path)
    db = sqlite3.connect(path)
    db.execute(OTHER_OP)  # a user's edit, pending: never dropped
    db.commit()
    db.close()
    upgrade(path, "0009_kept_choices")  # journals the items (not a demo yet)
    made = _pending(path)
    assert made.count(("contact_phone", "create")) == 2
    if demo:
        db = sqlite3.connect(path)
        db.execute("INSERT INTO local_meta(key, value) VALUES ('demo', '1')")
        db.commit()
        db.close()
    upgrade(path)
    if demo:
        assert _pending(path) == [("contact", "set")]
    else:
        assert _pending(path) == made
    # The kept counts start equal to a recount: c1 (its items) and c2, or c2 alone.
    assert kept_counts(path) == recount(path)
    assert kept_counts(path)[0] == {"contact": 1 if demo else 2}


def test_a_demo_made_before_items_journals_none(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    _seed_0006(path)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO local_meta(key, value) VALUES ('demo', '1')")
    db.commit()
    db.close()
    upgrade(path)
    assert _pending(path) == []
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM contact_phone").fetchone()[0] == 2
    finally:
        db.close()
