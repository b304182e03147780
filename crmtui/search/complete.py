"""Shell completion of contacts: names (or ids) that start with what was typed.

sqlite3 only and one indexed-enough query (a LIKE over live contacts' names,
capped), so a Tab press answers while the shell waits.
"""

from __future__ import annotations

import sqlite3

MAX_COMPLETIONS = 30


def contact_completions(
    db: sqlite3.Connection, typed: str, *, limit: int = MAX_COMPLETIONS
) -> list[tuple[str, str]]:
    """(value, description) pairs: contacts whose name starts with `typed` (any case; the
    value keeps the typed letters, as shells keep only values that start with them), or
    whose id does; names first, shortest first."""
    text = typed.strip()
    if not text:
        rows = db.execute(
            "SELECT c.name, c.id, a.name FROM contact c LEFT JOIN account a ON a.id = c.account_id "
            "WHERE c.deleted_at IS NULL AND c.archived_at IS NULL "
            "ORDER BY c.updated_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [(name, company or cid) for name, cid, company in rows]
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = db.execute(
        "SELECT c.name, c.id, a.name FROM contact c LEFT JOIN account a ON a.id = c.account_id "
        "WHERE c.deleted_at IS NULL AND c.archived_at IS NULL "
        "AND c.name LIKE :p ESCAPE '\\' "
        "ORDER BY length(c.name), c.name LIMIT :n",
        {"p": f"{escaped}%", "n": limit},
    ).fetchall()
    n = len(text)
    found = [
        (text + name[n:], company or cid)
        for name, cid, company in rows
        if name[:n].casefold() == text.casefold()  # LIKE folds ASCII only
    ]
    if len(text) >= 4 and all(ch in "0123456789abcdef-" for ch in text.lower()):
        ids = db.execute(
            "SELECT id, name FROM contact WHERE id LIKE ? AND deleted_at IS NULL LIMIT ?",
            (f"{text.lower()}%", limit),
        ).fetchall()
        found += [(cid, name) for cid, name in ids]
    return found[:limit]
