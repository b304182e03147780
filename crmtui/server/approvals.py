"""A manager's discount decision made on the server (`crm server deal approve|refuse`).

The server holds every record as fields (`srv_field`), so it reads the deal's live
lines, the threshold and the decisions made so far from there, takes the same digest
and state as a laptop (`crmtui.domain.approval`), and makes the decision as a record
of its own (`crmtui.server.made`), placed in the deal's territory: the rep's laptop
pulls it at the next sync like a manager's pushed decision.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from crmtui.domain.approval import (
    DECISIONS,
    NOT_NEEDED,
    ApprovalState,
    Decision,
    LineFacts,
    approval_state,
)
from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.server.admin import AdminError, AdminNotFound
from crmtui.server.feed import lock_feed, write_changes
from crmtui.server.made import make_record, new_hlc, record_values, timestamp
from crmtui.services.sales.approvals import DECIDERS, POLICY_ID


def _live_children(conn: Connection, entity: str, deal_id: str) -> list[str]:
    """Ids of the live records of `entity` whose deal_id names the deal."""
    f, r = t.field_state.c, t.row_scope.c
    return list(
        conn.execute(
            select(f.row_id)
            .join(t.row_scope, (r.entity == f.entity) & (r.row_id == f.row_id))
            .where(
                f.entity == entity,
                f.field == "deal_id",
                f.value == json.dumps(deal_id),
                r.deleted.is_(False),
            )
        ).scalars()
    )


def _threshold(conn: Connection) -> int | None:
    r = t.row_scope.c
    live = conn.execute(
        select(r.deleted).where(r.entity == "approval_policy", r.row_id == POLICY_ID)
    ).scalar()
    if live is None or live:
        return None
    value = record_values(conn, "approval_policy", POLICY_ID).get("discount_threshold_bp")
    return value if isinstance(value, int) else None


def _state(conn: Connection, deal_id: str) -> ApprovalState:
    lines = []
    for row_id in _live_children(conn, "deal_line", deal_id):
        v = record_values(conn, "deal_line", row_id)
        lines.append(
            LineFacts(
                str(v.get("description") or ""),
                int(v.get("quantity_milli") or 0),  # type: ignore[call-overload]
                int(v.get("unit_price_minor") or 0),  # type: ignore[call-overload]
                int(v.get("discount_bp") or 0),  # type: ignore[call-overload]
                v.get("tax_class"),  # type: ignore[arg-type]
                int(v.get("tax_rate_bp") or 0),  # type: ignore[call-overload]
            )
        )
    decisions = []
    for row_id in _live_children(conn, "deal_approval", deal_id):
        v = record_values(conn, "deal_approval", row_id)
        decisions.append(
            Decision(
                str(v.get("decision")),
                str(v.get("lines_digest")),
                str(v.get("decided_at")),
                v.get("decided_by"),  # type: ignore[arg-type]
                v.get("reason"),  # type: ignore[arg-type]
                row_id,
            )
        )
    return approval_state(lines, _threshold(conn), decisions)


def decide(
    engine: Engine, deal_ref: str, decision: str, *, manager: str, reason: str | None
) -> ApprovalState:
    """Record a manager's decision on a deal's lines as the server holds them now."""
    if decision not in DECISIONS:
        raise AdminError(f"a decision is one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip() or None
    if decision != "approved" and reason is None:
        raise AdminError("a refusal says why (--reason)")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        rep = conn.execute(
            select(t.rep.c.name, t.rep.c.role).where(t.rep.c.name == manager)
        ).first()
        if rep is None:
            raise AdminNotFound(f"no rep named {manager!r}")
        if rep.role not in DECIDERS:
            raise AdminError(f"{manager} is a {rep.role}: discounts are decided by a manager")
        r = t.row_scope.c
        found = conn.execute(
            select(r.row_id, r.territory_id, r.created_device).where(
                r.entity == "deal", r.row_id.like(deal_ref.lower() + "%"), r.deleted.is_(False)
            )
        ).all()
        if len(found) != 1:
            raise AdminNotFound(f"{'no' if not found else 'more than one'} deal {deal_ref!r}")
        deal_id, territory, creator = found[0]
        status = record_values(conn, "deal", deal_id).get("status")
        if status not in (None, "open"):
            raise AdminError(f"this deal is {status}; its lines are final")
        lock_feed(conn)
        before = _state(conn, deal_id)
        if before.state == NOT_NEEDED:
            raise AdminError(
                "no line's discount is above the approval threshold: there is nothing to decide"
            )
        values: dict[str, object] = {
            "deal_id": deal_id,
            "decision": decision,
            "lines_digest": before.digest,
            "max_discount_bp": before.max_discount_bp,
            "reason": reason,
            "decided_by": rep.name,
            "decided_at": timestamp(now),
            "created_at": timestamp(now),
        }
        changes = make_record(
            conn,
            "deal_approval",
            uuid7(),
            values,
            territory_id=territory,
            owner_id=None,
            hlc=new_hlc(int(now.timestamp() * 1000)),
            created_device=str(creator),
        )
        write_changes(conn, changes)
        return _state(conn, deal_id)
