"""Numbering the feed: changes get their sequence numbers in commit order.

On PostgreSQL a sequence value becomes visible when its transaction commits, not
when it is drawn, so two concurrent writers can make `seq = 11` visible before
`seq = 10`, and a reader that moved its cursor to 11 would never see 10. Every
push therefore starts by locking the one `sync_counter` row (an UPDATE holds
its row lock until commit) and draws its numbers from it at the end: writers
that touch the feed are serialised, so numbers are committed in the order they
are handed out. On SQLite `BEGIN IMMEDIATE` gives the same order. Readers also
bound each page by the counter's committed value, so they never look past what
is complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from crmtui.server import tables as t
from crmtui.server.bulk import insert_rows

FEED = "feed"


def lock_feed(conn: Connection) -> None:
    """Take the feed lock for the rest of this transaction (a no-op write on its row)."""
    conn.execute(update(t.counter).where(t.counter.c.id == FEED).values(value=t.counter.c.value))


def feed_head(conn: Connection) -> int:
    """The highest committed feed number."""
    return int(conn.execute(select(t.counter.c.value).where(t.counter.c.id == FEED)).scalar_one())


def draw(conn: Connection, count: int) -> int:
    """Reserve `count` feed numbers; returns the first (the feed lock must be held)."""
    head = feed_head(conn)
    conn.execute(update(t.counter).where(t.counter.c.id == FEED).values(value=head + count))
    return head + 1


@dataclass
class PendingChange:
    """A feed entry waiting for its sequence number at the end of the transaction."""

    kind: str
    entity: str
    row_id: str
    field: str | None
    value: str | None
    hlc: str
    device_id: str
    territory_id: str | None
    flagged: bool = False
    conflict_id: str | None = None
    echo: bool = False
    """The pushed op itself as its device sent it (`tables.change`'s `echo`)."""
    op_id: str | None = None
    """Set on the row that logs a pushed op (its echo, or a `tables.LOGGED` row)."""
    status: str | None = None
    reason: str | None = None
    received_at: str | None = None
    for_device: str | None = None
    """Set on an entry made for one device's pull only (`crmtui.server.scope`)."""


def write_changes(conn: Connection, changes: list[PendingChange]) -> tuple[int, int] | None:
    """Number and insert the changes of this transaction (feed lock held).

    Returns the first and last feed numbers drawn (None when there was nothing):
    every entry in that range was written by this transaction.
    """
    if not changes:
        return None
    first = draw(conn, len(changes))
    rows = []
    for seq, c in enumerate(changes, start=first):
        if c.conflict_id is not None:
            conn.execute(update(t.conflict).where(t.conflict.c.id == c.conflict_id).values(seq=seq))
            continue
        rows.append(
            (
                seq,
                c.kind,
                c.entity,
                c.row_id,
                c.field,
                c.value,
                c.hlc,
                c.device_id,
                c.territory_id,
                c.flagged,
                c.echo,
                c.op_id,
                c.status,
                c.reason,
                c.received_at,
                c.for_device,
            )
        )  # in the column order of sync_change
    insert_rows(conn, t.change, rows)
    return first, first + len(changes) - 1
