"""Which reminders `crm notify` has shown (local bookkeeping, never synced).

A reminder is shown once per due time: deferring it to a new time makes it due
again, and it is shown again then; snoozing keeps its due time, so a snoozed
reminder already shown stays quiet.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from crmtui.store.journal import WriteTx
from crmtui.store.mail_state import ReminderNotified


def not_yet_notified(
    db: sqlite3.Connection, keys: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (tickler id, stored due time) pairs of `keys` not shown before."""
    wanted = set(keys)
    if not wanted:
        return set()
    shown = {
        (t, d)
        for t, d in db.execute(
            "SELECT tickler_id, due_at FROM reminder_notified WHERE tickler_id IN "
            f"({','.join('?' * len({k[0] for k in wanted}))})",
            sorted({k[0] for k in wanted}),
        )
    }
    return wanted - shown


def mark_notified(*, tx: WriteTx, keys: Iterable[tuple[str, str]]) -> int:
    """Record that these reminders were shown at these due times; returns how many were new."""
    added = 0
    for tickler_id, due_at in keys:
        if tx.session.get(ReminderNotified, (tickler_id, due_at)) is None:
            tx.session.add(
                ReminderNotified(tickler_id=tickler_id, due_at=due_at, notified_at=tx.now)
            )
            added += 1
    tx.session.flush()
    return added
