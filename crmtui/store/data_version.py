"""Whether anything was committed to the file since a read: SQLite's `data_version`.

Plain sqlite3, so the app's read side (the sync badge, the report cache, the
board) can ask it after every write and on every timer tick at no cost.
"""

from __future__ import annotations

import sqlite3


def data_version(db: sqlite3.Connection) -> int:
    """SQLite's `data_version`: it changes when another connection commits to the file.

    Comparing it with the value seen at the last read tells whether anything (the
    app's writer, a `crm` command in a shell, a sync) may have changed the numbers.
    """
    return int(db.execute("PRAGMA data_version").fetchone()[0])
