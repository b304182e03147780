"""Reseeding a reset server from the laptops' full state, while an admin allows it.

After a server is rebuilt from nothing (a lost disk, a restore gone wrong) the
laptops still hold the team's records. Once an admin runs `crm server
allow-reseed`, each laptop's next `crm sync` sends every record it holds with the
versions it holds them at (the original HLC and device of every field, of its
creation and of its last delete or undelete). The server merges them as a union:
per field the later version wins (equal HLCs ordered by device id), per record
the later liveness version decides whether it is deleted. Nothing depends on the
order the laptops come in, so several laptops reseeding in any order end where a
normal sync of the same edits ends. Each version that wins is written to the feed
under its own HLC and device, so the laptops pull it like any change.

Scope is decided here as for a push: a rep may reseed records of their
territories (and their own unplaced ones); reference and admin records (stages,
CRM reps) only when the server has none of that id yet, unless their role may
write them. A territory the admin re-created under the same name (with a new id)
takes the id the laptops know, while it holds no records, so the records that
name it fit again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from crmtui.domain.hierarchy import depths
from crmtui.domain.hlc import HLC, receive
from crmtui.server import tables as t
from crmtui.server.admin import territory_record
from crmtui.server.auth import Principal, subtree
from crmtui.server.bulk import rows_by_keys
from crmtui.server.feed import PendingChange, lock_feed, write_changes
from crmtui.server.push import LINKS, OWN_TERRITORY, bind_client
from crmtui.store.models import ENTITIES
from crmtui.sync.fields import SHARED, SPECS, check_op, shared_class
from crmtui.sync.merge import SERVER_DEVICE
from crmtui.sync.wire import OUTSIDE_SCOPE, ReseedRecord, ReseedRequest

RESEED_UNTIL = "reseed_until"
SERVER_ID = "server_id"


class ReseedClosed(PermissionError):
    """No reseed window is open on this server."""


def _meta(conn: Connection, key: str) -> str | None:
    found = conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()
    return str(found) if found is not None else None


def _set_meta(conn: Connection, key: str, value: str | None) -> None:
    conn.execute(delete(t.meta).where(t.meta.c.key == key))
    if value is not None:
        conn.execute(insert(t.meta).values(key=key, value=value))


def server_id(engine: Engine) -> str:
    """This server's identity (made with its schema; a rebuilt server has a new one)."""
    with engine.connect() as conn:
        return _meta(conn, SERVER_ID) or ""


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reseed_until(engine: Engine) -> str | None:
    """The end of the open reseed window, or None when none is open."""
    with engine.connect() as conn:
        until = _meta(conn, RESEED_UNTIL)
    return until if until is not None and until > _stamp(_now()) else None


def allow_reseed(engine: Engine, hours: float) -> str:
    """Open (or extend) the reseed window for `hours`; returns its end."""
    until = _stamp(_now() + timedelta(hours=hours))
    with engine.begin() as conn:
        _set_meta(conn, RESEED_UNTIL, until)
    return until


def close_reseed(engine: Engine) -> bool:
    """Close the reseed window; False when none was open."""
    was = reseed_until(engine) is not None
    with engine.begin() as conn:
        _set_meta(conn, RESEED_UNTIL, None)
    return was


Version = tuple[str, str]
"""(hlc, device): the later wins, equal HLCs ordered by device id."""


@dataclass
class _Reseed:
    conn: Connection
    who: Principal
    device: str
    changes: list[PendingChange] = field(default_factory=list)
    depths: dict[str, int] = field(default_factory=dict)
    newest: str = "0000000000000-00000"


def apply_reseed(
    engine: Engine, who: Principal, request: ReseedRequest, now_ms: int
) -> dict[str, Any]:
    """Merge one batch of a laptop's records in one transaction; answer per record."""
    with engine.begin() as conn:
        lock_feed(conn)
        until = _meta(conn, RESEED_UNTIL)
        if until is None or until <= _stamp(_now()):
            raise ReseedClosed(
                "this server is not taking a reseed: ask your admin to run"
                " `crm server allow-reseed` on the server, then run `crm sync` again"
            )
        bind_client(conn, who, request.device_id)
        r = _Reseed(conn, who, request.device_id)
        results = []
        for record in request.records:
            if record.entity == "territory":
                reason = _territory(r, record)
                # The rep's territories may have taken the ids the laptops know.
                r.who = _rescope(conn, who)
            else:
                reason = _record(r, record)
            results.append(
                {
                    "entity": record.entity,
                    "row_id": record.row_id,
                    "status": "rejected" if reason else "applied",
                    "reason": reason,
                }
            )
        write_changes(conn, r.changes)
    server_hlc = receive(None, HLC.decode(r.newest), now_ms).encode()
    return {"results": results, "server_hlc": server_hlc}


def _rescope(conn: Connection, who: Principal) -> Principal:
    """The principal again, with its territories as they are now."""
    from dataclasses import replace

    assigned = frozenset(
        conn.execute(
            select(t.rep_territory.c.territory_id).where(t.rep_territory.c.rep_id == who.rep_id)
        ).scalars()
    )
    visible = None if who.role == "admin" else assigned
    if who.role == "manager":
        visible = subtree(conn, assigned)
    return replace(who, assigned=assigned, visible=visible)


def _check(record: ReseedRecord) -> str | None:
    if record.entity not in ENTITIES or record.entity not in SPECS:
        return f"{record.entity} is not a synced entity"
    for f in record.fields:
        reason = check_op(record.entity, "set", f.field, f.value)
        if reason is not None:
            return reason
    return None


def _depth(r: _Reseed, territory: str | None) -> int:
    if not r.depths:
        parents = dict(r.conn.execute(select(t.territory.c.id, t.territory.c.parent_id)).all())
        r.depths = depths(parents)
    return r.depths.get(territory or "", -1)


def _territory_of(r: _Reseed, entity: str, row_id: str) -> str | None:
    found = rows_by_keys(r.conn, t.row_scope, [(entity, row_id)])
    return found[0]["territory_id"] if found else None


def _placed(r: _Reseed, entity: str, values: dict[str, str | None]) -> str | None:
    """The record's territory from its merged values, as `push._initial_territory` has it."""

    def target(name: str) -> str | None:
        raw = values.get(name)
        decoded = json.loads(raw) if raw else None
        return decoded if isinstance(decoded, str) else None

    if entity in OWN_TERRITORY:
        own = target("territory_id")
        account = target("account_id")
        if own is None and entity == "contact" and account:
            return _territory_of(r, "account", account)
        return own
    best: str | None = None
    for link in LINKS:
        linked = target(link)
        if linked:
            found = _territory_of(r, link.removesuffix("_id"), linked)
            if found is not None and (best is None or _depth(r, found) > _depth(r, best)):
                best = found
    return best


def _liveness(r: _Reseed, entity: str, row_id: str) -> Version | None:
    """The version of the record's last create, delete or undelete in the feed."""
    c = t.change.c
    found = r.conn.execute(
        select(c.hlc, c.device_id)
        .where(
            c.entity == entity,
            c.row_id == row_id,
            c.kind.in_(("create", "delete", "undelete")),
            c.for_device.is_(None),
        )
        .order_by(c.hlc.desc(), c.device_id.desc())
        .limit(1)
    ).first()
    return (str(found[0]), str(found[1])) if found else None


def _may_write(r: _Reseed, entity: str) -> bool:
    """Whether the rep's role writes this shared entity at all (`push._refuse`)."""
    shared = shared_class(entity)
    return shared is None or r.who.role in shared.writers


def _record(r: _Reseed, record: ReseedRecord) -> str | None:
    """Merge one record; the reason it was refused, or None."""
    reason = _check(record)
    if reason is not None:
        return reason
    entity, row_id = record.entity, record.row_id
    key = (entity, row_id)
    found = rows_by_keys(r.conn, t.row_scope, [key])
    row = found[0] if found else None
    if entity in SHARED and row is not None and not _may_write(r, entity):
        return None  # the server's copy stands: reference data is restored, not changed
    stored = {
        f["field"]: (f["value"], f["hlc"], f["device_id"])
        for f in rows_by_keys(r.conn, t.field_state, [key])
    }
    wins = {
        f.field: (f.value, f.hlc, f.device_id)
        for f in record.fields
        if f.field not in stored or (f.hlc, f.device_id) > stored[f.field][1:]
    }
    merged = {**stored, **wins}
    territory = _placed(r, entity, {n: v[0] for n, v in merged.items()})
    creator = row["created_device"] if row is not None else record.created_device
    if entity not in SHARED and not _sees(r, territory, creator):
        return OUTSIDE_SCOPE
    old = row["territory_id"] if row is not None else None
    for name, (value, hlc, device) in wins.items():
        if name in stored:
            r.conn.execute(
                update(t.field_state)
                .where(
                    t.field_state.c.entity == entity,
                    t.field_state.c.row_id == row_id,
                    t.field_state.c.field == name,
                )
                .values(value=value, hlc=hlc, device_id=device)
            )
        else:
            r.conn.execute(
                insert(t.field_state).values(
                    entity=entity, row_id=row_id, field=name, value=value, hlc=hlc, device_id=device
                )
            )
    last = max([v[1] for v in merged.values()] + [record.live_hlc, record.created_hlc])
    r.newest = max(r.newest, last)
    moved = row is not None and old != territory
    if row is None:
        r.conn.execute(
            insert(t.row_scope).values(
                entity=entity,
                row_id=row_id,
                territory_id=territory,
                owner_id=_owner(merged),
                deleted=record.deleted,
                flagged=False,
                last_hlc=last,
                created_hlc=record.created_hlc,
                created_device=record.created_device,
            )
        )
        _emit(
            r,
            "create",
            entity,
            row_id,
            None,
            None,
            record.created_hlc,
            record.created_device,
            territory,
        )
    elif moved:
        _emit(r, "removal", entity, row_id, None, None, last, SERVER_DEVICE, old)
        _emit(r, "create", entity, row_id, None, None, row["created_hlc"], creator, territory)
    sent = merged if moved else wins
    for name, (value, hlc, device) in sorted(sent.items()):
        _emit(r, "set", entity, row_id, name, value, hlc, device, territory)
    deleted = _live(r, record, row, territory)
    if row is not None:
        r.conn.execute(
            update(t.row_scope)
            .where(t.row_scope.c.entity == entity, t.row_scope.c.row_id == row_id)
            .values(
                territory_id=territory,
                owner_id=_owner(merged),
                deleted=deleted,
                last_hlc=max(str(row["last_hlc"]), last),
            )
        )
    elif record.deleted:
        _emit(
            r, "delete", entity, row_id, None, None, record.live_hlc, record.live_device, territory
        )
    return None


def _live(
    r: _Reseed, record: ReseedRecord, row: dict[str, Any] | None, territory: str | None
) -> bool:
    """Whether an existing record ends deleted: the later liveness version wins."""
    if row is None:
        return record.deleted
    was = bool(row["deleted"])
    stored = _liveness(r, record.entity, record.row_id)
    if record.deleted == was or (
        stored is not None and (record.live_hlc, record.live_device) <= stored
    ):
        return was
    kind = "delete" if record.deleted else "undelete"
    _emit(
        r,
        kind,
        record.entity,
        record.row_id,
        None,
        None,
        record.live_hlc,
        record.live_device,
        territory,
    )
    return record.deleted


def _owner(merged: dict[str, tuple[str | None, str, str]]) -> str | None:
    raw = merged.get("owner_id", (None, "", ""))[0]
    owner = json.loads(raw) if raw else None
    return owner if isinstance(owner, str) else None


def _sees(r: _Reseed, territory: str | None, creator: str) -> bool:
    if territory is None and creator == r.device:
        return True
    return r.who.sees_row("", territory, creator)


def _emit(
    r: _Reseed,
    kind: str,
    entity: str,
    row_id: str,
    name: str | None,
    value: str | None,
    hlc: str,
    device: str,
    territory: str | None,
) -> None:
    r.changes.append(PendingChange(kind, entity, row_id, name, value, hlc, device, territory))


def _territory(r: _Reseed, record: ReseedRecord) -> str | None:
    """A territory the laptops know: kept, given back its id, or restored."""
    reason = _check(record)
    if reason is not None:
        return reason
    conn, tid = r.conn, record.row_id
    if conn.execute(select(t.territory.c.id).where(t.territory.c.id == tid)).first():
        return None
    values = {f.field: f.value for f in record.fields}
    name = json.loads(values.get("name") or "null")
    parent = json.loads(values.get("parent_id") or "null")
    if not isinstance(name, str) or record.deleted:
        return None  # a removed territory is not brought back
    if (
        parent is not None
        and not conn.execute(select(t.territory.c.id).where(t.territory.c.id == parent)).first()
    ):
        parent = None
    same = conn.execute(select(t.territory.c.id).where(t.territory.c.name == name)).scalar()
    if same is not None:
        held = conn.execute(
            select(func.count()).select_from(t.row_scope).where(t.row_scope.c.territory_id == same)
        ).scalar()
        if held:
            return f"territory {name!r} exists on the server with other records: rename one"
        _rekey(r, str(same), tid, name, parent)
    elif r.who.role not in {"admin", "manager"}:
        return "a territory the server does not have is restored by a manager or an admin"
    else:
        conn.execute(
            insert(t.territory).values(
                id=tid, name=name, parent_id=parent, created_at=_stamp(_now())
            )
        )
    hlc = max(f.hlc for f in record.fields) if record.fields else record.created_hlc
    r.changes += territory_record(conn, tid, name, parent, hlc, record.created_hlc)
    r.depths.clear()
    return None


def _rekey(r: _Reseed, new: str, old: str, name: str, parent: str | None) -> None:
    """Give a re-created territory (id `new`, no records) back the id the laptops know."""
    conn = r.conn
    conn.execute(update(t.territory).where(t.territory.c.id == new).values(name=f"{new} (reseed)"))
    conn.execute(
        insert(t.territory).values(id=old, name=name, parent_id=parent, created_at=_stamp(_now()))
    )
    conn.execute(
        update(t.rep_territory)
        .where(t.rep_territory.c.territory_id == new)
        .values(territory_id=old)
    )
    conn.execute(update(t.territory).where(t.territory.c.parent_id == new).values(parent_id=old))
    conn.execute(delete(t.territory).where(t.territory.c.id == new))
    # The re-created record the laptops were sent goes; the one they know comes back.
    conn.execute(
        update(t.row_scope)
        .where(t.row_scope.c.entity == "territory", t.row_scope.c.row_id == new)
        .values(deleted=True)
    )
    last = conn.execute(
        select(func.max(t.field_state.c.hlc)).where(
            t.field_state.c.entity == "territory", t.field_state.c.row_id == new
        )
    ).scalar()
    _emit(r, "delete", "territory", new, None, None, str(last or r.newest), SERVER_DEVICE, None)
