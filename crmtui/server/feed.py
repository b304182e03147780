"""Numbering the feed: changes get their sequence numbers in commit order.

On PostgreSQL a sequence value becomes visible when its transaction commits, not
when it is drawn, so two concurrent writers can make `seq = 11` visible before
`seq = 10`, and a reader that moved its cursor to 11 would never see 10. Feed
numbers are therefore only ever handed out under the one `sync_counter` row lock
(an UPDATE holds it until commit), in a transaction that commits the numbers and
the counter together; readers bound each page by the counter's committed value,
so they never look past what is complete, on the primary or on a replica (which
replays the two in the same commit).

A push on PostgreSQL does not hold that lock while it decides its ops (that was
one push at a time for the whole team). It holds locks on the territories it
touches (`crmtui.server.locks`), decides and writes its records, then takes the
counter lock last and inserts its entries already numbered (`write_changes`), so
the counter is held only for that insert and the commit, and a push that
depends on another's rows (it waited for their territory's lock) is numbered
after it. Entries of one batch are contiguous. Until issue #20 part 3 pushes
wrote provisional negative numbers (`-(batch << BATCH_SHIFT | i)`, `sync_batch`)
renumbered after commit by `settle`, which wrote every feed row twice; an older
worker's leftovers are still numbered by `settle`/`number_pending` (every pull
asks first). Admin commands, reseeds and scope catch-ups number under
`lock_feed` (which also waits for every push in flight); so does every push on
SQLite, where `BEGIN IMMEDIATE` already makes writers take turns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select, text, update

from crmtui.server import tables as t
from crmtui.server.bulk import insert_rows
from crmtui.server.locks import lock_everything

FEED = "feed"

BATCH_SHIFT = 24
"""Provisional numbers leave 2**24 entries to a batch (a batch is at most 1,000 ops)."""


def lock_counter(conn: Connection) -> None:
    """Take the counter's row lock for the rest of this transaction (a no-op write)."""
    conn.execute(update(t.counter).where(t.counter.c.id == FEED).values(value=t.counter.c.value))


def lock_feed(conn: Connection) -> None:
    """Take the feed lock: no push in flight, the counter locked, leftovers numbered."""
    lock_everything(conn)
    lock_counter(conn)
    number_pending(conn)


def number_pending(conn: Connection) -> int:
    """Number every committed provisional entry in batch order (counter lock held).

    Returns how many entries were numbered. On SQLite there are none.
    """
    if conn.dialect.name != "postgresql":
        return 0
    # One statement, set-based: the provisional numbers in batch order get the next
    # numbers after the head. `seq < 0` on both sides keeps it to an index range
    # scan of the pending rows (an unnest of parameter arrays let the planner hash
    # the whole feed on every settle).
    head = feed_head(conn)
    numbered = conn.execute(
        text(
            "WITH p AS (SELECT seq, :head + row_number() OVER (ORDER BY seq DESC) AS new"
            " FROM (SELECT seq FROM sync_change WHERE seq < 0"
            " UNION ALL SELECT seq FROM srv_conflict WHERE seq < 0) u),"
            " c AS (UPDATE sync_change s SET seq = p.new FROM p"
            " WHERE s.seq = p.seq AND s.seq < 0 RETURNING 1),"
            " d AS (UPDATE srv_conflict s SET seq = p.new FROM p"
            " WHERE s.seq = p.seq AND s.seq < 0 RETURNING 1)"
            " SELECT count(*) FROM p"
        ),
        {"head": head},
    ).scalar_one()
    if numbered:
        conn.execute(
            update(t.counter).where(t.counter.c.id == FEED).values(value=head + int(numbered))
        )
    return int(numbered)


def has_pending(conn: Connection) -> bool:
    """Tell whether a committed push left entries not numbered yet (PostgreSQL only)."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM sync_change WHERE seq < 0)"
            " OR EXISTS (SELECT 1 FROM srv_conflict WHERE seq < 0)"
        )
    ).scalar()
    return bool(found)


def settle(engine: Engine, op_ids: list[str]) -> tuple[int, int] | None:
    """Number what committed pushes left, then the feed range of `op_ids`' log rows.

    Entries of one batch are numbered together, so every entry between the first
    and last of its ops' rows is the batch's (what `PushResponse.feed` promises
    for its use: which of a device's echoes it holds).
    """
    if engine.dialect.name != "postgresql":
        return None  # SQLite pushes number their entries in their own transaction
    with engine.connect() as conn:
        pending = has_pending(conn)
    if pending:
        with engine.begin() as conn:
            lock_counter(conn)
            number_pending(conn)
    if not op_ids:
        return None
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(t.change.c.seq), func.max(t.change.c.seq)).where(
                t.change.c.op_id.in_(op_ids), t.change.c.seq > 0
            )
        ).one()
    return None if first is None else (int(first), int(last))


def feed_head(conn: Connection) -> int:
    """The highest committed feed number."""
    return int(conn.execute(select(t.counter.c.value).where(t.counter.c.id == FEED)).scalar_one())


def draw(conn: Connection, count: int) -> int:
    """Reserve `count` feed numbers; returns the first.

    One statement: the UPDATE takes the counter's row lock (if this transaction
    does not hold it yet) and keeps it to commit, so the numbers drawn are
    contiguous and committed with the entries, as under `lock_counter`.
    """
    head = conn.execute(
        update(t.counter)
        .where(t.counter.c.id == FEED)
        .values(value=t.counter.c.value + count)
        .returning(t.counter.c.value)
    ).scalar_one()
    return int(head) - count + 1


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


def write_changes(
    conn: Connection, changes: list[PendingChange], *, provisional: bool = False
) -> tuple[int, int] | None:
    """Number and insert the changes of this transaction (feed lock held).

    Returns the first and last feed numbers drawn (None when there was nothing):
    every entry in that range was written by this transaction. `provisional`
    (PostgreSQL, territory locks held instead of the feed lock): the entries get
    negative numbers of a new batch, numbered by `settle` after commit; returns None.
    """
    if not changes:
        return None
    if provisional:
        if len(changes) >= 1 << BATCH_SHIFT:
            raise ValueError(f"a batch of {len(changes)} feed entries is over the limit")
        batch = int(conn.execute(text("SELECT nextval('sync_batch')")).scalar_one())
        first = -(batch << BATCH_SHIFT)
        step = -1
    else:
        first = draw(conn, len(changes))
        step = 1
    rows = []
    for index, c in enumerate(changes):
        seq = first + step * index
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
    return None if provisional else (first, first + len(changes) - 1)
