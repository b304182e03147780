"""Lossless export and import: every table, tombstones and the journal included, as JSONL.

Line 1 is a header (`{"format": "crmtui-jsonl", "version": 1, "schema": ...}`), then
one `{"table": ..., "row": {...}}` per row, tables in a fixed order, rows by
primary key. Values are exactly what SQLite holds (timestamps as their UTC text,
JSON columns as their text, booleans 0/1), so export -> import -> export gives the
same bytes.

Decisions:
- Import is a *restore*: it goes into a database with no data of its own (only
  what the migrations make, the default pipeline, which the file overwrites) and
  refuses anything else, so ids and the journal cannot collide.
- The restored rows keep their journal verbatim (pushed or pending as they were)
  instead of getting new create ops: the file *is* the history. It runs in one
  `Store.write()` transaction with foreign keys checked at commit, so a file cut
  short or with a bad row leaves the database as it was.
- The search index is rebuilt from the restored contacts, not exported.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any, TextIO

from crmtui.search.search_index import SearchDocument, index_many
from crmtui.search.search_schema import is_search_table
from crmtui.store.journal import WriteTx
from crmtui.store.models import ENTITIES
from crmtui.store.schema_version import SCHEMA_HEAD

FORMAT = "crmtui-jsonl"
VERSION = 1
# Parents before children; then every other table the migrations made (the journal,
# `merge_record`, `local_meta`, sync bookkeeping ...): all are part of a lossless copy.
_ENTITY_TABLES: tuple[str, ...] = tuple(str(cls.__tablename__) for cls in ENTITIES.values())
_SEED_TABLES = ("pipeline", "stage")  # rows the migrations put into every new database


class JsonlError(ValueError):
    """The file is not a crmtui JSONL export this version can restore; names the line."""


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def tables(db: sqlite3.Connection) -> list[str]:
    """Every data table of the database, parents first (search index and alembic excluded)."""
    names = {
        r[0]
        for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith("sqlite_")
        and r[0] != "alembic_version"
        and not is_search_table(r[0])
    }
    first = [t for t in _ENTITY_TABLES if t in names]
    return first + sorted(names - set(first))


def _order(db: sqlite3.Connection, table: str) -> str:
    """ORDER BY for a stable row order: the primary key, else the rowid."""
    keys = sorted((r[5], r[1]) for r in db.execute(f"PRAGMA table_info({table})") if r[5])
    return ", ".join(name for _, name in keys) or "rowid"


def export_jsonl(db: sqlite3.Connection, out: TextIO) -> dict[str, int]:
    """Write every row of every table; returns the row count per table."""
    header = {"format": FORMAT, "version": VERSION, "schema": SCHEMA_HEAD}
    out.write(json.dumps(header, sort_keys=True) + "\n")
    counts: dict[str, int] = {}
    for table in tables(db):
        columns = _columns(db, table)
        n = 0
        for row in db.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_order(db, table)}"
        ):
            record = {"table": table, "row": dict(zip(columns, row, strict=True))}
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
        counts[table] = n
    return counts


def _check_empty(db: sqlite3.Connection) -> None:
    for table in tables(db):
        if table in _SEED_TABLES:
            continue
        if db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            raise JsonlError(
                f"the database already holds data ({table}); "
                "a JSONL import restores into a new, empty database"
            )


def import_jsonl(tx: WriteTx, lines: Iterable[str]) -> dict[str, int]:
    """Restore an export into the (empty) database of `tx`; returns rows per table."""
    db = tx.db
    _check_empty(db)
    # Rows arrive table by table, and a lead names the deal it became: check at commit.
    db.execute("PRAGMA defer_foreign_keys = ON")
    columns = {t: set(_columns(db, t)) for t in tables(db)}
    seeded = {t: {r[0] for r in db.execute(f"SELECT id FROM {t}")} for t in _SEED_TABLES}
    counts = dict.fromkeys(columns, 0)
    header_seen = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JsonlError(f"line {number}: not JSON ({exc.msg})") from exc
        if not header_seen:
            _check_header(record)
            header_seen = True
            continue
        table, row = _record(record, number, columns)
        names = list(row)
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        if table in seeded and row.get("id") in seeded[table]:
            sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != "id")
            sql += f" ON CONFLICT(id) DO UPDATE SET {sets}"
        try:
            db.execute(sql, [row[n] for n in names])
        except sqlite3.Error as exc:
            raise JsonlError(f"line {number}: {table} row cannot be stored ({exc})") from exc
        counts[table] += 1
    if not header_seen:
        raise JsonlError("line 1: empty file (no crmtui-jsonl header)")
    _check_references(db)
    _rebuild_search(db)
    return counts


def _check_references(db: sqlite3.Connection) -> None:
    """Name the first row that points at a row the file does not have."""
    bad = db.execute("PRAGMA foreign_key_check").fetchone()
    if bad is not None:
        table, rowid, parent = bad[0], bad[1], bad[2]
        key = "id" if "id" in _columns(db, table) else "rowid"
        row_id = db.execute(f"SELECT {key} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        raise JsonlError(
            f"{table} {row_id[0] if row_id else rowid} refers to a missing {parent} row"
        )


def _check_header(record: Any) -> None:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise JsonlError("line 1: not a crmtui JSONL export (no crmtui-jsonl header)")
    if record.get("version") != VERSION or record.get("schema") != SCHEMA_HEAD:
        raise JsonlError(
            f"line 1: export of format version {record.get('version')} and schema "
            f"{record.get('schema')}; this crm reads version {VERSION}, schema {SCHEMA_HEAD}"
        )


def _record(record: Any, number: int, columns: dict[str, set[str]]) -> tuple[str, dict[str, Any]]:
    if not isinstance(record, dict) or not isinstance(record.get("row"), dict):
        raise JsonlError(f'line {number}: expected {{"table": ..., "row": {{...}}}}')
    table = record.get("table")
    if table not in columns:
        raise JsonlError(f"line {number}: unknown table {table!r}")
    row: dict[str, Any] = record["row"]
    unknown = set(row) - columns[table]
    if unknown:
        raise JsonlError(f"line {number}: {table} has no column {', '.join(sorted(unknown))}")
    for name, value in row.items():
        if isinstance(value, dict | list):
            raise JsonlError(f"line {number}: {table}.{name} must be a plain value")
    return table, row


def _rebuild_search(db: sqlite3.Connection) -> None:
    """Index every live contact (the index was empty: the database was)."""
    rows = db.execute(
        "SELECT c.id, c.name, a.name, c.email, c.phone, c.phone_e164, c.mobile, "
        "c.mobile_e164, c.city, c.tags, c.archived_at FROM contact c "
        "LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL "
        "WHERE c.deleted_at IS NULL"
    )
    index_many(
        db,
        (
            SearchDocument(
                ref_id=r[0],
                name=r[1],
                company=r[2],
                email=r[3],
                phones=[(r[4], r[5]), (r[6], r[7])],
                city=r[8],
                tags=tuple(json.loads(r[9] or "[]")),
                archived=r[10] is not None,
            )
            for r in rows
        ),
    )
