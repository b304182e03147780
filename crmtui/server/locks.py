"""Who waits for whom on the server: territory locks for pushes, one lock for the rest.

A push decides its ops from what the server holds (field versions, a record's
territory, its links) and writes the outcome; two pushes that touch one record
must take turns or one would decide from a version the other is replacing. A
rep can only write records of their territories and unplaced records their own
laptops made (`Principal.sees_row`), and reads links only there, so a rep's push
locks exactly those: one PostgreSQL transaction-scoped advisory lock per
territory (the distribution key, `srv_row.territory_id`) and one for the rep's
unplaced records, all taken in sorted order after the shared side of the
everything lock. Reps of different territories no longer wait for each other.

A manager's push locks the territories of the records it touches: each op's
record, the records its links name and the territory a move sends a record to
(`lock_territories`, read before locking and checked again under the locks,
`crmtui.server.push`); one that turns out to touch more (a record moved
meanwhile, a linked activity re-scoped elsewhere, someone else's unplaced record)
is rolled back and redone under the everything lock. Admins' pushes, the admin
commands, reseeds and scope catch-ups take the everything lock exclusively,
which waits for every push in flight.
Advisory locks are transaction-scoped (`pg_advisory_xact_lock`), so they work
through PgBouncer in transaction pooling. On SQLite `BEGIN IMMEDIATE` already
makes every writer take turns and these are no-ops.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

from crmtui.server.auth import Principal

EVERYTHING = 0x43524D5455490001
"""The advisory key every writer takes (shared by reps' pushes, exclusive otherwise)."""


def key(name: str) -> int:
    """A 64-bit advisory lock key for a name (a collision only makes two wait)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def push_keys(who: Principal) -> list[int] | None:
    """The keys a push by `who` locks, sorted; None when it needs the everything lock."""
    if who.role != "rep" or who.visible is None:
        return None
    names = [f"territory:{tid}" for tid in who.visible] + [f"unplaced:{who.rep_id}"]
    return sorted(key(name) for name in names)


def lock_for_push(conn: Connection, who: Principal) -> bool:
    """Take the locks a push by `who` needs; True when it holds only its territories."""
    if conn.dialect.name != "postgresql":
        return False
    keys = push_keys(who)
    if keys is None:
        lock_everything(conn)
        return False
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": EVERYTHING})
    for k in keys:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": k})
    return True


def territory_keys(territories: frozenset[str], rep_id: str) -> list[int]:
    """The keys of these territories and of `rep_id`'s own unplaced records, sorted."""
    names = [f"territory:{tid}" for tid in territories] + [f"unplaced:{rep_id}"]
    return sorted(key(name) for name in names)


def lock_territories(conn: Connection, territories: frozenset[str], rep_id: str) -> None:
    """Take the locks of exactly these territories (a manager's push of the records it touches).

    The same keys and order as a rep's push, after the shared everything lock, so a
    manager moving a North record waits for North's and South's pushes in flight
    and nobody else's.
    """
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": EVERYTHING})
    for k in territory_keys(territories, rep_id):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": k})


def lock_everything(conn: Connection) -> None:
    """Wait for every push in flight and keep new ones out until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVERYTHING})
