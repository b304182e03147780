"""Reading the journal as the sync contract's ops (packed creates expanded), for tests."""

from __future__ import annotations

import sqlite3

from crmtui.store.journal import expand

LogicalRow = tuple[str, str, str | None, str | None, str]
"""(op id, op, field, value, hlc) of one contract op."""


def logical_journal(
    db: sqlite3.Connection, where: str = "1", params: tuple = ()
) -> list[LogicalRow]:
    """The contract ops of the journal rows matching `where`, in (hlc, id) order."""
    rows = db.execute(
        f"SELECT id, op, field, value, hlc FROM journal WHERE {where} ORDER BY hlc, id", params
    ).fetchall()
    return [
        (*logical, hlc)
        for op_id, op, fld, value, hlc in rows
        for logical in expand(op_id, op, fld, value)
    ]
