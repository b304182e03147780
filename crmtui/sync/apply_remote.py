"""Applying changes pulled from the sync server to the local database.

Besides the services, this is the one writer of the domain tables. It writes the
row, a journal entry already marked as pushed (so the change is not sent back),
the synced field versions and the search index, in one `BEGIN IMMEDIATE`
transaction per page. Foreign keys are not enforced for that transaction: a
replica holds only its rep's territories, so a contact may name an account the
rep cannot see, and the server, not this file, is where references are whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Integer

from crmtui.domain.contact_details import ITEM_TABLES, PRIMARY_COLUMNS
from crmtui.domain.hlc import HLC, receive
from crmtui.domain.ids import uuid7
from crmtui.search.search_index import index_document, index_many, unindex
from crmtui.services.contact_items import derived_columns, searched_values
from crmtui.services.reindex import contact_document
from crmtui.services.sales.deal_lines import write_derived_amounts
from crmtui.store.arrivals import IDENTITY_FIELDS, add_arrivals
from crmtui.store.database import Store
from crmtui.store.journal import unpack_created
from crmtui.store.models import CONTACT_ITEMS, ENTITIES, Contact
from crmtui.store.sql_in import select_in as _select_in
from crmtui.store.types import format_timestamp, utcnow
from crmtui.sync.merge import Incoming, RowState, Version, decide, is_consent
from crmtui.sync.purge import purge
from crmtui.sync.wire import Change, ConflictInfo, FieldVersion

_TABLES: dict[str, str] = {name: str(cls.__tablename__) for name, cls in ENTITIES.items()}


@dataclass
class ApplyReport:
    """What one page of remote changes did locally."""

    applied: int = 0
    skipped: int = 0
    """Changes kept out because a newer local edit is still waiting to be pushed."""
    removed: int = 0
    overwritten: int = 0
    conflicts: int = 0
    touched_contacts: set[str] = field(default_factory=set)
    touched_items: set[tuple[str, str]] = field(default_factory=set)
    """Phone, email and address items changed: their contacts' primaries are derived again."""

    touched_deals: set[str] = field(default_factory=set)
    touched_lines: set[str] = field(default_factory=set)
    """Deals and deal lines changed: the deals' amounts are derived from their lines again."""

    def touch(self, entity: str, row_id: str) -> None:
        """Note a changed record whose contact's search entry (and primaries) may change,
        or whose deal's amount may change."""
        if entity == "deal":
            self.touched_deals.add(row_id)
        elif entity == "deal_line":
            self.touched_lines.add(row_id)
        elif entity == "contact":
            self.touched_contacts.add(row_id)
        elif entity in CONTACT_ITEMS:
            self.touched_items.add((entity, row_id))

    quarantined: list[str] = field(default_factory=list)
    """Changes held back as malformed (`crmtui.sync.quarantine`), one line each."""
    set_aside: list[str] = field(default_factory=list)
    """Local edits of records that left this laptop's scope (`crmtui.sync.purge`)."""


@cache
def _columns(entity: str) -> dict[str, Any]:
    # Cached: asked for every pulled change; callers only read it.
    table = ENTITIES[entity].__table__  # type: ignore[attr-defined]
    return {c.name: c for c in table.columns}


def to_column(entity: str, name: str, value: str | None) -> Any:
    """Turn a journal JSON value into what the SQLite column stores."""
    if value is None:
        return None
    decoded = json.loads(value)
    if decoded is None:
        return None
    column = _columns(entity).get(name)
    if isinstance(decoded, (list, dict)):
        return json.dumps(decoded, ensure_ascii=False)
    if (
        column is not None
        and isinstance(column.type, Boolean | Integer)
        and isinstance(decoded, bool)
    ):
        return int(decoded)
    return decoded


def _placeholder(column: Any) -> Any:
    # NOT NULL columns without a default get a neutral value until their own set
    # arrives (a page boundary can split a create from its fields).
    if isinstance(column.type, JSON):
        return "[]"
    if column.default is not None and getattr(column.default, "is_scalar", False):
        value = column.default.arg
        return int(value) if isinstance(value, bool) else value
    if column.default is not None and callable(getattr(column.default, "arg", None)):
        made = column.default.arg(None) if column.name != "id" else None
        if isinstance(made, list):
            return "[]"
        if isinstance(made, datetime):
            return format_timestamp(made)
        return made
    if isinstance(column.type, Boolean | Integer):
        return 0
    return ""


class RemoteApplier:
    """One transaction's worth of remote changes on a raw sqlite3 connection."""

    def __init__(
        self, db: sqlite3.Connection, device_id: str, rescue_dir: Path | None = None
    ) -> None:
        self.db = db
        self.device_id = device_id
        self.rescue_dir = rescue_dir
        """Where the edits of a record that left this laptop's scope are saved."""
        self.now = format_timestamp(utcnow())
        self.report = ApplyReport()
        self.newest: HLC | None = None

    def _row_exists(self, entity: str, row_id: str) -> bool:
        sql = f'SELECT 1 FROM "{_TABLES[entity]}" WHERE id = ?'
        return self.db.execute(sql, (row_id,)).fetchone() is not None

    def _insert_row(self, entity: str, row_id: str) -> None:
        self._insert_rows(entity, [row_id])

    def _insert_rows(self, entity: str, row_ids: Sequence[str]) -> None:
        """Insert new rows holding placeholders until their fields arrive."""
        names = [n for n, c in _columns(entity).items() if n != "id" and not c.nullable]
        columns = [_columns(entity)[n] for n in names]
        quoted = ", ".join(f'"{n}"' for n in ["id", *names])
        marks = ", ".join("?" for _ in range(len(names) + 1))
        self.db.executemany(
            f'INSERT INTO "{_TABLES[entity]}" ({quoted}) VALUES ({marks})',
            [(row_id, *(_placeholder(c) for c in columns)) for row_id in row_ids],
        )

    def _set_column(self, entity: str, row_id: str, name: str, value: Any) -> None:
        table = _TABLES[entity]
        extra = ', "updated_at" = ?' if "updated_at" in _columns(entity) else ""
        params: list[Any] = [value] + ([self.now] if extra else []) + [row_id]
        self.db.execute(f'UPDATE "{table}" SET "{name}" = ?{extra} WHERE id = ?', params)

    def _journal_row(self, change: Change) -> tuple[Any, ...]:
        """The journal copy of a remote change (already pushed, so never sent back)."""
        op = change.kind if change.kind in ("create", "set", "delete") else "set"
        fld = change.field if change.kind == "set" else None
        if change.kind in ("undelete", "removal"):
            op, fld = ("create" if change.kind == "undelete" else "delete"), None
        return (
            uuid7(),
            f"remote-{change.seq}"[:36],
            change.hlc,
            change.device_id,
            change.entity,
            change.row_id,
            op,
            fld,
            change.value if op == "set" else None,
            self.now,
            self.now,
        )

    def _journal(self, change: Change) -> None:
        self._journal_rows([self._journal_row(change)])

    def _journal_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO journal(id, tx_id, hlc, device_id, entity, row_id, op, field, value,"
            " created_at, pushed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def pending_version(self, entity: str, row_id: str, name: str | None) -> Version | None:
        """The newest local op on a field that the server has not answered yet.

        A pending packed create (journal.py) is a pending set of each field it holds.
        """
        rows = self.db.execute(
            "SELECT op, field, value, hlc, device_id FROM journal WHERE entity = ? AND"
            " row_id = ? AND pushed_at IS NULL AND (field IS ? OR op = 'create')"
            " ORDER BY hlc DESC",
            (entity, row_id, name),
        )
        for op, fld, value, hlc, device in rows:
            if op == "create" and value is not None and name is not None:
                packed = dict(unpack_created(value))
                if name in packed:
                    return Version(packed[name], hlc, device)
            elif fld == name:
                return Version(None if op == "create" else value, hlc, device)
        return None

    def synced_version(self, entity: str, row_id: str, name: str) -> tuple[str, str] | None:
        """The (hlc, device) of the field's last synced value."""
        return self.db.execute(
            "SELECT hlc, device_id FROM sync_field WHERE entity = ? AND row_id = ? AND field = ?",
            (entity, row_id, name),
        ).fetchone()

    def record_version(self, entity: str, row_id: str, name: str, hlc: str, device: str) -> None:
        """Remember the synced version of a field."""
        self.record_versions([(entity, row_id, name, hlc, device)])

    def record_versions(self, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        """Remember many synced versions: (entity, row id, field, hlc, device) each."""
        self.db.executemany(
            "INSERT INTO sync_field(entity, row_id, field, hlc, device_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(entity, row_id, field) DO UPDATE SET hlc = excluded.hlc,"
            " device_id = excluded.device_id",
            rows,
        )

    def _current_value(self, entity: str, row_id: str, name: str) -> Any:
        sql = f'SELECT "{name}" FROM "{_TABLES[entity]}" WHERE id = ?'
        row = self.db.execute(sql, (row_id,)).fetchone()
        return row[0] if row else None

    def _note(
        self,
        kind: str,
        change: Change,
        kept: str | None,
        other: str | None,
        other_device: str | None,
    ) -> None:
        self.note(
            kind,
            change.entity,
            change.row_id,
            change.field or "",
            kept,
            change.device_id,
            other,
            other_device,
        )

    def note(
        self,
        kind: str,
        entity: str,
        row_id: str,
        name: str,
        kept: str | None,
        kept_device: str | None,
        other: str | None,
        other_device: str | None,
    ) -> None:
        """Keep a value a person may want back in `sync_conflict` (`crm conflicts`)."""
        self.db.execute(
            "INSERT INTO sync_conflict(id, kind, entity, row_id, field, kept_value, kept_device,"
            " other_value, other_device, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uuid7(), kind, entity, row_id, name, kept, kept_device, other, other_device, self.now),
        )

    def adopt(self, entity: str, row_id: str, name: str, version: FieldVersion) -> bool:
        """Take the server's version of a field unless a newer local edit is pending."""
        if self.pending_version(entity, row_id, name) is not None:
            return False
        if self._row_exists(entity, row_id) and name in _columns(entity):
            self._set_column(entity, row_id, name, to_column(entity, name, version.value))
            self.report.touch(entity, row_id)
        self.record_version(entity, row_id, name, version.hlc, version.device_id)
        return True

    def apply(self, change: Change) -> None:
        """Apply one change from the feed."""
        if change.entity not in ENTITIES:
            self.report.skipped += 1
            return
        stamp = HLC.decode(change.hlc)
        self.newest = stamp if self.newest is None or stamp > self.newest else self.newest
        table = _TABLES[change.entity]
        if change.kind == "removal":
            self._remove(change, table)
            return
        exists = self._row_exists(change.entity, change.row_id)
        if change.kind == "create":
            if not exists:
                self._insert_row(change.entity, change.row_id)
            else:
                self.db.execute(
                    f'UPDATE "{table}" SET deleted_at = NULL WHERE id = ?',
                    (change.row_id,),
                )
        elif change.kind == "set" and change.field is not None:
            if not exists:
                self._insert_row(change.entity, change.row_id)
            if change.field not in _columns(change.entity):
                self.report.skipped += 1
                return
            pending = self.pending_version(change.entity, change.row_id, change.field)
            if pending is not None:
                incoming = Incoming(
                    change.entity,
                    "set",
                    change.field,
                    change.value,
                    change.hlc,
                    change.device_id,
                    None,
                )
                d = decide(incoming, RowState(exists=True), pending)
                if not d.write_field:
                    self.report.skipped += 1
                    return
                # Shown now; the pending op still goes to the server, which decides.
                self._set_column(
                    change.entity,
                    change.row_id,
                    change.field,
                    to_column(change.entity, change.field, change.value),
                )
            else:
                before = self.synced_version(change.entity, change.row_id, change.field)
                if _older_than_own(before, change, self.device_id):
                    self._count_older(change)
                    return
                old = self._current_value(change.entity, change.row_id, change.field)
                new = to_column(change.entity, change.field, change.value)
                if (
                    before is not None
                    and before[1] == self.device_id
                    and (change.hlc, change.device_id) > tuple(before)
                    and change.device_id != self.device_id
                    and old != new
                ):
                    self._note(
                        "overwritten",
                        change,
                        change.value,
                        json.dumps(old),
                        self.device_id,
                    )
                    self.report.overwritten += 1
                self._set_column(change.entity, change.row_id, change.field, new)
                self.record_version(
                    change.entity, change.row_id, change.field, change.hlc, change.device_id
                )
        elif change.kind == "delete":
            if exists:
                self.db.execute(
                    f'UPDATE "{table}" SET deleted_at = COALESCE(deleted_at, ?) WHERE id = ?',
                    (self.now, change.row_id),
                )
        elif change.kind == "undelete":
            if exists:
                self.db.execute(
                    f'UPDATE "{table}" SET deleted_at = NULL WHERE id = ?',
                    (change.row_id,),
                )
            self._note("restored", change, None, None, None)
        self.report.touch(change.entity, change.row_id)
        if change.device_id != self.device_id:  # our own ops are in the journal already
            self._journal(change)
        self.report.applied += 1

    def _remove(self, change: Change, table: str) -> None:
        """Out of scope: every value goes, a tombstone stays (`crmtui.sync.purge`)."""
        self.report.set_aside += purge(
            self.db, self.now, self.device_id, table, change, self.rescue_dir
        )
        self.report.removed += 1
        self.report.applied += 1

    def _count_older(self, change: Change) -> None:
        """A set older than our own version (`_older_than_own`): journaled, not written."""
        if change.device_id != self.device_id:
            self._journal(change)
        self.report.applied += 1

    def conflict(self, info: ConflictInfo) -> None:
        """Record (or close) a conflict the server kept for a person to decide."""
        found = self.db.execute(
            "SELECT id FROM sync_conflict WHERE server_id = ?", (info.id,)
        ).fetchone()
        if found is not None:
            if info.resolved:
                self.db.execute(
                    "UPDATE sync_conflict SET resolved_at = COALESCE(resolved_at, ?),"
                    " resolution = COALESCE(resolution, 'elsewhere') WHERE id = ?",
                    (self.now, found[0]),
                )
            return
        # The value that stood overwrote this laptop's as part of this conflict: one
        # line for one disagreement, so the "overwritten" note it left goes.
        dropped = self.db.execute(
            "DELETE FROM sync_conflict WHERE kind = 'overwritten' AND resolved_at IS NULL"
            " AND entity = ? AND row_id = ? AND field = ? AND kept_value IS ?",
            (info.entity, info.row_id, info.field, info.kept.value),
        ).rowcount
        self.report.overwritten -= min(dropped, self.report.overwritten)
        self.db.execute(
            "INSERT INTO sync_conflict(id, server_id, kind, entity, row_id, field, kept_value,"
            " kept_device, other_value, other_device, created_at, resolved_at, resolution)"
            " VALUES (?, ?, 'conflict', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                uuid7(),
                info.id,
                info.entity,
                info.row_id,
                info.field,
                info.kept.value,
                info.kept.device_id,
                info.other.value,
                info.other.device_id,
                self.now,
                self.now if info.resolved else None,
                "elsewhere" if info.resolved else None,
            ),
        )
        self.report.conflicts += 1

    def reindex(self) -> None:
        """Bring the search entries of every touched contact in step with its row.

        First the primaries of contacts whose items (or primaries) changed are derived
        from the items again (`contact_details.primary_columns`): every laptop derives
        the same values from the same items, so they are written without a journal op.
        """
        self._derive_primaries()
        self._derive_deal_amounts()
        names = list(_columns("contact"))
        ids = sorted(self.report.touched_contacts)
        rows = _select_in(
            self.db, f"SELECT {', '.join(chr(34) + n + chr(34) for n in names)} FROM contact", ids
        )
        found = {row[0]: dict(zip(names, row, strict=True)) for row in rows}
        accounts = sorted({v["account_id"] for v in found.values() if v["account_id"]})
        company = dict(
            _select_in(
                self.db, "SELECT id, name FROM account", accounts, where="deleted_at IS NULL"
            )
        )
        indexed = {
            r[0] for r in _select_in(self.db, "SELECT ref_id FROM search_doc", ids, column="ref_id")
        }
        searched = searched_values(self.db, ids)
        new = []
        for contact_id in ids:
            values = found.get(contact_id)
            if values is None:
                continue
            if values["deleted_at"] is not None:
                unindex(self.db, contact_id)
                continue
            values["tags"] = json.loads(values["tags"] or "[]")
            document = contact_document(
                Contact.model_construct(**values),
                company.get(values["account_id"]),
                searched.get(contact_id),
            )
            if contact_id in indexed:
                index_document(self.db, document)
            else:
                new.append(document)
        # Not indexed yet (records new to this laptop): one bulk insert.
        index_many(self.db, new)

    def _derive_deal_amounts(self) -> None:
        """Every laptop derives a deal's amount from the same lines (no journal op)."""
        lines = sorted(self.report.touched_lines)
        found = _select_in(self.db, "SELECT deal_id FROM deal_line", lines)
        deals = self.report.touched_deals | {r[0] for r in found}
        if deals:
            write_derived_amounts(self.db, deals)

    def _derive_primaries(self) -> None:
        for entity in ITEM_TABLES:
            ids = sorted(r for e, r in self.report.touched_items if e == entity)
            found = _select_in(self.db, f'SELECT contact_id FROM "{entity}"', ids)
            self.report.touched_contacts.update(r[0] for r in found if r[0])
        derived = derived_columns(self.db, self.report.touched_contacts)
        if derived:
            sets = ", ".join(f'"{c}" = ?' for c in PRIMARY_COLUMNS)
            self.db.executemany(
                f"UPDATE contact SET {sets} WHERE id = ?",
                [(*(v[c] for c in PRIMARY_COLUMNS), cid) for cid, v in derived.items()],
            )

    def advance_clock(self, server_hlc: str | None = None) -> None:
        """The HLC receive rule: the local clock moves past everything seen."""
        seen = [h for h in (self.newest, HLC.decode(server_hlc) if server_hlc else None) if h]
        if not seen:
            return
        row = self.db.execute("SELECT value FROM local_meta WHERE key = 'hlc'").fetchone()
        clock = HLC.decode(row[0]) if row else None
        now_ms = HLC.decode(utcnow_hlc()).millis
        for remote in seen:
            clock = receive(clock, remote, now_ms)
        assert clock is not None
        set_meta(self.db, "hlc", clock.encode())


class _Page:
    """A pulled page applied in bulk: the plain changes in memory, the rest one by one.

    The state of the page's rows is read once: which exist (and are deleted), their
    synced field versions, and which have ops still waiting for the server. A change
    is *plain* when that state decides it without reading the row: a create of a new
    or live record, or a set on a record with nothing pending whose field was not
    last set by this device (or is this device's own, already recorded version).
    Plain changes queue their writes (the same rows, columns, versions and journal
    copies `RemoteApplier.apply` writes); any other change first writes the queue,
    then goes through `apply`, and its record is read from the database from then on.

    One difference from `apply`: this device's own change that the laptop already
    holds (its synced version is that very change, recorded when the server answered
    the push) is counted but not written again -- the value and version are already
    there, so only `updated_at` would have moved. This rests on the feed's invariant
    that one device's version (HLC, device) of a field names one value: a device's
    HLCs are unique, and the server supersedes an op whose clamped HLC equals the
    stored one.
    """

    def __init__(self, applier: RemoteApplier, changes: Sequence[Change]) -> None:
        self.applier = applier
        self.db = applier.db
        self.me = applier.device_id
        keys = sorted({(c.entity, c.row_id) for c in changes if c.entity in ENTITIES})
        self.alive: dict[tuple[str, str], bool | None] = dict.fromkeys(keys)
        """None: no such row; False: deleted; True: live."""
        by_entity: dict[str, list[str]] = {}
        for entity, row_id in keys:
            by_entity.setdefault(entity, []).append(row_id)
        for entity, ids in by_entity.items():
            table = _TABLES[entity]
            for row_id, live in _select_in(
                self.db, f'SELECT id, deleted_at IS NULL FROM "{table}"', ids
            ):
                self.alive[(entity, row_id)] = bool(live)
        self.synced: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.pending: set[tuple[str, str]] = set()
        anything_pending = self.db.execute(
            "SELECT 1 FROM journal WHERE pushed_at IS NULL LIMIT 1"
        ).fetchone()
        for entity, ids in by_entity.items():
            for row_id, name, hlc, device in _select_in(
                self.db,
                "SELECT row_id, field, hlc, device_id FROM sync_field",
                ids,
                column="row_id",
                where="entity = ?",
                params=(entity,),
            ):
                self.synced[(entity, row_id, name)] = (hlc, device)
            if anything_pending:
                # `pending_version` only ever finds unpushed journal ops of the row.
                self.pending.update(
                    (entity, r[0])
                    for r in _select_in(
                        self.db,
                        "SELECT DISTINCT row_id FROM journal",
                        ids,
                        column="row_id",
                        where="pushed_at IS NULL AND entity = ?",
                        params=(entity,),
                    )
                )
        self.stale: set[tuple[str, str]] = set()
        self.inserts: dict[str, list[str]] = {}
        self.columns: dict[tuple[str, str, str], Any] = {}
        self.versions: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.journal: list[tuple[Any, ...]] = []
        self.newest: str | None = None

    def take(self, change: Change) -> bool:
        """Apply a plain change (its writes queued); False when it needs `apply`."""
        if change.entity not in ENTITIES:
            return False
        key = (change.entity, change.row_id)
        if key in self.stale or key in self.pending:
            return False
        alive = self.alive[key]
        mine = change.device_id == self.me
        if change.kind == "create":
            if alive is False:
                return False  # deleted here: `apply` brings it back
            if alive is None:
                self._insert(key)
        elif change.kind == "set" and change.field is not None:
            if change.field not in _columns(change.entity):
                return False
            fkey = (change.entity, change.row_id, change.field)
            before = self.synced.get(fkey)
            version = (change.hlc, change.device_id)
            if before is not None and before[1] == self.me and not mine and version > before:
                return False  # it may overwrite a value of ours: `apply` keeps a note
            if _older_than_own(before, change, self.me):
                # The server took our newer version after it (see `_older_than_own`).
                if alive is None:
                    self._insert(key)
            elif not (mine and before == version and alive is not None):
                if alive is None:
                    self._insert(key)
                self.columns[fkey] = to_column(change.entity, change.field, change.value)
                self.synced[fkey] = self.versions[fkey] = version
                self.applier.report.touch(change.entity, change.row_id)
        else:
            return False
        if not mine:  # our own ops are in the journal already
            self.journal.append(self.applier._journal_row(change))
        if self.newest is None or change.hlc > self.newest:
            self.newest = change.hlc
        self.applier.report.applied += 1
        return True

    def _insert(self, key: tuple[str, str]) -> None:
        self.inserts.setdefault(key[0], []).append(key[1])
        self.alive[key] = True
        self.applier.report.touch(*key)

    def forget(self, change: Change) -> None:
        """A change went through `apply`: its record's state is read from the database now."""
        self.stale.add((change.entity, change.row_id))

    def flush(self) -> None:
        """Write the queued changes: new rows, then columns, versions and journal copies."""
        a = self.applier
        for entity, ids in self.inserts.items():
            a._insert_rows(entity, ids)
        by_column: dict[tuple[str, str], list[tuple[Any, str]]] = {}
        for (entity, row_id, name), value in self.columns.items():
            by_column.setdefault((entity, name), []).append((value, row_id))
        for (entity, name), writes in by_column.items():
            stamped = "updated_at" in _columns(entity)
            extra = ', "updated_at" = ?' if stamped else ""
            self.db.executemany(
                f'UPDATE "{_TABLES[entity]}" SET "{name}" = ?{extra} WHERE id = ?',
                [(v, a.now, r) if stamped else (v, r) for v, r in writes],
            )
        a.record_versions([(*k, *v) for k, v in self.versions.items()])
        a._journal_rows(self.journal)
        if self.newest is not None:
            stamp = HLC.decode(self.newest)
            a.newest = stamp if a.newest is None or stamp > a.newest else a.newest
        self.inserts, self.columns, self.versions, self.journal = {}, {}, {}, []
        self.newest = None


def _older_than_own(before: tuple[str, str] | None, change: Change, me: str) -> bool:
    """Tell whether a pulled set is older than this laptop's own version of the field.

    Outside consent fields the server only ever replaces a field's version with a
    newer one, and a snapshot repeats the current one, so an older version comes
    before our own op in the feed: the server took ours after it. Our op's echo,
    which used to put our value back, is not sent to us (`crmtui.server.pull`,
    `own`), so the older value is not written at all; it is counted and kept in the
    journal as before. Consent fields (an older opt-out can follow a newer opt-in)
    are applied in feed order, and their echoes are sent (but for a record created
    in the same batch, where nothing can come before them).
    """
    return (
        before is not None
        and before[1] == me
        and (change.hlc, change.device_id) < before
        and not is_consent(change.entity, change.field)
    )


def utcnow_hlc() -> str:
    """The wall clock as an HLC reading with counter 0."""
    return HLC(int(utcnow().timestamp() * 1000), 0).encode()


def get_meta(db: sqlite3.Connection, key: str) -> str | None:
    """Read one local_meta value."""
    row = db.execute("SELECT value FROM local_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    """Write one local_meta value."""
    db.execute(
        "INSERT INTO local_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


class remote_transaction:
    """`with remote_transaction(store, device_id) as applier:` one IMMEDIATE transaction."""

    def __init__(self, store: Store, device_id: str, rescue_dir: Path | None = None) -> None:
        self.store = store
        self.device_id = device_id
        self.rescue_dir = rescue_dir
        self._raw: Any = None

    def __enter__(self) -> RemoteApplier:
        self._raw = self.store.engine.raw_connection()
        db: sqlite3.Connection = self._raw.driver_connection
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("BEGIN IMMEDIATE")
        self.applier = RemoteApplier(db, self.device_id, self.rescue_dir)
        return self.applier

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        db: sqlite3.Connection = self._raw.driver_connection
        try:
            if exc_type is None:
                self.applier.reindex()
                db.execute("COMMIT")
            else:
                db.execute("ROLLBACK")
        finally:
            db.execute("PRAGMA foreign_keys=ON")
            self._raw.close()


def apply_changes(
    store: Store,
    device_id: str,
    changes: Iterable[Change],
    conflicts: Iterable[ConflictInfo],
    cursor: int,
    server_hlc: str,
    rescue_dir: Path | None = None,
) -> ApplyReport:
    """Apply one pulled page and move the cursor, all in one local transaction.

    `rescue_dir`: where local edits of records that left this laptop's scope are saved.
    """
    from crmtui.sync.quarantine import screen, screen_conflicts

    with remote_transaction(store, device_id, rescue_dir) as applier:
        # A value that does not fit its field is held back, never written (older servers).
        ordered = screen(applier, sorted(changes, key=lambda c: c.seq))
        page = _Page(applier, ordered)
        for change in ordered:
            if not page.take(change):
                page.flush()
                applier.apply(change)
                page.forget(change)
        page.flush()
        for info in screen_conflicts(applier, list(conflicts)):
            applier.conflict(info)
        arrived = arrived_contacts(ordered, device_id)
        add_arrivals(applier.db, arrived | arrived_by_items(applier.db, ordered, device_id))
        set_meta(applier.db, "sync_cursor", str(cursor))
        applier.advance_clock(server_hlc)
    return applier.report


def arrived_contacts(changes: Iterable[Change], device_id: str) -> set[str]:
    """Contacts another laptop made, brought back or re-identified: to check for duplicates."""
    return {
        c.row_id
        for c in changes
        if c.entity == "contact"
        and c.device_id != device_id
        and (c.kind in ("create", "undelete") or (c.kind == "set" and c.field in IDENTITY_FIELDS))
    }


ITEM_KEYS = {
    "contact_phone": frozenset({"e164", "extension"}),
    "contact_email": frozenset({"address"}),
}
"""Item fields identity compares (crmtui.domain.identity): a new value is a new key."""


def arrived_by_items(db: sqlite3.Connection, changes: Iterable[Change], device_id: str) -> set[str]:
    """Contacts that got another laptop's new (or changed) email or phone: a key to check.

    A second email added elsewhere changes none of the contact's columns, yet may
    make it one person with a contact here (identity reads every item).
    """
    wanted: dict[str, set[str]] = {}
    for c in changes:
        keys = ITEM_KEYS.get(c.entity)
        if keys is None or c.device_id == device_id:
            continue
        if c.kind in ("create", "undelete") or (c.kind == "set" and c.field in keys):
            wanted.setdefault(c.entity, set()).add(c.row_id)
    found: set[str] = set()
    for entity, ids in wanted.items():
        rows = _select_in(db, f"SELECT contact_id FROM {entity}", sorted(ids))
        found |= {r[0] for r in rows if r[0]}
    return found


def decode_value(entity: str, name: str, value: str | None) -> Any:
    """Turn a journal JSON value back into the model's Python value (for a service write)."""
    from datetime import date

    from crmtui.store.types import UTCDateTime, parse_timestamp

    if value is None:
        return None
    decoded = json.loads(value)
    column = _columns(entity).get(name)
    if decoded is None or column is None:
        return decoded
    if isinstance(column.type, UTCDateTime):
        return parse_timestamp(decoded)
    if type(column.type).__name__ == "Date":
        return date.fromisoformat(decoded)
    return decoded
