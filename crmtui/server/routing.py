"""Routing a web lead: its territory by the territory rules, then round-robin among its reps.

The territory is the one the rules choose for the lead's country, postcode, industry
and size (`crmtui.domain.territory_rules`, the rule every laptop places accounts
with), else the form's own territory. Among the reps of that territory (role rep,
assigned to it directly, in id order) the rotation goes on from the rep who got the
territory's last lead; a rep on leave today or at capacity (open leads owned, at
least their maximum) is skipped, with the reason. Nobody eligible: the lead stays in
the territory without an owner, and the log says why.

Callers hold the feed lock, so two posts never read the same rotation position:
under twenty concurrent posts each rep gets their turn, none twice in a row.
Every assignment is logged (`srv_assignment`): who, and why -- the rule matched,
the rotation position, the reps skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, func, insert, select, update

from crmtui.domain.hierarchy import depths
from crmtui.domain.ids import uuid7
from crmtui.domain.territory_rules import choose_rule, describe_rule
from crmtui.server import tables as t

CLOSED_LEAD_STATUSES = ('"converted"', '"disqualified"')
"""A lead's status values (as stored, JSON) that no longer count against capacity."""


@dataclass(frozen=True)
class Place:
    """What the rules compare for a web lead (the form's routing fields)."""

    country: str | None = None
    postcode: str | None = None
    industry: str | None = None
    employees: int | None = None


@dataclass(frozen=True)
class ServerRule:
    """A territory rule as the server holds it (published by an admin's laptop)."""

    id: str
    territory_id: str
    kind: str
    value: str
    priority: int


@dataclass
class Routed:
    """Where a lead goes and who gets it, and the words for the log."""

    territory_id: str
    rep_id: str | None
    why: dict[str, object] = field(default_factory=dict)


def _rules(conn: Connection) -> list[ServerRule]:
    """Live territory rules, read from their published fields."""
    live = select(t.row_scope.c.row_id).where(
        t.row_scope.c.entity == "territory_rule", t.row_scope.c.deleted.is_(False)
    )
    values: dict[str, dict[str, object]] = {}
    for row_id, name, text in conn.execute(
        select(t.field_state.c.row_id, t.field_state.c.field, t.field_state.c.value).where(
            t.field_state.c.entity == "territory_rule", t.field_state.c.row_id.in_(live)
        )
    ):
        values.setdefault(row_id, {})[name] = json.loads(text) if text is not None else None
    rules = []
    for row_id, v in sorted(values.items()):
        if isinstance(v.get("territory_id"), str) and isinstance(v.get("kind"), str):
            rules.append(
                ServerRule(
                    row_id,
                    str(v["territory_id"]),
                    str(v["kind"]),
                    str(v.get("value") or ""),
                    int(v.get("priority") or 0),  # type: ignore[call-overload]
                )
            )
    return rules


def choose_territory(
    conn: Connection, place: Place, fallback: str
) -> tuple[str, dict[str, object]]:
    """The lead's territory and why (the rule matched, or the form's territory)."""
    parents = dict(conn.execute(select(t.territory.c.id, t.territory.c.parent_id)).all())
    known = set(parents)
    rules = [r for r in _rules(conn) if r.territory_id in known]
    rule = choose_rule(place, rules, depths(parents))
    if rule is None:
        return fallback, {"territory": "the form's territory (no territory rule matched)"}
    return rule.territory_id, {"territory": f"rule {rule.id}: {describe_rule(rule)}"}


def open_leads(conn: Connection, rep_ids: list[str]) -> dict[str, int]:
    """Per rep, the live leads they own that are not converted or disqualified."""
    if not rep_ids:
        return {}
    closed = (
        select(t.field_state.c.row_id)
        .where(
            t.field_state.c.entity == "lead",
            t.field_state.c.field == "status",
            t.field_state.c.value.in_(CLOSED_LEAD_STATUSES),
        )
        .scalar_subquery()
    )
    rows = conn.execute(
        select(t.row_scope.c.owner_id, func.count())
        .where(
            t.row_scope.c.entity == "lead",
            t.row_scope.c.deleted.is_(False),
            t.row_scope.c.owner_id.in_(rep_ids),
            t.row_scope.c.row_id.not_in(closed),
        )
        .group_by(t.row_scope.c.owner_id)
    ).all()
    return {str(owner): int(count) for owner, count in rows}


def _territory_reps(conn: Connection, territory_id: str) -> list[tuple[str, str]]:
    """(id, name) of the reps (role rep) assigned to the territory, in id order."""
    return [
        (str(rid), str(name))
        for rid, name in conn.execute(
            select(t.rep.c.id, t.rep.c.name)
            .join(t.rep_territory, t.rep_territory.c.rep_id == t.rep.c.id)
            .where(t.rep_territory.c.territory_id == territory_id, t.rep.c.role == "rep")
            .order_by(t.rep.c.id)
        )
    ]


def _rotation_order(reps: list[tuple[str, str]], last: str | None) -> list[tuple[str, str]]:
    """The reps in turn, starting after the one who got the last lead."""
    if last is None:
        return reps
    start = next((i for i, (rid, _) in enumerate(reps) if rid > last), 0)
    return reps[start:] + reps[:start]


def assign_rep(conn: Connection, territory_id: str, today: date) -> Routed:
    """The next eligible rep of the territory by rotation (the feed lock is held)."""
    reps = _territory_reps(conn, territory_id)
    state = conn.execute(
        select(t.rotation.c.last_rep_id, t.rotation.c.turns).where(
            t.rotation.c.territory_id == territory_id
        )
    ).first()
    last, turns = (state[0], int(state[1])) if state is not None else (None, 0)
    settings = {
        str(r[0]): (r[1], r[2], r[3])
        for r in conn.execute(
            select(
                t.rep_routing.c.rep_id,
                t.rep_routing.c.max_open_leads,
                t.rep_routing.c.leave_from,
                t.rep_routing.c.leave_to,
            ).where(t.rep_routing.c.rep_id.in_([rid for rid, _ in reps]))
        )
    }
    counts = open_leads(conn, [rid for rid, _ in reps])
    today_text = today.isoformat()
    skipped: list[dict[str, str]] = []
    chosen: tuple[str, str] | None = None
    for rid, name in _rotation_order(reps, last):
        capacity, leave_from, leave_to = settings.get(rid, (None, None, None))
        if leave_from and leave_to and leave_from <= today_text <= leave_to:
            skipped.append({"rep": name, "why": f"on leave {leave_from} to {leave_to}"})
            continue
        held = counts.get(rid, 0)
        if capacity is not None and held >= capacity:
            skipped.append({"rep": name, "why": f"at capacity ({held} open of {capacity})"})
            continue
        chosen = (rid, name)
        break
    why: dict[str, object] = {"reps": len(reps), "skipped": skipped}
    if chosen is None:
        why["rep"] = (
            "nobody: no rep works in the territory" if not reps else "nobody: every rep skipped"
        )
        return Routed(territory_id, None, why)
    why["rep"] = chosen[1]
    why["rotation"] = turns + 1
    values = {"last_rep_id": chosen[0], "turns": turns + 1}
    if state is None:
        conn.execute(insert(t.rotation).values(territory_id=territory_id, **values))
    else:
        conn.execute(
            update(t.rotation).where(t.rotation.c.territory_id == territory_id).values(**values)
        )
    return Routed(territory_id, chosen[0], why)


def route(conn: Connection, place: Place, fallback: str, today: date) -> Routed:
    """The lead's territory by the rules (else `fallback`), then its rep by rotation."""
    territory_id, why = choose_territory(conn, place, fallback)
    routed = assign_rep(conn, territory_id, today)
    routed.why = {**why, **routed.why}
    return routed


def log_assignment(conn: Connection, lead_id: str, routed: Routed, *, at: str, by: str) -> None:
    """Keep who got a lead and why in the assignment log."""
    conn.execute(
        insert(t.assignment).values(
            id=uuid7(),
            lead_id=lead_id,
            rep_id=routed.rep_id,
            territory_id=routed.territory_id,
            at=at,
            by=by[:200],
            why=json.dumps(routed.why, ensure_ascii=False, sort_keys=True),
        )
    )


def assignments(conn: Connection, limit: int = 200) -> list[dict[str, object]]:
    """The newest assignments with rep and territory names, newest first."""
    a = t.assignment
    rows = conn.execute(
        select(a.c.at, a.c.lead_id, t.rep.c.name, t.territory.c.name, a.c.by, a.c.why)
        .select_from(
            a.outerjoin(t.rep, t.rep.c.id == a.c.rep_id).outerjoin(
                t.territory, t.territory.c.id == a.c.territory_id
            )
        )
        .order_by(a.c.at.desc(), a.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": at,
            "lead_id": lead_id,
            "rep": rep,
            "territory": territory,
            "by": by,
            "why": json.loads(why),
        }
        for at, lead_id, rep, territory, by, why in rows
    ]
