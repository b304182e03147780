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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from crmtui.domain.validate import InvalidInput
from crmtui.services.reindex import reindex_contact
from crmtui.store.journal import UNJOURNALED, RowChange, WriteTx
from crmtui.store.models import ENTITIES, Contact

if TYPE_CHECKING:
    from crmtui.services.leads import Conversion, LeadConversion
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


def _state(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row.model_dump().items() if k not in UNJOURNALED}


def record(tx: WriteTx, label: str, action: Callable[[WriteTx], T]) -> tuple[T, UndoStep]:
    """Run `action` in `tx`, noting what it changes; returns its result and the undo step."""
    changes: list[RowChange] = []
    tx.recorder = changes
    try:
        result = action(tx)
    finally:
        tx.recorder = None
    touched = list(dict.fromkeys((c.entity, c.row_id) for c in changes))
    after = []
    for entity, row_id in touched:
        row = tx.session.get(ENTITIES[entity], row_id)
        if row is not None:
            after.append((entity, row_id, _state(row)))
    return result, UndoStep(label, tuple(changes), tuple(after))


def record_merge(
    tx: WriteTx,
    label: str,
    *,
    survivor_id: str,
    merged_id: str,
    fields: Mapping[str, str] | None = None,
) -> tuple[MergeRecord, UndoStep]:
    """Merge two contacts (`merge_contacts`), noting how to undo it (`undo_merge`)."""
    from crmtui.services.merge import merge_contacts

    merged, step = record(
        tx,
        label,
        lambda t: merge_contacts(
            tx=t, survivor_id=survivor_id, merged_id=merged_id, prefer="A", fields=fields
        ),
    )
    return merged, replace(step, merge_id=merged.id)


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
    from crmtui.services.leads import convert_lead

    return record(
        tx,
        label or "Convert lead",
        lambda t: convert_lead(tx=t, lead_id=lead_id, data=data, region=region, by=by),
    )


def undo(*, tx: WriteTx, step: UndoStep) -> list[str]:
    """Reverse `step` (refused if any row it touched changed since); returns the entities touched."""
    if not step.changes:
        raise InvalidInput("undo", f"“{step.label}” changed nothing")
    rows: dict[tuple[str, str], Any] = {}
    for entity, row_id, state in step.after:
        row = tx.session.get(ENTITIES[entity], row_id)
        if row is None or _state(row) != state:
            raise InvalidInput(
                "undo", f"“{step.label}” cannot be undone: it was changed since (nothing written)"
            )
        rows[(entity, row_id)] = row
    if step.merge_id is not None:
        from crmtui.services.merge import MergeError, undo_merge

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
