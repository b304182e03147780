"""Contacts that arrived by sync and have not been checked for duplicates yet.

A pull records the ids of contacts that another laptop created (or whose name,
email, phones or external id it changed) in `local_meta` under ARRIVALS_KEY; a
review (`crm dedupe scan --new`, or the Duplicates screen's scan) takes them off.
This is the watermark: local bookkeeping, never journaled or synced (each laptop
reviews what reached it). Past MAX_IDS ids (the first sync of a fresh laptop
pulls the whole territory) the list becomes ALL: every contact is new then.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

ARRIVALS_KEY = "dedupe_arrivals"
MAX_IDS = 20_000
ALL = "*"
IDENTITY_FIELDS = frozenset(
    {"name", "given_name", "family_name", "email", "phone", "mobile", "external_id"}
)
"""Contact fields whose change can make a record a duplicate (see domain.identity)."""


def _read(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM local_meta WHERE key = ?", (ARRIVALS_KEY,)).fetchone()
    return str(row[0]) if row else None


def arrivals(db: sqlite3.Connection) -> set[str] | None:
    """The ids waiting for review; None means every contact (too many to list)."""
    raw = _read(db)
    if raw is None:
        return set()
    if raw == ALL:
        return None
    return set(json.loads(raw))


def _write(db: sqlite3.Connection, value: str | None) -> None:
    if value is None:
        db.execute("DELETE FROM local_meta WHERE key = ?", (ARRIVALS_KEY,))
        return
    db.execute(
        "INSERT INTO local_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (ARRIVALS_KEY, value),
    )


def add_arrivals(db: sqlite3.Connection, ids: Iterable[str]) -> None:
    """Record contacts that came in (inside the caller's transaction)."""
    new = set(ids)
    if not new:
        return
    waiting = arrivals(db)
    if waiting is None:
        return
    waiting |= new
    _write(db, ALL if len(waiting) > MAX_IDS else json.dumps(sorted(waiting)))


def take_reviewed(db: sqlite3.Connection, reviewed: set[str] | None) -> None:
    """Take reviewed ids off the list (None: the whole list was reviewed).

    Only what was read before the review is taken off: ids a sync added meanwhile stay.
    """
    if reviewed is None:
        _write(db, None)
        return
    waiting = arrivals(db)
    if waiting is None:
        return  # ALL arrived after the review started: the next review takes it
    left = waiting - reviewed
    _write(db, json.dumps(sorted(left)) if left else None)
