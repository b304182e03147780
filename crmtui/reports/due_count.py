"""How many reminders are due: two numbers cheap enough for a shell prompt or a status line.

One indexed query (`ix_tickler_status_due`) on a read-only connection, sqlite3
only. The same buckets as the agenda (`crmtui.reports.agenda`): overdue is due
before now; due is due from now to the end of the local day; snoozed reminders
are left out until their snooze ends.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time, timedelta

_SQL = """
SELECT coalesce(sum(due_at < :now), 0), coalesce(sum(due_at >= :now), 0)
FROM tickler
WHERE status = 'open' AND deleted_at IS NULL AND due_at < :end
  AND (snoozed_until IS NULL OR snoozed_until <= :now)
"""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def due_counts(db: sqlite3.Connection, now: datetime) -> tuple[int, int]:
    """(overdue, due later today) at `now` (aware, the user's zone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the user's zone)")
    end = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
    overdue, today = db.execute(_SQL, {"now": _stamp(now), "end": _stamp(end)}).fetchone()
    return int(overdue), int(today)


def prompt_text(overdue: int, today: int) -> str:
    """ "3 due, 1 overdue" (empty when nothing is due, so a prompt stays clean)."""
    parts = []
    if today:
        parts.append(f"{today} due")
    if overdue:
        parts.append(f"{overdue} overdue")
    return ", ".join(parts)
