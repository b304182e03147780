"""Which of a handful of contacts must not be called (for marking result lists).

Plain sqlite3 on the lookup connection, so a list can show the flag without
loading whole contacts through SQLModel.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# SQLite's default limit on host parameters is far above this; chunking keeps
# the statement small even if a caller passes a long list.
_CHUNK = 500


def do_not_call_ids(db: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """The subset of `ids` whose contact is flagged do-not-call."""
    flagged: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        flagged.update(
            row[0]
            for row in db.execute(
                f"SELECT id FROM contact WHERE id IN ({marks}) AND do_not_call", chunk
            )
        )
    return flagged
