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


def write_changes(conn: Connection, changes: list[PendingChange]) -> None:
    """Number and insert the changes of this transaction (feed lock held)."""
    if not changes:
        return
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
            )
        )  # in the column order of sync_change
    insert_rows(conn, t.change, rows)
