"""Applying a pushed batch: authorise, merge and record each op, in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from crmtui.server import tables as t
from crmtui.server.auth import Principal
from crmtui.server.feed import PendingChange, lock_feed, write_changes
from crmtui.store.hlc import HLC, receive
from crmtui.store.ids import uuid7
from crmtui.store.models import ENTITIES
from crmtui.sync.merge import Incoming, RowState, Version, clamp, decide
from crmtui.sync.wire import FieldVersion, Op, PushRequest, PushResponse, PushResult

ADMIN_ONLY = frozenset({"territory", "rep", "territory_assignment", "territory_rule"})
"""Managed on the server by an admin; devices receive them but cannot change them."""
TEAM_CONFIG = frozenset({"pipeline", "stage"})
"""Shared by the whole team; managers and admins change them."""
OWN_TERRITORY = frozenset({"account", "contact", "deal", "lead"})
"""Entities that carry a territory_id; the others inherit one from what they link to."""
LINKS = ("contact_id", "deal_id", "account_id")
NOT_SYNCED_FIELDS = frozenset({"id", "updated_at", "deleted_at"})


def _fields(entity: str) -> frozenset[str]:
    return frozenset(ENTITIES[entity].model_fields) - NOT_SYNCED_FIELDS


FIELDS = {name: _fields(name) for name in ENTITIES}


@dataclass
class _Batch:
    conn: Connection
    who: Principal
    device: str
    now_ms: int
    changes: list[PendingChange] = field(default_factory=list)
    batch_values: dict[tuple[str, str], dict[str, str | None]] = field(default_factory=dict)
    last_clamped: str | None = None
    # Read once per batch and written back at the end: a query or two per batch
    # instead of several per op (the rows are locked by the feed lock meanwhile).
    rows: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    fields: dict[tuple[str, str, str], Version] = field(default_factory=dict)
    stored_fields: set[tuple[str, str, str]] = field(default_factory=set)
    dirty_fields: set[tuple[str, str, str]] = field(default_factory=set)
    dirty_last: dict[tuple[str, str], str] = field(default_factory=dict)


def _prefetch(b: _Batch, ops: list[Op]) -> None:
    ids = sorted({op.row_id for op in ops})
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for r in b.conn.execute(select(t.row_scope).where(t.row_scope.c.row_id.in_(chunk))):
            m = dict(r._mapping)
            b.rows[(m["entity"], m["row_id"])] = m
        for f in b.conn.execute(select(t.field_state).where(t.field_state.c.row_id.in_(chunk))):
            key = (f.entity, f.row_id, f.field)
            b.fields[key] = Version(f.value, f.hlc, f.device_id)
            b.stored_fields.add(key)
    for op in ops:
        b.rows.setdefault((op.entity, op.row_id), None)


def _write_back(b: _Batch) -> None:
    new = [k for k in b.dirty_fields if k not in b.stored_fields]
    old = [k for k in b.dirty_fields if k in b.stored_fields]
    if new:
        b.conn.execute(
            insert(t.field_state),
            [
                {
                    "entity": k[0],
                    "row_id": k[1],
                    "field": k[2],
                    "value": b.fields[k].value,
                    "hlc": b.fields[k].hlc,
                    "device_id": b.fields[k].device_id,
                }
                for k in new
            ],
        )
    if old:
        fs = t.field_state
        b.conn.execute(
            update(fs)
            .where(
                fs.c.entity == bindparam("k_e"),
                fs.c.row_id == bindparam("k_r"),
                fs.c.field == bindparam("k_f"),
            )
            .values(value=bindparam("v"), hlc=bindparam("h"), device_id=bindparam("d")),
            [
                {
                    "k_e": k[0],
                    "k_r": k[1],
                    "k_f": k[2],
                    "v": b.fields[k].value,
                    "h": b.fields[k].hlc,
                    "d": b.fields[k].device_id,
                }
                for k in old
            ],
        )
    if b.dirty_last:
        rs = t.row_scope
        b.conn.execute(
            update(rs)
            .where(rs.c.entity == bindparam("k_e"), rs.c.row_id == bindparam("k_r"))
            .values(last_hlc=bindparam("h")),
            [{"k_e": k[0], "k_r": k[1], "h": h} for k, h in b.dirty_last.items()],
        )


def _territory_of(b: _Batch, entity: str, row_id: str) -> tuple[bool, str | None]:
    cached = b.rows.get((entity, row_id))
    if cached is not None:
        return True, cached["territory_id"]
    row = b.conn.execute(
        select(t.row_scope.c.territory_id).where(
            t.row_scope.c.entity == entity, t.row_scope.c.row_id == row_id
        )
    ).first()
    return (row is not None, row[0] if row else None)


def _initial_territory(b: _Batch, op: Op) -> str | None:
    values = b.batch_values.get((op.entity, op.row_id), {})
    if op.entity in OWN_TERRITORY:
        raw = values.get("territory_id")
        return json.loads(raw) if raw else None
    for link in LINKS:
        raw = values.get(link)
        target = json.loads(raw) if raw else None
        if target:
            return _territory_of(b, link.removesuffix("_id"), target)[1]
    return None


def _row_state(b: _Batch, op: Op) -> tuple[RowState, dict[str, object] | None]:
    m = b.rows.get((op.entity, op.row_id))
    if m is None:
        return RowState(), None
    others = None
    if op.op == "delete":
        others = b.conn.execute(
            select(func.max(t.op_log.c.hlc)).where(
                t.op_log.c.entity == op.entity,
                t.op_log.c.row_id == op.row_id,
                t.op_log.c.field.is_not(None),
                t.op_log.c.device_id != b.device,
            )
        ).scalar()
    return RowState(exists=True, deleted=bool(m["deleted"]), others_hlc=others), m


def _field_version(b: _Batch, op: Op) -> Version | None:
    return b.fields.get((op.entity, op.row_id, op.field or ""))


def _refuse(b: _Batch, op: Op, row: dict[str, object] | None) -> str | None:
    """Why the rep may not make this op, or None when it may."""
    who = b.who
    if op.entity not in ENTITIES:
        return f"unknown entity {op.entity!r}"
    if op.op == "set" and (op.field is None or op.field not in FIELDS[op.entity]):
        return f"unknown field {op.entity}.{op.field}"
    if op.op != "set" and (op.field is not None or op.value is not None):
        return f"a {op.op} carries no field or value"
    if op.op == "set" and op.value is not None:
        try:
            json.loads(op.value)
        except ValueError:
            return "the value is not JSON"
    if op.entity in ADMIN_ONLY and who.role != "admin":
        return f"{op.entity} records are managed on the server by an admin"
    if op.entity in TEAM_CONFIG and who.role == "rep":
        return f"{op.entity} records are changed by managers and admins"
    if row is None and op.op != "create":
        return "unknown record (its creation was not accepted by the server)"
    if row is not None and not who.sees(row["territory_id"]):  # type: ignore[arg-type]
        return "the record is outside your territories"
    if row is None:
        target = _initial_territory(b, op)
        if not who.sees(target):
            return "the record would be outside your territories"
    if op.op == "set" and op.field == "territory_id" and op.entity in OWN_TERRITORY:
        target = json.loads(op.value) if op.value else None
        if not who.sees(target):
            return "territory changes outside your territories are decided by the server"
    return None


def _emit(b: _Batch, kind: str, op: Op, hlc: str, territory: str | None, **kw: object) -> None:
    b.changes.append(
        PendingChange(
            kind=kind,
            entity=op.entity,
            row_id=op.row_id,
            field=kw.get("field"),  # type: ignore[arg-type]
            value=kw.get("value"),  # type: ignore[arg-type]
            hlc=hlc,
            device_id=str(kw.get("device_id", b.device)),
            territory_id=territory,
            flagged=bool(kw.get("flagged", False)),
        )
    )


def _move(b: _Batch, op: Op, hlc: str, old: str | None, new: str | None) -> None:
    """A record changed territory: remove it from the old scope, snapshot it into the new."""
    _emit(b, "removal", op, hlc, old)
    _emit(b, "create", op, hlc, new)
    for (entity, row_id, name), v in sorted(b.fields.items()):
        if (entity, row_id) == (op.entity, op.row_id):
            _emit(b, "set", op, v.hlc, new, field=name, value=v.value, device_id=v.device_id)


def _record_conflict(
    b: _Batch, op: Op, hlc: str, current: Version, won: bool, territory: str | None
) -> None:
    """Keep both values of a concurrent high-stakes edit for a person to pick."""
    mine = Version(op.value, hlc, b.device)
    kept, other = (mine, current) if won else (current, mine)
    conflict_id = uuid7()
    b.conn.execute(
        insert(t.conflict).values(
            id=conflict_id,
            entity=op.entity,
            row_id=op.row_id,
            field=op.field,
            kept_value=kept.value,
            kept_hlc=kept.hlc,
            kept_device=kept.device_id,
            other_value=other.value,
            other_hlc=other.hlc,
            other_device=other.device_id,
            territory_id=territory,
            seq=0,
        )
    )
    b.changes.append(
        PendingChange(
            "conflict",
            op.entity,
            op.row_id,
            op.field,
            None,
            hlc,
            b.device,
            territory,
            conflict_id=conflict_id,
        )
    )


def _create_row(b: _Batch, op: Op, hlc: str) -> dict[str, Any]:
    """Insert a new record's scope row (territory decided from the batch) and emit its create."""
    territory = _initial_territory(b, op)
    b.conn.execute(
        insert(t.row_scope).values(
            entity=op.entity,
            row_id=op.row_id,
            territory_id=territory,
            deleted=False,
            flagged=False,
            last_hlc=hlc,
            created_hlc=hlc,
            created_device=b.device,
        )
    )
    row: dict[str, Any] = {
        "entity": op.entity,
        "row_id": op.row_id,
        "territory_id": territory,
        "deleted": False,
        "flagged": False,
        "last_hlc": hlc,
    }
    b.rows[(op.entity, op.row_id)] = row
    _emit(b, "create", op, hlc, territory)
    return row


def _apply_one(b: _Batch, op: Op) -> PushResult:
    hlc = clamp(op.hlc, b.now_ms, b.last_clamped)
    if hlc != op.hlc:
        b.last_clamped = hlc
    state, row = _row_state(b, op)
    refusal = _refuse(b, op, row)
    if refusal is not None:
        current = _field_version(b, op) if op.op == "set" and row is not None else None
        return PushResult(
            op_id=op.op_id,
            status="rejected",
            reason=refusal,
            hlc=hlc,
            current=_wire_version(current),
        )
    current = _field_version(b, op) if op.op == "set" else None
    incoming = Incoming(
        op.entity, op.op, op.field, op.value, hlc, b.device, op.base_hlc, op.base_device
    )
    d = decide(incoming, state, current)
    territory: str | None = str(row["territory_id"]) if row and row["territory_id"] else None
    scope = t.row_scope
    where = (scope.c.entity == op.entity, scope.c.row_id == op.row_id)
    if d.create_row:
        row = _create_row(b, op, hlc)
        territory = _initial_territory(b, op)
    if d.write_field:
        key = (op.entity, op.row_id, op.field or "")
        b.fields[key] = Version(op.value, hlc, b.device)
        b.dirty_fields.add(key)
        moving = op.field == "territory_id" and op.entity in OWN_TERRITORY
        new = json.loads(op.value) if moving and op.value else None
        if moving and new != territory:
            # The old scope gets a removal only; the new one a snapshot with this value.
            b.conn.execute(update(scope).where(*where).values(territory_id=new))
            if row is not None:
                row["territory_id"] = new
            if not state.deleted:
                _move(b, op, hlc, territory, new)
            territory = new
        else:
            _emit(b, "set", op, hlc, territory, field=op.field, value=op.value)
    if d.delete_row:
        b.conn.execute(update(scope).where(*where).values(deleted=True))
        if row is not None:
            row["deleted"] = True
        _emit(b, "delete", op, hlc, territory)
    if d.undelete_row:
        b.conn.execute(update(scope).where(*where).values(deleted=False, flagged=True))
        if row is not None:
            row["deleted"] = False
        _emit(b, "undelete", op, hlc, territory, flagged=True)
    elif d.flag:
        b.conn.execute(update(scope).where(*where).values(flagged=True))
        _emit(b, "undelete", op, hlc, territory, flagged=True)
    if (
        (d.write_field or d.delete_row or d.undelete_row)
        and row is not None
        and (hlc > str(row["last_hlc"]))
    ):
        row["last_hlc"] = hlc
        b.dirty_last[(op.entity, op.row_id)] = hlc
    if d.conflict and current is not None:
        _record_conflict(b, op, hlc, current, d.write_field, territory)
    shown = None if d.write_field or op.op != "set" else _field_version(b, op)
    return PushResult(
        op_id=op.op_id, status=d.status, reason=d.reason, hlc=hlc, current=_wire_version(shown)
    )


def _wire_version(v: Version | None) -> FieldVersion | None:
    return None if v is None else FieldVersion(value=v.value, hlc=v.hlc, device_id=v.device_id)


def _resolve(b: _Batch, conflict_ids: list[str], now: str) -> None:
    for cid in conflict_ids:
        row = b.conn.execute(select(t.conflict).where(t.conflict.c.id == cid)).first()
        if row is None or row.resolved_at is not None or not b.who.sees(row.territory_id):
            continue
        b.conn.execute(update(t.conflict).where(t.conflict.c.id == cid).values(resolved_at=now))
        b.changes.append(
            PendingChange(
                "conflict",
                row.entity,
                row.row_id,
                row.field,
                None,
                row.kept_hlc,
                b.device,
                row.territory_id,
                conflict_id=cid,
            )
        )


class DeviceMismatch(ValueError):
    """The batch names another journal device than the one bound to this token."""


def bind_client(conn: Connection, who: Principal, client_id: str) -> None:
    """Bind the token's device to the laptop's journal device id on first use."""
    bound = conn.execute(
        select(t.device.c.client_id).where(t.device.c.id == who.device_id)
    ).scalar()
    if bound == client_id:
        return
    if bound is not None:
        raise DeviceMismatch("this token belongs to another database (its device id differs)")
    if conn.execute(select(t.device.c.id).where(t.device.c.client_id == client_id)).first():
        raise DeviceMismatch("this database is already enrolled with another token")
    conn.execute(update(t.device).where(t.device.c.id == who.device_id).values(client_id=client_id))


def apply_push(
    engine: Engine, who: Principal, request: PushRequest, now_ms: int, now_text: str
) -> PushResponse:
    """Apply one batch in one transaction and answer per op, in the order sent.

    An op seen before (same op id) is answered from the log and changes nothing,
    so a retry after a lost response can neither lose nor duplicate anything.
    """
    with engine.begin() as conn:
        lock_feed(conn)
        bind_client(conn, who, request.device_id)
        b = _Batch(conn, who, request.device_id, now_ms)
        _prefetch(b, list(request.ops))
        for op in request.ops:
            if op.op == "set" and op.field is not None:
                b.batch_values.setdefault((op.entity, op.row_id), {})[op.field] = op.value
        ids = [op.op_id for op in request.ops]
        seen: dict[str, Any] = (
            {r.op_id: r for r in conn.execute(select(t.op_log).where(t.op_log.c.op_id.in_(ids)))}
            if ids
            else {}
        )
        results: list[PushResult] = []
        log_rows = []
        newest = HLC(0, 0)
        for op in request.ops:
            before = seen.get(op.op_id)
            if before is not None:
                results.append(
                    PushResult(
                        op_id=op.op_id, status=before.status, reason=before.reason, hlc=before.hlc
                    )
                )
                continue
            result = _apply_one(b, op)
            results.append(result)
            seen[op.op_id] = result  # a duplicate inside the batch is a no-op too
            log_rows.append(
                {
                    "op_id": op.op_id,
                    "device_id": who.device_id,
                    "entity": op.entity,
                    "row_id": op.row_id,
                    "field": op.field,
                    "hlc": result.hlc or op.hlc,
                    "status": result.status,
                    "reason": result.reason,
                    "received_at": now_text,
                }
            )
            newest = max(newest, HLC.decode(result.hlc or op.hlc))
        _write_back(b)
        if log_rows:
            conn.execute(insert(t.op_log), log_rows)
        _resolve(b, list(request.resolved_conflicts), now_text)
        write_changes(conn, b.changes)
        conn.execute(
            update(t.device).where(t.device.c.id == who.device_id).values(last_seen_at=now_text)
        )
    server_hlc = receive(None, newest, now_ms).encode()
    return PushResponse(results=results, server_hlc=server_hlc)
