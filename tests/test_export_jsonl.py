"""Lossless JSONL: export -> import into an empty database -> export gives the same bytes."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmtui.demo.generator import seed_demo
from crmtui.formats.jsonl import JsonlError, export_jsonl, import_jsonl
from crmtui.search.lookup import search_contacts
from crmtui.services.address_book.contacts import ContactCreate, create_contact, delete_contact
from crmtui.store.database import open_store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _export(path: Path) -> str:
    db = sqlite3.connect(path)
    out = io.StringIO()
    export_jsonl(db, out)
    db.close()
    return out.getvalue()


def _restore(path: Path, text: str) -> dict[str, int]:
    store = open_store(path)
    try:
        with store.write() as tx:
            return import_jsonl(tx, io.StringIO(text))
    finally:
        store.close()


@pytest.fixture
def demo_with_history(tmp_path: Path) -> Path:
    """A demo database plus journaled writes and a tombstone."""
    path = tmp_path / "demo.db"
    seed_demo(path, contacts=150, seed=5, now=NOW)
    store = open_store(path)
    with store.write() as tx:
        keep = create_contact(
            tx=tx,
            data=ContactCreate(name="Quirinus Xylandér", tags=["vip"], email="z@a.se"),
            region="SE",
        )
        gone = create_contact(tx=tx, data=ContactCreate(name="Gone Person"), region="DE")
    with store.write() as tx:
        delete_contact(tx=tx, contact_id=gone.id)
    store.close()
    assert keep.id
    return path


def test_round_trip_is_byte_identical(demo_with_history: Path, tmp_path: Path) -> None:
    first = _export(demo_with_history)
    counts = _restore(tmp_path / "copy.db", first)
    assert counts["contact"] == 152 and counts["journal"] > 0 and counts["local_meta"] >= 2
    second = _export(tmp_path / "copy.db")
    assert second == first
    db = sqlite3.connect(tmp_path / "copy.db")
    assert db.execute("SELECT count(*) FROM contact WHERE deleted_at IS NOT NULL").fetchone() == (
        1,
    )
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    # The search index is rebuilt: restored contacts are found, the tombstone is not.
    assert [h.name for h in search_contacts(db, "xylander")] == ["Quirinus Xylandér"]
    assert "Gone Person" not in [h.name for h in search_contacts(db, "gone person")]


def test_refuses_a_database_with_data(demo_with_history: Path) -> None:
    text = _export(demo_with_history)
    with pytest.raises(JsonlError, match="already holds data"):
        _restore(demo_with_history, text)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: [*lines[:1], "{not json", *lines[1:]], "line 2: not JSON"),
        (lambda lines: ['{"format": "other"}', *lines[1:]], "line 1: not a crmtui JSONL"),
        (
            lambda lines: [*lines, '{"table": "contact", "row": {"id": "x", "nope": 1}}'],
            "has no column nope",
        ),
        (
            lambda lines: [*lines, '{"table": "contact", "row": {"id": "y"}}'],
            "contact row cannot be stored",
        ),
    ],
)
def test_a_broken_file_restores_nothing(
    demo_with_history: Path, tmp_path: Path, damage: object, message: str
) -> None:
    lines = _export(demo_with_history).splitlines()
    target = tmp_path / "broken.db"
    with pytest.raises(JsonlError, match=message):
        _restore(target, "\n".join(damage(lines)) + "\n")  # type: ignore[operator]
    db = sqlite3.connect(target)
    for table in ("contact", "account", "journal", "search_doc"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_dangling_reference_is_caught_at_commit(demo_with_history: Path, tmp_path: Path) -> None:
    lines = _export(demo_with_history).splitlines()
    # Drop every account: contacts now point at nothing.
    kept = [line for line in lines if not line.endswith('"table": "account"}')]
    assert len(kept) < len(lines)
    with pytest.raises(JsonlError, match=r"refers to a missing account row"):
        _restore(tmp_path / "dangling.db", "\n".join(kept) + "\n")
    db = sqlite3.connect(tmp_path / "dangling.db")
    assert db.execute("SELECT count(*) FROM contact").fetchone() == (0,)
