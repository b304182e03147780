"""Helpers for the Pilot tests of the daily loop (agenda, quick log, call list)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.app_support import DAILY_NOW

SIZE = (120, 40)


def fixed_clock() -> Any:
    """The app's clock in these tests: always `DAILY_NOW` (UTC)."""
    return DAILY_NOW


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to check what the app wrote."""
    db = sqlite3.connect(path)
    try:
        yield db
    finally:
        db.close()


def counts(path: Path) -> dict[str, int]:
    """How many activities, reminders and journal operations the database holds."""
    with reading(path) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("activity", "tickler", "journal")
        }
