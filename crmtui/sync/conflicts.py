"""Conflicts and overwritten values on this laptop: list them, pick one, restore one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from crmtui.store.database import Store
from crmtui.store.models import ENTITIES
from crmtui.store.sync_state import SyncConflict
from crmtui.sync.apply_remote import decode_value
from crmtui.sync.purge import MOVED_AWAY
from crmtui.sync.quarantine import QUARANTINED

KEEP = ("mine", "theirs")
SET_ASIDE = frozenset({"overwritten", "rejected"})
"""Kinds that keep this laptop's own value as the one set aside (`other_value`)."""


class ConflictError(ValueError):
    """No such open conflict, or the choice does not apply."""


@dataclass(frozen=True)
class ConflictRow:
    """One line of `crm conflicts`."""

    id: str
    kind: str
    entity: str
    row_id: str
    field: str
    kept: str | None
    other: str | None
    mine: str | None
    theirs: str | None
    resolved: str | None


def list_conflicts(store: Store, *, include_resolved: bool = False) -> list[ConflictRow]:
    """Open conflicts and overwritten values, newest first."""
    with store.read() as s:
        device = (
            s.connection()
            .exec_driver_sql("SELECT value FROM local_meta WHERE key = 'device_id'")
            .scalar()
        )
        q = select(SyncConflict).order_by(SyncConflict.created_at.desc())  # type: ignore[attr-defined]
        if not include_resolved:
            q = q.where(SyncConflict.resolved_at.is_(None))  # type: ignore[union-attr]
        rows = s.exec(q).all()
    out = []
    for r in rows:
        mine, theirs = (r.kept_value, r.other_value)
        if (r.kind == "conflict" and r.other_device == device) or r.kind in SET_ASIDE:
            mine, theirs = r.other_value, r.kept_value
        out.append(
            ConflictRow(
                r.id,
                r.kind,
                r.entity,
                r.row_id,
                r.field,
                r.kept_value,
                r.other_value,
                mine,
                theirs,
                r.resolution,
            )
        )
    return out


def _find(store: Store, ref: str) -> ConflictRow:
    rows = [c for c in list_conflicts(store) if c.id.startswith(ref.lower())]
    if len(rows) != 1:
        raise ConflictError(f"no single open conflict matches {ref!r}")
    return rows[0]


def resolve(store: Store, ref: str, keep: str) -> ConflictRow:
    """Keep `mine` or `theirs`; the choice is written as an ordinary edit and synced."""
    if keep not in KEEP:
        raise ConflictError(f"--keep must be mine or theirs, not {keep!r}")
    row = _find(store, ref)
    value = row.mine if keep == "mine" else row.theirs
    _write(store, row, value, keep)
    return row


def restore(store: Store, ref: str) -> ConflictRow:
    """Put back the value that was overwritten (or set aside)."""
    row = _find(store, ref)
    _write(
        store,
        row,
        row.mine if row.kind in SET_ASIDE or row.kind == MOVED_AWAY else row.other,
        "restored",
    )
    return row


def _write(store: Store, row: ConflictRow, value: str | None, resolution: str) -> None:
    if row.kind == QUARANTINED:
        raise ConflictError(
            f"{row.entity} {row.row_id} {row.field}: a quarantined value does not fit its"
            " field and cannot be put back; set the field again"
        )
    with store.write() as tx:
        obj = tx.session.get(ENTITIES[row.entity], row.row_id)
        if obj is None and row.kind == MOVED_AWAY:
            raise ConflictError(
                f"{row.entity} {row.row_id} is outside your territories now; it comes back"
                " (and this value can be restored) if it returns to your scope"
            )
        if obj is None:
            raise ConflictError(f"{row.entity} {row.row_id} is not on this laptop")
        tx.update(obj, {row.field: decode_value(row.entity, row.field, value)})
        record = tx.session.get(SyncConflict, row.id)
        assert record is not None
        record.resolved_at = tx.now
        record.resolution = resolution
        tx.session.add(record)


def unreported_resolutions(store: Store) -> list[str]:
    """Server ids of conflicts resolved here and not yet reported to the server."""
    with store.read() as s:
        q = select(SyncConflict.server_id).where(
            SyncConflict.server_id.is_not(None),  # type: ignore[union-attr]
            SyncConflict.resolved_at.is_not(None),  # type: ignore[union-attr]
            SyncConflict.reported_at.is_(None),  # type: ignore[union-attr]
            SyncConflict.resolution != "elsewhere",
        )
        return [sid for sid in s.exec(q).all() if sid]
