"""Import batches: what one import created and changed, and undoing it safely.

`record_batch` runs in the import's own write transaction, so a batch exists
exactly when its import committed. `undo_batch` removes what the batch created
and puts back what it changed, through `WriteTx` (journaled, so the undo syncs),
but never overwrites later work:

- a field changed since the import (its value now differs from what the import
  wrote, or a journal op on it was written after the import: an edit here, or a
  colleague's edit pulled by sync) is left as it is and listed;
- a created record that was edited since, or that a record the batch did not
  create now links to (a deal on an imported account, an activity on an imported
  contact), is kept and listed with the reason; so are records that a kept one
  links to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import UnionType
from typing import Any, NamedTuple, Union, get_args, get_origin

from sqlmodel import col, select

from crmtui.domain.validate import InvalidInput
from crmtui.search.search_index import unindex
from crmtui.services.contact_items import refresh_primaries
from crmtui.services.reindex import reindex_contact
from crmtui.store.bulk import BulkWriter
from crmtui.store.import_state import ImportBatch
from crmtui.store.journal import RowChange, WriteTx, encode_value
from crmtui.store.models import CONTACT_ITEMS, ENTITIES, Contact
from crmtui.store.resolve import NotFound
from crmtui.store.sql_in import select_in
from crmtui.store.types import parse_timestamp

# Removed children first, so nothing left names a removed row.
_REMOVAL_ORDER = ("deal_stage_change", "deal", "contact", "account")


class BatchUndone(InvalidInput):
    """The batch was undone already (nothing written)."""


@dataclass
class UndoReport:
    """What an undo did (or, in a dry run, would do)."""

    batch: ImportBatch
    removed: list[tuple[str, str]] = field(default_factory=list)
    restored: list[tuple[str, str, str]] = field(default_factory=list)
    kept: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    """(entity, row id, field or None for a whole record, why it was left)."""

    def as_json(self) -> str:
        """The report as stored on the batch."""
        return json.dumps(
            {"removed": self.removed, "restored": self.restored, "kept": self.kept},
            ensure_ascii=False,
        )


_PARTS = frozenset({"deal_stage_change", *CONTACT_ITEMS})
"""Records made as part of another (a deal's stage history, a contact's phones): not counted."""


def record_batch(
    tx: WriteTx,
    *,
    file: str,
    kind: str,
    profile: str | None,
    created: Sequence[tuple[str, str]],
    changes: Iterable[RowChange],
    rejected: int,
    rejects_path: str | None,
) -> ImportBatch:
    """Record an import's batch in its own transaction (call after the import's writes)."""
    sets = [c for c in changes if c.kind == "set" and c.field is not None]
    tx.flush()  # the import's journal ops are in the table, so the marks are after them
    # Two index lookups: the greatest id from the primary key, this transaction's last
    # clock reading from ix_journal_pending_tx (its rows are unpushed until it commits).
    # One query with `max(hlc) FILTER (WHERE tx_id = ?)` read the whole journal.
    mark_id, mark_hlc = tx.db.execute(
        "SELECT coalesce((SELECT max(id) FROM journal), ''),"
        " coalesce((SELECT hlc FROM journal WHERE tx_id = ? AND pushed_at IS NULL"
        " ORDER BY hlc DESC LIMIT 1), '')",
        (tx.tx_id,),
    ).fetchone()
    batch = ImportBatch(
        file=file,
        kind=kind,
        profile=profile,
        # A deal's first stage change is part of the deal, not a record of its own.
        created=sum(1 for entity, _ in created if entity not in _PARTS),
        changed=len({(c.entity, c.row_id) for c in sets}),
        rejected=rejected,
        rejects_path=rejects_path,
        created_at=tx.now,
        tx_id=tx.tx_id,
        mark_id=mark_id,
        mark_hlc=mark_hlc,
    )
    tx.session.add(batch)
    tx.session.flush()
    items: list[tuple[str, int, str, str, str | None, str | None, str | None]] = [
        (batch.id, i, e, r, None, None, None) for i, (e, r) in enumerate(created)
    ]
    start = len(items)
    items += [
        (batch.id, start + i, c.entity, c.row_id, c.field, encode_value(c.before),
         encode_value(c.after))
        for i, c in enumerate(sets)
    ]  # fmt: skip
    tx.db.executemany(
        "INSERT INTO import_batch_item (batch_id, seq, entity, row_id, field, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        items,
    )
    return batch


def list_batches(tx: WriteTx) -> list[ImportBatch]:
    """Every batch, newest first."""
    stmt = select(ImportBatch).order_by(col(ImportBatch.created_at).desc(), col(ImportBatch.id))
    return list(tx.session.exec(stmt))


def get_batch(tx: WriteTx, ref: str) -> ImportBatch:
    """A batch by id or a unique id prefix; raises NotFound."""
    ref = ref.strip()
    found = tx.session.get(ImportBatch, ref)
    if found is not None:
        return found
    matches = list(
        tx.session.exec(select(ImportBatch).where(col(ImportBatch.id).startswith(ref)).limit(2))
    )
    if len(matches) == 1 and len(ref) >= 4:
        return matches[0]
    which = "several batches" if len(matches) > 1 else "no import batch"
    raise NotFound(f"{which} with id {ref!r} (see `crm import list`)")


def _decode(entity: str, name: str, text: str | None) -> Any:
    """A journal value text back into the column's Python value."""
    if text is None:
        return None
    value = json.loads(text)
    if value is None or not isinstance(value, str):
        return value
    annotation = ENTITIES[entity].model_fields[name].annotation
    kinds = (
        set(get_args(annotation)) if get_origin(annotation) in (Union, UnionType) else {annotation}
    )
    if datetime in kinds:
        return parse_timestamp(value)
    if date in kinds:
        return date.fromisoformat(value)
    return value


def _written_since(
    tx: WriteTx, batch: ImportBatch, entity: str, ids: Sequence[str]
) -> dict[str, set[str | None]]:
    """Per row id, the fields (None: a create or delete) journaled after the batch."""
    out: dict[str, set[str | None]] = {}
    rows = select_in(
        tx.db,
        "SELECT row_id, field FROM journal",
        list(ids),
        column="row_id",
        where="entity = ? AND tx_id != ? AND (id > ? OR (device_id = ? AND hlc > ?))",
        params=(entity, batch.tx_id, batch.mark_id, tx.device_id, batch.mark_hlc),
    )
    for row_id, name in rows:
        out.setdefault(row_id, set()).add(name)
    return out


def _references(entity: str) -> list[tuple[str, str, str]]:
    """(entity, table, column) of every column whose foreign key names `entity`'s table."""
    target = ENTITIES[entity].__tablename__
    out = []
    for name, model in ENTITIES.items():
        table: Any = model.__table__  # type: ignore[attr-defined]
        for column in table.columns:
            if any(fk.column.table.name == target for fk in column.foreign_keys):
                out.append((name, table.name, column.name))
    return out


def _linked(
    tx: WriteTx,
    entity: str,
    ids: Sequence[str],
    removing: set[tuple[str, str]],
    restoring: set[tuple[str, str, str]],
) -> dict[str, str]:
    """Row id -> why it is linked, for rows a live record outside `removing` names
    (by a column the undo does not restore)."""
    out: dict[str, str] = {}
    for ref_entity, table, column in _references(entity):
        has_deleted = "deleted_at" in ENTITIES[ref_entity].model_fields
        rows = select_in(
            tx.db,
            f"SELECT {column}, id FROM {table}",
            list(ids),
            column=column,
            where="deleted_at IS NULL" if has_deleted else "",
        )
        for target, ref_id in rows:
            if (
                (ref_entity, ref_id) not in removing
                and (ref_entity, ref_id, column) not in restoring
                and target not in out
            ):
                out[target] = (
                    f"a {ref_entity.replace('_', ' ')} not from this import links to it [{ref_id}]"
                )
    return out


def _load(tx: WriteTx, entity: str, ids: list[str]) -> None:
    """Bring rows into the session in chunks, so `session.get` then needs no query each."""
    model: Any = ENTITIES[entity]
    for start in range(0, len(ids), 500):
        list(tx.session.exec(select(model).where(col(model.id).in_(ids[start : start + 500]))))


class _Item(NamedTuple):
    """One `import_batch_item` row."""

    entity: str
    row_id: str
    field: str | None
    before: str | None
    after: str | None


def _items(tx: WriteTx, batch: ImportBatch) -> list[_Item]:
    rows = tx.db.execute(
        "SELECT entity, row_id, field, before, after FROM import_batch_item "
        "WHERE batch_id = ? ORDER BY seq",
        (batch.id,),
    )
    return [_Item(*row) for row in rows]


def _creations(
    tx: WriteTx,
    created: list[tuple[str, str]],
    by_entity: dict[str, list[str]],
    since: dict[str, dict[str, set[str | None]]],
    restoring: set[tuple[str, str, str]],
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """The created records to remove, and why each other one is kept."""
    # Kept when edited since; then, until nothing changes, when a record that stays
    # links to them.
    removing: set[tuple[str, str]] = set()
    reasons: dict[tuple[str, str], str] = {}
    # Plain SQL, not the ORM: a 100k-row batch would cost a session query per record.
    deleted: dict[tuple[str, str], bool] = {}
    for entity, ids in by_entity.items():
        table = ENTITIES[entity].__tablename__
        for row_id, gone in select_in(
            tx.db, f"SELECT id, deleted_at IS NOT NULL FROM {table}", ids
        ):
            deleted[(entity, row_id)] = bool(gone)
    for entity, row_id in created:
        if deleted.get((entity, row_id), True):
            reasons[(entity, row_id)] = "deleted since the import"
        elif row_id in since[entity]:
            reasons[(entity, row_id)] = "edited since the import"
        else:
            removing.add((entity, row_id))
    changed = True
    while changed:
        changed = False
        for entity, ids in by_entity.items():
            live = [i for i in ids if (entity, i) in removing]
            for row_id, why in _linked(tx, entity, live, removing, restoring).items():
                removing.discard((entity, row_id))
                reasons[(entity, row_id)] = why
                changed = True
    # A deal's stage history is part of the deal: it stays while the deal does.
    history = [i for e, i in removing if e == "deal_stage_change"]
    for row_id, deal_id in select_in(tx.db, "SELECT id, deal_id FROM deal_stage_change", history):
        if ("deal", deal_id) not in removing:
            removing.discard(("deal_stage_change", row_id))
            reasons[("deal_stage_change", row_id)] = f"the history of deal {deal_id}, which is kept"
    return removing, reasons


def _restorable(
    tx: WriteTx,
    sets: list[_Item],
    touched: dict[str, set[str]],
    since: dict[str, dict[str, set[str | None]]],
    report: UndoReport,
) -> list[tuple[Any, _Item]]:
    """The changed fields to put back, each with its row; the others go to `report.kept`."""
    # Not when changed since: its value differs, or an op on it was journaled after.
    for entity, ids in touched.items():
        _load(tx, entity, sorted(ids))
    restore: list[tuple[Any, _Item]] = []
    for item in sets:
        assert item.field is not None
        row = tx.session.get(ENTITIES[item.entity], item.row_id)
        if row is None:
            report.kept.append((item.entity, item.row_id, item.field, "the record is gone"))
            continue
        now = encode_value(getattr(row, item.field))
        later = since[item.entity].get(item.row_id, set())
        if now != item.after or item.field in later:
            report.kept.append(
                (item.entity, item.row_id, item.field, f"changed since the import (now {now})")
            )
        elif getattr(row, "deleted_at", None) is not None or None in later:
            report.kept.append((item.entity, item.row_id, item.field, "deleted since the import"))
        else:
            restore.append((row, item))
    return restore


def _item_owners(tx: WriteTx, removed: Sequence[tuple[str, str]]) -> set[str]:
    """The contacts (not removed themselves) of removed phones, emails and addresses."""
    gone = {r for e, r in removed if e == "contact"}
    owners: set[str] = set()
    for entity in CONTACT_ITEMS:
        ids = [r for e, r in removed if e == entity]
        table = ENTITIES[entity].__tablename__
        owners |= {c for (c,) in select_in(tx.db, f"SELECT contact_id FROM {table}", ids)}
    return owners - gone


_OWNER = {**dict.fromkeys(CONTACT_ITEMS, "contact_id"), "deal_stage_change": "deal_id"}
"""The column naming the record a part belongs to."""


class Removed(NamedTuple):
    """A record an undo removes, as a user reads it."""

    entity: str
    row_id: str
    name: str
    parts: int  # its phones, emails and addresses (a deal: its stage history) removed with it


def removed_records(tx: WriteTx, removed: Sequence[tuple[str, str]]) -> list[Removed]:
    """The records of `UndoReport.removed` with their names, each with its parts counted.

    A part whose record stays (an item an import added to a contact it matched) is
    listed itself, named by its record.
    """
    by_entity: dict[str, list[str]] = {}
    for entity, row_id in removed:
        by_entity.setdefault(entity, []).append(row_id)
    owner_of: dict[tuple[str, str], str] = {}
    for entity, ids in by_entity.items():
        if entity in _OWNER:
            table = ENTITIES[entity].__tablename__
            for row_id, owner in select_in(tx.db, f"SELECT id, {_OWNER[entity]} FROM {table}", ids):
                owner_of[(entity, row_id)] = owner
    names: dict[str, str] = {}
    for entity in ("contact", "account", "deal"):
        wanted = by_entity.get(entity, []) + [
            o for (e, _), o in owner_of.items() if _OWNER[e] == f"{entity}_id"
        ]
        table = ENTITIES[entity].__tablename__
        names.update(select_in(tx.db, f"SELECT id, name FROM {table}", sorted(set(wanted))))
    whole = {row_id for entity, row_id in removed if entity not in _OWNER}
    parts: dict[str, int] = {}
    out: list[Removed] = []
    for entity, row_id in removed:
        owner = owner_of.get((entity, row_id))
        if owner in whole:
            parts[owner] = parts.get(owner, 0) + 1
        elif entity in _OWNER:
            out.append(Removed(entity, row_id, f"of {names.get(owner or '', owner)}", 0))
    out += [Removed(e, r, names.get(r, r), parts.get(r, 0)) for e, r in removed if e not in _OWNER]
    return out


def undo_batch(tx: WriteTx, ref: str, *, dry_run: bool = False) -> UndoReport:
    """Undo a batch (see the module docstring); in a dry run, only say what would happen."""
    batch = get_batch(tx, ref)
    if batch.undone_at is not None:
        raise BatchUndone(
            "batch", f"{batch.id} was undone already on {batch.undone_at:%Y-%m-%d %H:%M} UTC"
        )
    report = UndoReport(batch)
    items = _items(tx, batch)
    created = [(i.entity, i.row_id) for i in items if i.field is None]
    sets = [i for i in items if i.field is not None]
    by_entity: dict[str, list[str]] = {}
    for entity, row_id in created:
        by_entity.setdefault(entity, []).append(row_id)
    touched: dict[str, set[str]] = {}
    for item in sets:
        touched.setdefault(item.entity, set()).add(item.row_id)
    since = {
        entity: _written_since(
            tx, batch, entity, sorted(touched.get(entity, set()) | set(by_entity.get(entity, ())))
        )
        for entity in set(by_entity) | set(touched)
    }
    restore = _restorable(tx, sets, touched, since, report)
    report.restored = [(i.entity, i.row_id, i.field or "") for _, i in restore]
    # A link the undo itself takes back (a contact's company set by the import) does not
    # keep the record it points to.
    restoring = {(i.entity, i.row_id, i.field or "") for _, i in restore}
    removing, reasons = _creations(tx, created, by_entity, since, restoring)
    report.kept += [(e, r, None, why) for (e, r), why in reasons.items()]
    order = {e: n for n, e in enumerate(_REMOVAL_ORDER)}
    report.removed = sorted(
        (pair for pair in created if pair in removing), key=lambda p: order.get(p[0], -1)
    )
    if dry_run:
        return report
    contacts: dict[str, Contact] = {}
    for row, item in restore:
        assert item.field is not None
        tx.update(row, {item.field: _decode(item.entity, item.field, item.before)})
        if isinstance(row, Contact):
            contacts[row.id] = row
    tx.session.flush()
    writer = BulkWriter(tx)
    for entity in sorted({e for e, _ in report.removed}, key=lambda e: order.get(e, -1)):
        gone = [row_id for e, row_id in report.removed if e == entity]
        writer.tombstone(ENTITIES[entity], gone)
        if entity == "contact":
            for row_id in gone:
                unindex(tx.db, row_id)
    # The ORM's copies of tombstoned rows are stale now.
    tx.session.expire_all()
    # Items the import added to contacts it did not create (`--update-existing`): the
    # contact stays, its primaries and search entry follow its remaining items.
    owners = _item_owners(tx, report.removed)
    for contact in tx.session.exec(select(Contact).where(col(Contact.id).in_(sorted(owners)))):
        if contact.deleted_at is None:
            refresh_primaries(tx, contact)
            contacts[contact.id] = contact
    for contact in contacts.values():
        reindex_contact(tx, contact)
    batch.undone_at = tx.now
    batch.undo_report = report.as_json()
    tx.session.add(batch)
    return report
