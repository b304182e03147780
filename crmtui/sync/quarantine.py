"""Pulled values that do not fit their field are held back, not written.

A server that checks every op (`crmtui.sync.fields`) never sends one, but an
older server may have accepted `name = null` or a lone surrogate and now sends it
to every laptop. Writing it would fail the whole page (a NOT NULL constraint, a
value SQLite cannot encode) on every sync. Instead the change is kept in
`sync_conflict` (kind `quarantined`, the record named, the value made printable,
the reason) in the page's own transaction, the rest of the page applies, and the
sync reports it: `crm conflicts` lists it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from crmtui.domain.ids import uuid7
from crmtui.store.models import ENTITIES
from crmtui.sync.fields import SPECS, check_value, printable
from crmtui.sync.wire import Change, ConflictInfo

QUARANTINED = "quarantined"
"""`sync_conflict.kind` of a pulled value held back."""


def _columns(entity: str) -> set[str]:
    return {c.name for c in ENTITIES[entity].__table__.columns}  # type: ignore[attr-defined]


def check_change(change: Change) -> str | None:
    """Why a pulled change cannot be written here, or None.

    Only a set carries a value; a field this laptop's tables do not have is left
    to the applier (it skips it), so a newer server's new field is not an error.
    """
    if change.kind != "set" or change.field is None or change.entity not in SPECS:
        return None
    if change.field not in SPECS[change.entity]:
        if change.field in _columns(change.entity):
            return f"{change.entity}.{change.field} is not a synced field"
        return None
    return check_value(change.entity, change.field, change.value)


def hold(
    db: sqlite3.Connection,
    now: str,
    entity: str,
    row_id: str,
    field: str,
    value: str | None,
    device: str,
    reason: str,
) -> str:
    """Keep one value that was not written; returns the line the sync reports."""
    db.execute(
        "INSERT INTO sync_conflict(id, kind, entity, row_id, field, kept_value, kept_device,"
        " other_value, other_device, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (uuid7(), QUARANTINED, entity, row_id, field, printable(value), device, reason, None, now),
    )
    return f"{entity} {row_id} {field}: {reason}"


def screen(applier: Any, changes: Sequence[Change]) -> list[Change]:
    """The changes that may be written; the others are held (`hold`) and reported.

    `applier` is the page's `RemoteApplier` (its connection, time and report).
    """
    kept: list[Change] = []
    for change in changes:
        reason = check_change(change)
        if reason is None:
            kept.append(change)
            continue
        line = hold(
            applier.db,
            applier.now,
            change.entity,
            change.row_id,
            change.field or "",
            change.value,
            change.device_id,
            reason,
        )
        applier.report.quarantined.append(line)
    return kept


def screen_conflicts(applier: Any, conflicts: Sequence[ConflictInfo]) -> list[ConflictInfo]:
    """The conflicts whose two values fit their field; the others are held like changes."""
    kept: list[ConflictInfo] = []
    for info in conflicts:
        reason = next(
            (
                r
                for v in (info.kept, info.other)
                if (r := check_value(info.entity, info.field, v.value)) is not None
            ),
            None,
        )
        if reason is None or info.entity not in SPECS:
            kept.append(info)
            continue
        line = hold(
            applier.db,
            applier.now,
            info.entity,
            info.row_id,
            info.field,
            info.kept.value,
            info.kept.device_id,
            reason,
        )
        applier.report.quarantined.append(line)
    return kept
