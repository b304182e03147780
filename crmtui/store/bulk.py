"""Bulk writes inside a `WriteTx`: many rows and their journal ops with `executemany`.

The rows are exactly what the SQLModel tables store (timestamps as UTC text, JSON
columns as `json.dumps` text, booleans 0/1, dates as ISO text) and the journal ops
have the shapes `WriteTx.add` and `WriteTx.update` produce (one packed `create` row
per new record, see `journal.pack_created`; one `set` per changed field; values
through `encode_value`, HLCs from the transaction's clock).
Going through ORM objects costs ~40x more per row, which a 100k-row import feels.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from types import UnionType
from typing import Any, Union, get_args, get_origin

from sqlmodel import SQLModel

from crmtui.domain.validate import MAX_SYNCED_VALUE_CHARS
from crmtui.store.journal import (
    WriteTx,
    check_synced_size,
    encode_value,
    pack_created_rows,
)
from crmtui.store.models import ENTITIES, Contact
from crmtui.store.pending import ITEM_ENTITIES, note_pending, pending_key
from crmtui.store.types import format_timestamp

_LOW62 = (1 << 62) - 1
_LOW48 = (1 << 48) - 1
_ENTITY_OF = {cls.__tablename__: name for name, cls in ENTITIES.items()}
_JOURNAL_INSERT = (
    "INSERT INTO journal (id, tx_id, hlc, device_id, entity, row_id, op, field, value, "
    "created_at, pushed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
)


def db_value(value: Any) -> Any:
    """A Python value as the SQLModel column types store it in SQLite."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        # SQLAlchemy's JSON type serialises with json.dumps and its defaults.
        return json.dumps(value)
    return value


def _needs_conversion(model: type[SQLModel], column: str) -> bool:
    """Whether a column's Python values differ from what SQLite stores (str, int, float don't)."""
    annotation = model.model_fields[column].annotation
    union = get_origin(annotation) in (Union, UnionType)
    kinds = set(get_args(annotation)) - {type(None)} if union else {annotation}
    return not kinds <= {str, int, float}


@cache
def _plain_columns(model: type[SQLModel]) -> bool:
    """Whether every column holds text, a number, a flag, a timestamp or a date (no JSON).

    Rows are what the table stores (see `full_row`): a list or an object in any other
    column could not be bound by `insert` either.
    """
    plain = {str, int, float, bool, datetime, date}
    for info in model.model_fields.values():
        annotation = info.annotation
        union = get_origin(annotation) in (Union, UnionType)
        kinds = set(get_args(annotation)) - {type(None)} if union else {annotation}
        if not kinds <= plain:
            return False
    return True


def uuid7_batch(count: int) -> list[str]:
    """`count` UUIDv7 ids in increasing order (one random draw, then +1 each, as RFC 9562
    method 2 allows), made at once because a bulk import needs one per journal op."""
    if count <= 0:
        return []
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big") >> 7  # headroom so +count never overflows
    return _uuid7_run(ms, rand, count)


def _uuid7_run(ms: int, rand: int, count: int) -> list[str]:
    """The ids of `uuid7_batch` for a millisecond and a first 74-bit random value.

    Id i holds `rand + i`: its top 12 bits (rand_a) change only when the low 62
    bits (rand_b) wrap, and the fourth group only when the last 48 bits wrap, so the
    text is made in runs that share everything but the last group
    (tests/test_import_ids.py checks it against the field-by-field layout).
    """
    head = (ms << 16) | (0x7 << 12)  # the first 64 bits, before rand_a
    out: list[str] = []
    r = rand
    end = rand + count
    while r < end:
        low = r & _LOW62
        run = min(end - r, (_LOW62 + 1) - low)
        hi = f"{head | (r >> 62):016x}"
        prefix = f"{hi[:8]}-{hi[8:12]}-{hi[12:]}-"
        first = (0b10 << 62) | low
        v = first
        while v < first + run:
            # The fourth group (v >> 48) is the same until the last 48 bits wrap.
            part = min(first + run - v, (_LOW48 + 1) - (v & _LOW48))
            group = f"{prefix}{v >> 48:04x}-"
            out += [f"{group}{x:012x}" for x in range(v & _LOW48, (v & _LOW48) + part)]
            v += part
        r += run
    return out


@cache
def _template(
    model: type[SQLModel],
) -> tuple[dict[str, Any], frozenset[str], tuple[tuple[str, Any], ...]]:
    """A model's column defaults in column order, its column names and default factories."""
    static: dict[str, Any] = {}
    factories: list[tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        static[name] = info.default if info.default_factory is None else None
        if info.default_factory is not None and name not in ("created_at", "updated_at"):
            factories.append((name, info.default_factory))
    return static, frozenset(static), tuple(factories)


def full_row(tx: WriteTx, model: type[SQLModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` completed with the model's defaults, in column order (no validation)."""
    static, names, factories = _template(model)
    row = static.copy()  # column order; updating existing keys keeps it
    if "created_at" in row:
        row["created_at"] = tx.now
    if "updated_at" in row:
        row["updated_at"] = tx.now
    for name, factory in factories:
        if name not in values:
            row[name] = factory()
    row.update(values if values.keys() <= names else {k: values[k] for k in values if k in names})
    return row


DEFER_INDEXES_MIN = 5_000
"""From this many new rows, a table at most as big has its indexes built after the insert."""
_STAT_TABLES = ("sqlite_stat1", "sqlite_stat4")


@contextmanager
def deferred_indexes(db: sqlite3.Connection, table: str, incoming: int) -> Iterator[bool]:
    """Drop `table`'s own indexes for a bulk insert and build them again after it.

    Inserting 100k rows into an index whose keys come in random order (emails,
    account ids) costs more than sorting them once in `CREATE INDEX`: a 100k-row
    import into an empty contact table spends ~25% less in SQLite. Only when the
    table holds no more rows than are coming (rebuilding a big table's indexes
    costs more than adding a few rows to them) and `incoming` is at least
    `DEFER_INDEXES_MIN`. The indexes come back with the very SQL they were made
    with, and their `ANALYZE` statistics (which `DROP INDEX` deletes) are put back,
    so the end state is what inserting with the indexes in place gives
    (tests/test_import_bulk.py). It all happens in the caller's transaction: a
    rollback brings the old indexes back untouched. Yields whether it deferred.
    """
    if incoming < DEFER_INDEXES_MIN:
        yield False
        return
    present = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM " + table + " LIMIT ?)", (incoming + 1,)
    ).fetchone()[0]
    indexes = db.execute(
        # sql IS NULL: the indexes of PRIMARY KEY and UNIQUE constraints, which stay.
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY rowid",
        (table,),
    ).fetchall()
    # A UNIQUE index checks each row as it comes: dropped, a duplicate would fail
    # the rebuild at the end instead of naming its row, so such a table is left alone.
    unique = any(sql.lstrip().upper().startswith("CREATE UNIQUE") for _, sql in indexes)
    if present > incoming or not indexes or unique:
        yield False
        return
    names = [name for name, _ in indexes]
    stats = _saved_stats(db, names)
    for name in names:
        db.execute(f'DROP INDEX "{name}"')
    try:
        yield True
    finally:
        # Also after a failure: the caller may catch it and go on in this transaction.
        for _, sql in indexes:
            db.execute(sql)
        for stat_table, rows in stats.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f"INSERT INTO {stat_table} VALUES ({marks})", rows)


def _saved_stats(db: sqlite3.Connection, names: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The planner statistics rows of some indexes, per statistics table that exists."""
    present = {
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'sqlite_stat%'"
        )
    }
    marks = ", ".join("?" * len(names))
    return {
        stat: db.execute(f"SELECT * FROM {stat} WHERE idx IN ({marks})", names).fetchall()
        for stat in _STAT_TABLES
        if stat in present
    }


def row_template(
    tx: WriteTx, model: type[SQLModel]
) -> tuple[dict[str, Any], frozenset[str], tuple[tuple[str, Any], ...]]:
    """What `full_row` starts from: the defaults with this transaction's timestamps, the
    column names and the default factories (for building many rows in a loop)."""
    static, names, factories = _template(model)
    base = static.copy()
    for stamp in ("created_at", "updated_at"):
        if stamp in base:
            base[stamp] = tx.now
    return base, names, factories


def full_rows(
    tx: WriteTx, model: type[SQLModel], many: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """`full_row` of each of many values, from one template (an import completes ~350k items)."""
    base, names, factories = row_template(tx, model)
    out = []
    for values in many:
        row = base.copy()
        for name, factory in factories:
            if name not in values:
                row[name] = factory()
        row.update(
            values if values.keys() <= names else {k: values[k] for k in values if k in names}
        )
        out.append(row)
    return out


class BulkWriter:
    """Inserts and updates many rows of the domain tables in the caller's transaction."""

    def __init__(self, tx: WriteTx) -> None:
        self.tx = tx
        self.ops = 0

    def _journal(self, ops: list[tuple[Any, ...]]) -> None:
        """Insert journal rows of sets or deletes and count them pending."""
        self.tx.db.executemany(_JOURNAL_INSERT, ops)
        self._note(ops, None, created=False)
        self.ops += len(ops)

    def _note(
        self, ops: list[tuple[Any, ...]], contacts: list[str | None] | None, *, created: bool
    ) -> None:
        """Count journal rows pending (`created`: creates, whose records may be new)."""
        owners = contacts or [None] * len(ops)
        # A packed item create counts under its contact (`pending_key`), so a new
        # contact with its items is one pending row. Only a create of a record that is
        # its own key is surely new: an item's contact may have been pending before.
        note_pending(
            self.tx.db,
            [pending_key(op[4], op[5], op[6], op[8], c) for op, c in zip(ops, owners, strict=True)],
            self.tx.pending_records,
            created=created and bool(ops) and ops[0][4] not in ITEM_ENTITIES,
        )

    def insert(self, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert complete rows (see `full_row`) and journal their creation; returns the count."""
        if not rows:
            return 0
        ops = self._insert(model, rows)
        # Creates; an item's contact is at hand.
        self._note(ops, [r.get("contact_id") for r in rows], created=True)
        self.ops += len(ops)
        return len(rows)

    def insert_contacts(
        self,
        contacts: Sequence[Mapping[str, Any]],
        items: Sequence[tuple[type[SQLModel], Sequence[Mapping[str, Any]]]],
    ) -> int:
        """`insert` of new contacts, then of their items (`(item model, rows)` each, every
        row's `contact_id` one of `contacts`), with their journal rows counted pending at once.

        The same rows in every table as an `insert` per table: a new contact's items'
        creates count under the contact (`pending_key`), so counting them with the
        contact's own create upserts its `sync_pending` row once with the sum instead
        of once per item (an import of 100k contacts: ~105k upserts, not ~455k;
        tests/test_bulk_insert_contacts.py compares the tables).
        """
        if not contacts:
            return 0
        new = {c["id"] for c in contacts}
        for _, rows in items:
            if any(r["contact_id"] not in new for r in rows):
                raise ValueError("every item row must belong to one of the new contacts")
        ops = self._insert(Contact, contacts)
        owners: list[str | None] = [None] * len(ops)
        for model, rows in items:
            if rows:
                item_ops = self._insert(model, rows)
                ops += item_ops
                owners += [r["contact_id"] for r in rows]
        # The item keys are ('contact', its new contact): all records of this call, new.
        self._note(ops, owners, created=True)
        self.ops += len(ops)
        return len(contacts)

    def _insert(self, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Insert rows and their packed create journal rows; returns the journal rows,
        which the caller counts pending (and adds to `self.ops`, as `_journal` does)."""
        # Rows the ORM session still holds (an account made a moment ago) go first.
        self.tx.session.flush()
        table = model.__tablename__
        entity = _ENTITY_OF[table]
        columns = list(model.model_fields)
        if list(rows[0]) != columns:
            raise ValueError(f"{table} rows must hold every column in order (see full_row)")
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        convert = [i for i, c in enumerate(columns) if _needs_conversion(model, c)]
        # Converted values repeat (every row's timestamps are the transaction's `now`,
        # flags are True or False): convert each distinct one once per column.
        memos: list[dict[Any, Any]] = [{} for _ in convert]
        params = []
        for r in rows:
            values = list(r.values())
            for i, memo in zip(convert, memos, strict=True):
                value = values[i]
                if value is None:
                    continue
                if type(value) is list:
                    values[i] = "[]" if not value else db_value(value)
                    continue
                try:
                    values[i] = memo[value]
                except KeyError:
                    values[i] = memo[value] = db_value(value)
                except TypeError:  # unhashable (a dict)
                    values[i] = db_value(value)
            params.append(values)
        self.tx.db.executemany(sql, params)
        tx, stamp = self.tx, format_timestamp(self.tx.now)
        tx_id, device = tx.tx_id, tx.device_id
        # One packed create row per record (ids and clock readings made in one batch
        # each); `ops` counts the contract's ops they stand for (a create + its sets).
        packed, fields = pack_created_rows(entity, rows, tx.now, plain=_plain_columns(model))
        ids, hlcs = uuid7_batch(len(rows)), tx.next_hlcs(len(rows))
        ops = [
            (op_id, tx_id, hlc, device, entity, r["id"], "create", None, value, stamp)
            for op_id, hlc, r, value in zip(ids, hlcs, rows, packed, strict=True)
        ]
        self.tx.db.executemany(_JOURNAL_INSERT, ops)
        self.ops += len(rows) + fields
        return ops

    def update(
        self, model: type[SQLModel], changes: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> int:
        """Set fields on existing rows (`(row_id, {field: value})`) and journal each set."""
        table = model.__tablename__
        entity = _ENTITY_OF[table]
        has_updated = "updated_at" in model.model_fields
        tx, stamp = self.tx, format_timestamp(self.tx.now)
        self.tx.session.flush()
        by_fields: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        body: list[tuple[str, str, str]] = []
        count = 0
        for row_id, fields in changes:
            if not fields:
                continue
            count += 1
            names = tuple(fields)
            by_fields.setdefault(names, []).append(
                (*(db_value(fields[n]) for n in names), *((stamp,) if has_updated else ()), row_id)
            )
            body.extend((row_id, name, encode_value(fields[name])) for name in names)
        for _row_id, name, value in body:
            if len(value) > MAX_SYNCED_VALUE_CHARS:
                check_synced_size(entity, name, value)
        ids, hlcs = uuid7_batch(len(body)), tx.next_hlcs(len(body))
        ops = [
            (op_id, tx.tx_id, hlc, tx.device_id, entity, row_id, "set", name, value, stamp)
            for op_id, hlc, (row_id, name, value) in zip(ids, hlcs, body, strict=True)
        ]
        for names, params in by_fields.items():
            sets = [f"{n} = ?" for n in names] + (["updated_at = ?"] if has_updated else [])
            self.tx.db.executemany(f"UPDATE {table} SET {', '.join(sets)} WHERE id = ?", params)
        self._journal(ops)
        return count

    def tombstone(self, model: type[SQLModel], row_ids: Sequence[str]) -> int:
        """Tombstone rows as `WriteTx.delete` does (`deleted_at`, `updated_at`) and journal
        each delete; returns the count. Rows the ORM session holds must be flushed first."""
        if not row_ids:
            return 0
        table = model.__tablename__
        entity = _ENTITY_OF[table]
        tx, stamp = self.tx, format_timestamp(self.tx.now)
        tx.session.flush()
        if "updated_at" in model.model_fields:
            tx.db.executemany(
                f"UPDATE {table} SET deleted_at = ?, updated_at = ? WHERE id = ?",
                [(stamp, stamp, i) for i in row_ids],
            )
        else:
            tx.db.executemany(
                f"UPDATE {table} SET deleted_at = ? WHERE id = ?", [(stamp, i) for i in row_ids]
            )
        ids, hlcs = uuid7_batch(len(row_ids)), tx.next_hlcs(len(row_ids))
        self._journal(
            [
                (op_id, tx.tx_id, hlc, tx.device_id, entity, row_id, "delete", None, None, stamp)
                for op_id, hlc, row_id in zip(ids, hlcs, row_ids, strict=True)
            ]
        )
        return len(row_ids)
