"""Undo: the inverse of one recorded write, written as ordinary journaled edits.

`record` runs a service call with the transaction noting every row it adds,
changes or tombstones (`WriteTx.recorder`), and keeps the rows as they were left.
`undo` puts back each changed field's earlier value, tombstones the rows the
write created (a reminder's next occurrence, a logged activity) and brings back
the rows it deleted, all through `WriteTx`, so the undo is journaled and syncs
like any edit. It refuses, writing nothing, when a row was changed since (by this
app, the shell or a sync): an undo never overwrites a later change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python
from sqlmodel import Session, col, select

from crmtui.domain.ids import uuid7
from crmtui.domain.validate import InvalidInput
from crmtui.services.reindex import reindex_contact
from crmtui.store.journal import UNJOURNALED, RowChange, WriteTx
from crmtui.store.models import ENTITIES, Contact, UndoRecord
from crmtui.store.resolve import NotFound
from crmtui.store.types import format_timestamp

if TYPE_CHECKING:
    from crmtui.services.sales.leads import Conversion, LeadConversion
    from crmtui.store.models import MergeRecord

T = TypeVar("T")


@dataclass(frozen=True)
class UndoStep:
    """One write that can be undone: what it was called, what it changed, how it left the rows."""

    label: str
    changes: tuple[RowChange, ...]
    after: tuple[tuple[str, str, dict[str, Any]], ...]
    """(entity, row id, journaled fields) of every row touched, as the write left them."""
    merge_id: str | None = None
    """Set for a merge: undone by `undo_merge`, which also marks the merge record undone."""
    record_id: str | None = None
    """The `UndoRecord` that keeps this step on the device (for `crm undo`)."""
    made_at: datetime | None = None
    """When the write was made (UTC), once kept."""


KEPT_RECORDS = 200
"""How many undo records a device keeps (the oldest go first)."""


def _state(row: Any) -> dict[str, Any]:
    # As JSON, so a step read back from its UndoRecord compares equal to a live row;
    # moments in UTC, as the store keeps them (a row just written may hold another zone).
    return {
        k: to_jsonable_python(v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo else v)
        for k, v in row.model_dump().items()
        if k not in UNJOURNALED
    }


def _keep(tx: WriteTx, step: UndoStep) -> UndoStep:
    """Store the step as an `UndoRecord` in the same transaction (nothing kept for no change)."""
    if not step.changes:
        return step
    step = replace(step, record_id=uuid7(), made_at=tx.now)
    kept = {
        "changes": [
            [c.entity, c.row_id, c.kind, c.field, to_jsonable_python(c.before)]
            for c in step.changes
        ],
        "after": [list(a) for a in step.after],
        "merge_id": step.merge_id,
    }
    # The row by SQL, as the ORM's JSON column writes it (json.dumps): building and
    # flushing an UndoRecord object cost ~0.4 ms of every undoable write.
    tx.db.execute(
        f"INSERT INTO {UndoRecord.__tablename__} (id, label, made_at, step) VALUES (?, ?, ?, ?)",
        (step.record_id, step.label[:200], format_timestamp(tx.now), json.dumps(kept)),
    )
    tx.db.execute(
        "DELETE FROM undo_record WHERE id NOT IN "
        "(SELECT id FROM undo_record ORDER BY made_at DESC, id DESC LIMIT ?)",
        (KEPT_RECORDS,),
    )
    return step


def step_of(kept: UndoRecord) -> UndoStep:
    """The undo step an `UndoRecord` keeps, with each earlier value in its field's type."""
    changes = []
    for entity, row_id, kind, field, raw in kept.step["changes"]:
        before = raw
        if field is not None and raw is not None:
            annotation: Any = ENTITIES[entity].model_fields[field].annotation
            before = TypeAdapter(annotation).validate_python(raw)
        changes.append(RowChange(entity, row_id, kind, field, before))
    after = tuple((e, r, s) for e, r, s in kept.step["after"])
    made = kept.made_at if kept.made_at.tzinfo else kept.made_at.replace(tzinfo=UTC)
    return UndoStep(kept.label, tuple(changes), after, kept.step.get("merge_id"), kept.id, made)


def kept_steps(tx: WriteTx | Session, *, limit: int = 20) -> list[UndoRecord]:
    """This device's undo records not undone yet, most recent first."""
    session = tx.session if isinstance(tx, WriteTx) else tx
    rows = session.exec(
        select(UndoRecord)
        .where(col(UndoRecord.undone_at).is_(None))
        .order_by(col(UndoRecord.made_at).desc(), col(UndoRecord.id).desc())
        .limit(limit)
    )
    return list(rows)


def undo_kept(*, tx: WriteTx, ref: str | None = None) -> UndoStep:
    """Undo a kept step by id or prefix (the most recent one when None); returns it."""
    if ref is None:
        recent = kept_steps(tx, limit=1)
        if not recent:
            raise InvalidInput("undo", "nothing to undo")
        kept = recent[0]
    else:
        kept = _kept(tx, ref)
    step = step_of(kept)
    undo(tx=tx, step=step)
    return step


def _kept(tx: WriteTx, ref: str) -> UndoRecord:
    ref = ref.strip().lower()
    found = list(
        tx.session.exec(select(UndoRecord).where(col(UndoRecord.id).startswith(ref)).limit(2))
    )
    if len(found) != 1:
        what = "no undo record" if not found else "more than one undo record"
        raise NotFound(f"{what} has an id starting {ref!r} (see crm undo --list)")
    return found[0]


Label = str | Callable[[T], str]
"""What the recent actions list calls a write: a text, or one made from the write's result."""


def _record(tx: WriteTx, label: Label[T], action: Callable[[WriteTx], T]) -> tuple[T, UndoStep]:
    changes: list[RowChange] = []
    tx.recorder = changes
    held: dict[tuple[str, str], Any] = {}
    tx.recorded_rows = held
    try:
        result = action(tx)
    finally:
        tx.recorder = tx.recorded_rows = None
    touched = list(dict.fromkeys((c.entity, c.row_id) for c in changes))
    after = []
    for entity, row_id in touched:
        # The object the write changed (the session's own), else read back.
        row = held.get((entity, row_id)) or tx.session.get(ENTITIES[entity], row_id)
        if row is not None:
            after.append((entity, row_id, _state(row)))
    text = label if isinstance(label, str) else label(result)
    return result, UndoStep(text, tuple(changes), tuple(after))


def record(tx: WriteTx, label: Label[T], action: Callable[[WriteTx], T]) -> tuple[T, UndoStep]:
    """Run `action` in `tx`, noting what it changes; returns its result and the undo step.

    The step is also kept on the device (`UndoRecord`), so `crm undo` can reverse it.
    """
    result, step = _record(tx, label, action)
    return result, _keep(tx, step)


def record_merge(
    tx: WriteTx,
    label: str,
    *,
    survivor_id: str,
    merged_id: str,
    fields: Mapping[str, str] | None = None,
    prefer: str = "A",
) -> tuple[MergeRecord, UndoStep]:
    """Merge two contacts (`merge_contacts`), noting how to undo it (`undo_merge`)."""
    from crmtui.services.upkeep.merge import merge_contacts

    merged, step = _record(
        tx,
        label,
        lambda t: merge_contacts(
            tx=t, survivor_id=survivor_id, merged_id=merged_id, prefer=prefer, fields=fields
        ),
    )
    return merged, _keep(tx, replace(step, merge_id=merged.id))


def record_convert(
    tx: WriteTx,
    *,
    lead_id: str,
    data: LeadConversion,
    region: str,
    by: str | None = None,
    label: str | None = None,
) -> tuple[Conversion, UndoStep]:
    """Convert a lead (`convert_lead`), noting how to undo it.

    The undo tombstones the account, contact and deal the conversion created, empties
    again the fields it filled on reused ones, and puts the lead's status back.
    """
    from crmtui.services.sales.leads import convert_lead

    return record(
        tx,
        label or "Convert lead",
        lambda t: convert_lead(tx=t, lead_id=lead_id, data=data, region=region, by=by),
    )


def undo(*, tx: WriteTx, step: UndoStep) -> list[str]:
    """Reverse `step` (refused if any row it touched changed since); returns the entities touched."""
    if not step.changes:
        raise InvalidInput("undo", f"“{step.label}” changed nothing")
    kept = tx.session.get(UndoRecord, step.record_id) if step.record_id else None
    if kept is not None and kept.undone_at is not None:
        raise InvalidInput("undo", f"“{step.label}” was undone already (nothing written)")
    rows: dict[tuple[str, str], Any] = {}
    for entity, row_id, state in step.after:
        row = tx.session.get(ENTITIES[entity], row_id)
        if row is None or _state(row) != state:
            raise InvalidInput(
                "undo", f"“{step.label}” cannot be undone: it was changed since (nothing written)"
            )
        rows[(entity, row_id)] = row
    if kept is not None:
        kept.undone_at = tx.now
        tx.session.add(kept)
    if step.merge_id is not None:
        from crmtui.services.upkeep.merge import MergeError, undo_merge

        try:
            undo_merge(tx=tx, merge_id=step.merge_id)
        except MergeError as exc:
            raise InvalidInput("undo", f"“{step.label}” cannot be undone: {exc}") from exc
        return sorted({entity for entity, _ in rows})
    for change in reversed(step.changes):
        row = rows[(change.entity, change.row_id)]
        if change.kind == "set" and change.field is not None:
            tx.update(row, {change.field: change.before})
        elif change.kind == "create":
            tx.delete(row)
        elif change.kind == "delete":
            tx.update(row, {"deleted_at": None})
    for (entity, _), row in rows.items():
        if entity == "contact" and isinstance(row, Contact):
            reindex_contact(tx, row)
    return sorted({entity for entity, _ in rows})
