"""Reading rows by a long list of ids: `IN (...)` in chunks."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

_IN_CHUNK = 500
"""Ids per `IN (...)` list (SQLite's variable limit is far above it)."""


def select_in(
    db: sqlite3.Connection,
    select: str,
    ids: Sequence[str],
    *,
    column: str = "id",
    where: str = "",
    params: tuple[Any, ...] = (),
) -> list[tuple[Any, ...]]:
    """Rows of `select ... WHERE <where> AND <column> IN (ids)`, in chunks."""
    found: list[tuple[Any, ...]] = []
    condition = f"{where} AND " if where else ""
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        query = f"{select} WHERE {condition}{column} IN ({marks})"
        found.extend(db.execute(query, (*params, *chunk)))
    return found
