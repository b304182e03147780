"""A record that left this laptop's scope is purged: row, journal values, notes, search entry.

A `removal` from the server means the rep may no longer read the record (it was
moved, or a territory was taken from them). Hiding the row is not enough: its
name and amount would stay in the table, the journal, the search index and
`crm export jsonl`. What stays is a tombstone: one journal row (`op = delete`,
no value, already pushed) naming the record, so the history says where it went;
the server sends a snapshot if it comes back into scope.

The laptop's own edits of the record that the server has not accepted are not
dropped silently: they are written to a rescue file (replayable with `crm sync
rescue replay` once the record is back in scope) and listed by `crm conflicts` as
`moved_away`, holding only the values this laptop wrote.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crmtui.domain.ids import uuid7
from crmtui.search.search_index import unindex
from crmtui.store.journal import expand
from crmtui.sync.wire import Change, Op

MOVED_AWAY = "moved_away"
"""`sync_conflict.kind` of a local edit of a record that left this laptop's scope."""
OWN_NOTES = (MOVED_AWAY,)
"""Note kinds holding only values this laptop wrote: they survive a purge."""


def note_moved_away(
    db: sqlite3.Connection,
    now: str,
    me: str,
    entity: str,
    row_id: str,
    field: str,
    value: str | None,
) -> str:
    """Keep one of this laptop's values of a record it may no longer read; the line to report.

    The same open note is kept once (a replayed rescue file is answered the same again).
    """
    line = f"{entity} {row_id} {field or 'delete'}: the record left your territories"
    if db.execute(
        "SELECT 1 FROM sync_conflict WHERE kind = ? AND entity = ? AND row_id = ? AND field = ?"
        " AND kept_value IS ? AND resolved_at IS NULL",
        (MOVED_AWAY, entity, row_id, field, value),
    ).fetchone():
        return line
    db.execute(
        "INSERT INTO sync_conflict(id, kind, entity, row_id, field, kept_value, kept_device,"
        " other_value, other_device, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
        (uuid7(), MOVED_AWAY, entity, row_id, field, value, me, now),
    )
    return line


def _pending_ops(db: sqlite3.Connection, me: str, entity: str, row_id: str) -> list[Op]:
    """This laptop's ops of the record the server has not answered, as wire ops with their bases."""
    synced = {
        name: (hlc, device)
        for name, hlc, device in db.execute(
            "SELECT field, hlc, device_id FROM sync_field WHERE entity = ? AND row_id = ?",
            (entity, row_id),
        )
    }
    ops = []
    rows = db.execute(
        "SELECT id, tx_id, hlc, op, field, value FROM journal WHERE pushed_at IS NULL"
        " AND device_id = ? AND entity = ? AND row_id = ? ORDER BY hlc, id",
        (me, entity, row_id),
    ).fetchall()
    for journal_id, tx_id, hlc, kind, fld, value in rows:
        for op_id, op, name, val in expand(journal_id, kind, fld, value):
            base = synced.get(name or "") if op == "set" else None
            ops.append(
                Op(
                    op_id=op_id,
                    tx_id=tx_id,
                    hlc=hlc,
                    entity=entity,
                    row_id=row_id,
                    op=op,  # type: ignore[arg-type]
                    field=name,
                    value=val,
                    base_hlc=base[0] if base else None,
                    base_device=base[1] if base else None,
                )
            )
            if op == "set" and name is not None:
                synced[name] = (hlc, me)
    return ops


def purge(
    db: sqlite3.Connection,
    now: str,
    me: str,
    table: str,
    change: Change,
    rescue_dir: Path | None,
) -> list[str]:
    """Remove every value of the record from this laptop, keeping a tombstone.

    Returns one line per local edit set aside (written to a rescue file under
    `rescue_dir` when one is given, and noted for `crm conflicts`).
    """
    entity, row_id = change.entity, change.row_id
    lines = []
    pending = _pending_ops(db, me, entity, row_id)
    if pending:
        rescued = ""
        if rescue_dir is not None:
            from crmtui.sync.rescue import write_rescue_file

            rescued = f"; saved to {write_rescue_file(rescue_dir, me, pending, '-moved')}"
        for op in pending:
            if op.op == "create":
                continue  # its fields follow as sets
            line = note_moved_away(db, now, me, entity, row_id, op.field or "", op.value)
            lines.append(line + rescued)
    # Notes of other kinds may hold values of others (overwritten, conflicts, quarantined).
    marks = ", ".join("?" for _ in OWN_NOTES)
    db.execute(
        f"DELETE FROM sync_conflict WHERE entity = ? AND row_id = ? AND kind NOT IN ({marks})",
        (entity, row_id, *OWN_NOTES),
    )
    db.execute("DELETE FROM journal WHERE entity = ? AND row_id = ?", (entity, row_id))
    db.execute("DELETE FROM sync_field WHERE entity = ? AND row_id = ?", (entity, row_id))
    db.execute(
        "DELETE FROM merge_record WHERE entity = ? AND (survivor_id = ? OR merged_id = ?)",
        (entity, row_id, row_id),
    )
    db.execute(f'DELETE FROM "{table}" WHERE id = ?', (row_id,))
    unindex(db, row_id)
    # The tombstone: the record's id and that it left, no value.
    db.execute(
        "INSERT INTO journal(id, tx_id, hlc, device_id, entity, row_id, op, field, value,"
        " created_at, pushed_at) VALUES (?, ?, ?, ?, ?, ?, 'delete', NULL, NULL, ?, ?)",
        (
            uuid7(),
            f"out-of-scope-{change.seq}"[:36],
            change.hlc,
            change.device_id,
            entity,
            row_id,
            now,
            now,
        ),
    )
    return lines
