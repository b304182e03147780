"""Reading the feed after a cursor, filtered to what the device's rep may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, exists, not_, or_, select, union_all

from crmtui.server import tables as t
from crmtui.server.auth import Principal
from crmtui.server.feed import feed_head
from crmtui.sync.fields import SHARED
from crmtui.sync.wire import PullResponse


def _unplaced(table: Any, who: Principal) -> Any:
    """The rows of `table` without a territory that the device's rep may read.

    A customer record without a territory is read by its creator's laptops (and
    managers, admins); shared entities (`fields.SHARED`) by everyone.
    """
    unplaced = table.c.territory_id.is_(None)
    if who.role != "rep":
        return unplaced
    mine = exists().where(
        t.row_scope.c.entity == table.c.entity,
        t.row_scope.c.row_id == table.c.row_id,
        t.row_scope.c.created_device.in_(sorted(who.clients) or [""]),
    )
    return and_(unplaced, or_(table.c.entity.in_(sorted(SHARED)), mine))


def _in_scope(table: Any, who: Principal) -> Any:
    """The rows of `table` (the feed or the conflicts) the device's rep may read; None: all."""
    if who.visible is None:
        return None
    return or_(_unplaced(table, who), table.c.territory_id.in_(sorted(who.visible)))


Ranges = list[tuple[int, int]]
"""Feed number ranges, first and last included."""


_COLUMNS = ("seq", "kind", "entity", "row_id", "field", "value", "hlc", "device_id", "flagged")


def _page_query(
    who: Principal, cursor: int, head: int, limit: int, client: str | None, own: Ranges
) -> Any:
    """The page's entries: the device's scope, in feed order, after the cursor.

    The scope is read as disjoint parts, each an ordered range of one index: every
    visible territory's entries (`ix_sync_change_territory_seq`), the unplaced ones
    (same index, territory null), and those written for this device alone
    (`ix_sync_change_for_device_seq`); the database merges them in `seq` order and
    stops at the page's end. As one filter over the feed it walked every entry after
    the cursor, all territories', to find the device's: on a 200k-entry feed of 50
    territories a page took ~20x the raw read of its rows (bench/pull_page.py).
    An admin (no scope) reads the feed itself, in order.
    """
    c = t.change.c
    base = [c.seq > cursor, c.seq <= head, c.kind != t.LOGGED]
    if client is not None and own:
        # The device's own ops, as it sent them: it holds them already.
        mine = and_(
            c.echo.is_(True),
            c.device_id == client,
            or_(*(c.seq.between(first, last) for first, last in own)),
        )
        base.append(not_(mine))
    columns = [c[name] for name in _COLUMNS]
    if who.visible is None:
        shared: Any = or_(c.for_device.is_(None), c.for_device == who.device_id)
        return select(*columns).where(*base, shared).order_by(c.seq).limit(limit + 1)
    parts = [
        select(*columns).where(*base, c.for_device.is_(None), c.territory_id == territory)
        for territory in sorted(who.visible)
    ]
    parts.append(select(*columns).where(*base, c.for_device.is_(None), _unplaced(t.change, who)))
    parts.append(select(*columns).where(*base, c.for_device == who.device_id))
    # Each part ordered and limited, so each stops at the page's end on its own index.
    limited = [part.order_by(c.seq).limit(limit + 1).subquery().select() for part in parts]
    merged = union_all(*limited).subquery()
    return select(*(merged.c[name] for name in _COLUMNS)).order_by(merged.c.seq).limit(limit + 1)


def parse_ranges(text: str | None) -> Ranges:
    """`a-b,c-d` as [(a, b), (c, d)] (the route's pattern has checked the form)."""
    if not text:
        return []
    ranges = []
    for part in text.split(","):
        first, last = part.split("-")
        # Feed numbers are bigints: anything larger names nothing that exists.
        ranges.append((min(int(first), 2**62), min(int(last), 2**62)))
    return ranges


def pull(
    engine: Engine,
    who: Principal,
    cursor: int,
    limit: int,
    server_hlc: str,
    own: Ranges | None = None,
) -> PullResponse:
    """One page of changes after `cursor`, never past the committed feed head."""
    return PullResponse.model_validate(pull_page(engine, who, cursor, limit, server_hlc, own))


def pull_page(
    engine: Engine,
    who: Principal,
    cursor: int,
    limit: int,
    server_hlc: str,
    own: Ranges | None = None,
) -> dict[str, Any]:
    """`pull` as the plain data of a `PullResponse`, for the route to send as it is.

    Everything in it was validated on its way in (a push or an admin command), so
    the route skips a second validation of thousands of changes per page.

    `own`: ranges of feed numbers drawn by this device's pushes whose answers it
    has recorded (`PushResponse.feed`). The echoes in them -- its own ops, as it
    sent them -- are left out: it holds them already. Everything else in those
    ranges (removals, snapshots, undeletes, versions the server made) is sent.
    """
    with engine.connect() as conn:
        # Everything numbered up to the head is committed (numbers are drawn under
        # the feed lock), so bounding the page by it never skips a late commit.
        head = feed_head(conn)
        client = None
        if own:
            client = conn.execute(
                select(t.device.c.client_id).where(t.device.c.id == who.device_id)
            ).scalar()
        query = _page_query(who, cursor, head, limit, client, own or [])
        rows = conn.execute(query).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        upto = rows[-1].seq if has_more else head
        conflicts_q = select(t.conflict).where(t.conflict.c.seq > cursor, t.conflict.c.seq <= upto)
        cscope = _in_scope(t.conflict, who)
        if cscope is not None:
            conflicts_q = conflicts_q.where(cscope)
        conflict_rows = conn.execute(conflicts_q.order_by(t.conflict.c.seq)).all()
    changes: list[dict[str, Any]] = []
    removals: list[dict[str, Any]] = []
    for seq, kind, entity, row_id, field, value, hlc, device_id, flagged in rows:
        (removals if kind == "removal" else changes).append(
            {
                "seq": seq,
                "kind": kind,
                "entity": entity,
                "row_id": row_id,
                "field": field,
                "value": value,
                "hlc": hlc,
                "device_id": device_id,
                "flagged": bool(flagged),
            }
        )
    conflicts = [
        {
            "id": r.id,
            "entity": r.entity,
            "row_id": r.row_id,
            "field": r.field,
            "kept": {"value": r.kept_value, "hlc": r.kept_hlc, "device_id": r.kept_device},
            "other": {"value": r.other_value, "hlc": r.other_hlc, "device_id": r.other_device},
            "resolved": r.resolved_at is not None,
        }
        for r in conflict_rows
    ]
    return {
        "changes": changes,
        "removals": removals,
        "conflicts": conflicts,
        "cursor": upto,
        "has_more": has_more,
        "server_hlc": server_hlc,
    }
