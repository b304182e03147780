"""Reading the feed after a cursor, filtered to what the device's rep may see."""

from __future__ import annotations

from sqlalchemy import Engine, or_, select

from crmtui.server import tables as t
from crmtui.server.auth import Principal
from crmtui.server.feed import feed_head
from crmtui.sync.wire import Change, ConflictInfo, FieldVersion, PullResponse


def _in_scope(column: object, who: Principal) -> object:
    if who.visible is None:
        return None
    return or_(column.is_(None), column.in_(sorted(who.visible)))  # type: ignore[attr-defined]


def pull(engine: Engine, who: Principal, cursor: int, limit: int, server_hlc: str) -> PullResponse:
    """One page of changes after `cursor`, never past the committed feed head."""
    with engine.connect() as conn:
        # Everything numbered up to the head is committed (numbers are drawn under
        # the feed lock), so bounding the page by it never skips a late commit.
        head = feed_head(conn)
        query = (
            select(t.change)
            .where(t.change.c.seq > cursor, t.change.c.seq <= head)
            .order_by(t.change.c.seq)
            .limit(limit + 1)
        )
        scope = _in_scope(t.change.c.territory_id, who)
        if scope is not None:
            query = query.where(scope)  # type: ignore[arg-type]
        rows = conn.execute(query).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        upto = rows[-1].seq if has_more else head
        conflicts_q = select(t.conflict).where(t.conflict.c.seq > cursor, t.conflict.c.seq <= upto)
        cscope = _in_scope(t.conflict.c.territory_id, who)
        if cscope is not None:
            conflicts_q = conflicts_q.where(cscope)  # type: ignore[arg-type]
        conflict_rows = conn.execute(conflicts_q.order_by(t.conflict.c.seq)).all()
    changes: list[Change] = []
    removals: list[Change] = []
    for r in rows:
        c = Change(
            seq=r.seq,
            kind=r.kind,
            entity=r.entity,
            row_id=r.row_id,
            field=r.field,
            value=r.value,
            hlc=r.hlc,
            device_id=r.device_id,
            flagged=bool(r.flagged),
        )
        (removals if r.kind == "removal" else changes).append(c)
    conflicts = [
        ConflictInfo(
            id=r.id,
            entity=r.entity,
            row_id=r.row_id,
            field=r.field,
            kept=FieldVersion(value=r.kept_value, hlc=r.kept_hlc, device_id=r.kept_device),
            other=FieldVersion(value=r.other_value, hlc=r.other_hlc, device_id=r.other_device),
            resolved=r.resolved_at is not None,
        )
        for r in conflict_rows
    ]
    return PullResponse(
        changes=changes,
        removals=removals,
        conflicts=conflicts,
        cursor=upto,
        has_more=has_more,
        server_hlc=server_hlc,
    )
