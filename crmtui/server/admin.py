"""Administration: territories, reps and device tokens (used by `crm server ...`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.server.auth import ROLES, hash_token, new_token
from crmtui.server.bulk import insert_rows, upsert_rows
from crmtui.server.feed import PendingChange, lock_feed, write_changes

SERVER_DEVICE = "server"
"""The device id stamped on changes the server makes itself (territories)."""


class AdminError(ValueError):
    """An admin command cannot be carried out (duplicate, bad role, refused)."""


class AlreadyThere(AdminError):
    """An add that has been done already, exactly so: a second run changes nothing."""

    def __init__(self, message: str, existing_id: str) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class AdminNotFound(AdminError):
    """A name or id matches nothing (or several things: the candidates are named)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hlc() -> str:
    return HLC(int(datetime.now(UTC).timestamp() * 1000), 0).encode()


NAME_MAX = 200
"""The longest territory, rep or device name (the columns' width on PostgreSQL)."""


def _name(value: str, what: str) -> str:
    """A name as stored: trimmed, not empty, at most NAME_MAX characters, plain text."""
    name = value.strip()
    if not name:
        raise AdminError(f"the {what} name is empty")
    if len(name) > NAME_MAX:
        raise AdminError(f"the {what} name is {len(name)} characters long; at most {NAME_MAX}")
    if "\x00" in name:  # PostgreSQL text cannot hold NUL
        raise AdminError(f"the {what} name contains a NUL character")
    return name


def _territory_id(engine: Engine, name: str) -> str:
    name = _name(name, "territory")
    with engine.connect() as conn:
        found = conn.execute(select(t.territory.c.id).where(t.territory.c.name == name)).first()
    if found is None:
        raise AdminNotFound(f"no territory named {name!r}")
    return str(found[0])


def add_territory(engine: Engine, name: str, parent: str | None = None) -> str:
    """Create a territory (optionally under `parent`) and publish it to every device."""
    name = _name(name, "territory")
    parent_id = _territory_id(engine, parent) if parent else None
    tid = uuid7()
    with engine.begin() as conn:
        found = conn.execute(
            select(t.territory.c.id, t.territory.c.parent_id).where(t.territory.c.name == name)
        ).first()
        if found is not None and found[1] == parent_id:
            raise AlreadyThere(f"territory {name!r} exists already", str(found[0]))
        if found is not None:
            raise AdminError(f"territory {name!r} exists already, under another parent")
        conn.execute(
            insert(t.territory).values(id=tid, name=name, parent_id=parent_id, created_at=_now())
        )
        publish(conn, "territory", tid, "create", {"name": name, "parent_id": parent_id})
    return tid


def territory_record(
    conn: Connection,
    tid: str,
    name: str,
    parent_id: str | None,
    hlc: str,
    created_hlc: str | None = None,
) -> list[PendingChange]:
    """Store a territory's published record (scope row, fields); the feed entries for it.

    Every laptop receives territories as records; the server makes their versions.
    """
    created = created_hlc or hlc
    conn.execute(
        insert(t.row_scope).values(
            entity="territory",
            row_id=tid,
            territory_id=None,
            deleted=False,
            flagged=False,
            last_hlc=hlc,
            created_hlc=created,
            created_device=SERVER_DEVICE,
        )
    )
    changes = [PendingChange("create", "territory", tid, None, None, created, SERVER_DEVICE, None)]
    for field, value in (("name", name), ("parent_id", parent_id)):
        if value is None:
            continue
        encoded = json.dumps(value, ensure_ascii=False)
        conn.execute(
            insert(t.field_state).values(
                entity="territory",
                row_id=tid,
                field=field,
                value=encoded,
                hlc=hlc,
                device_id=SERVER_DEVICE,
            )
        )
        changes.append(
            PendingChange("set", "territory", tid, field, encoded, hlc, SERVER_DEVICE, None)
        )
    return changes


def add_rep(engine: Engine, name: str, role: str, territories: list[str]) -> str:
    """Create a rep with a role, assigned to the named territories."""
    return add_reps(engine, [(name, role, territories)])[0]


def add_reps(engine: Engine, wanted: Sequence[tuple[str, str, list[str]]]) -> list[str]:
    """Create reps (name, role, territory names) in one transaction; their ids in order.

    The checks are `add_rep`'s, for each rep; one refused rep creates none. Enrolling
    a whole team (or a load test's thousand laptops) costs one commit and one feed
    write instead of one of each per rep.
    """
    names: list[str] = []
    for name, role, _places in wanted:
        if role not in ROLES:
            raise AdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        names.append(_name(name, "rep"))
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise AdminError(f"rep {twice[0]!r} is named twice")
    places = {_name(n, "territory") for _rep, _role, listed in wanted for n in listed}
    with engine.connect() as conn:
        by_name = {
            str(r[0]): str(r[1])
            for r in conn.execute(
                select(t.territory.c.name, t.territory.c.id).where(t.territory.c.name.in_(places))
            )
        }
    unknown = sorted(places - set(by_name))
    if unknown:
        raise AdminNotFound(f"no territory named {unknown[0]!r}")
    rids = [uuid7() for _ in names]
    with engine.begin() as conn:
        found = conn.execute(
            select(t.rep.c.id, t.rep.c.name, t.rep.c.role).where(t.rep.c.name.in_(names))
        ).all()
        for rid_found, name_found, role_found in found:
            i = names.index(name_found)
            tids = {by_name[_name(n, "territory")] for n in wanted[i][2]}
            held = set(
                conn.execute(
                    select(t.rep_territory.c.territory_id).where(
                        t.rep_territory.c.rep_id == rid_found
                    )
                ).scalars()
            )
            if role_found == wanted[i][1] and held == tids:
                raise AlreadyThere(f"rep {name_found!r} exists already", str(rid_found))
            raise AdminError(
                f"rep {name_found!r} exists already with another role or territories;"
                " change them with set-role, assign and unassign"
            )
        now = _now()
        conn.execute(
            insert(t.rep),
            [
                {"id": rid, "name": name, "role": w[1], "created_at": now}
                for rid, name, w in zip(rids, names, wanted, strict=True)
            ],
        )
        links = [
            {"rep_id": rid, "territory_id": tid}
            for rid, w in zip(rids, wanted, strict=True)
            for tid in dict.fromkeys(by_name[_name(n, "territory")] for n in w[2])
        ]
        if links:
            conn.execute(insert(t.rep_territory), links)
        publish_created(
            conn,
            "rep",
            [
                (rid, {"name": name, "role": w[1]})
                for rid, name, w in zip(rids, names, wanted, strict=True)
            ],
        )
    return rids


def assign(engine: Engine, rep: str, territory: str) -> bool:
    """Assign one more territory to a rep; True when it was new (assigning twice is a no-op)."""
    tid = _territory_id(engine, territory)
    rep = _name(rep, "rep")
    with engine.begin() as conn:
        rid = conn.execute(select(t.rep.c.id).where(t.rep.c.name == rep)).scalar()
        if rid is None:
            raise AdminNotFound(f"no rep named {rep!r}")
        held = conn.execute(
            select(t.rep_territory.c.rep_id).where(
                (t.rep_territory.c.rep_id == rid) & (t.rep_territory.c.territory_id == tid)
            )
        ).first()
        if held:
            return False
        conn.execute(insert(t.rep_territory).values(rep_id=rid, territory_id=tid))
    return True


@dataclass(frozen=True)
class IssuedToken:
    """A new device and its token (the only time the token is shown)."""

    device_id: str
    token: str


def issue_token(engine: Engine, rep: str, device_name: str) -> IssuedToken:
    """Enrol a device for a rep; only the token's SHA-256 is stored.

    Device names are unique among a rep's live devices (a revoked device's name
    may be used again: that is how a laptop is re-enrolled).
    """
    return issue_tokens(engine, [(rep, device_name)])[0]


def issue_tokens(engine: Engine, wanted: Sequence[tuple[str, str]]) -> list[IssuedToken]:
    """Enrol devices (rep name, device name) in one transaction; `issue_token`'s checks each."""
    pairs = [(_name(rep, "rep"), _name(device, "device")) for rep, device in wanted]
    if len(set(pairs)) != len(pairs):
        twice = sorted({p for p in pairs if pairs.count(p) > 1})[0]
        raise AdminError(f"{twice[0]} would get two devices named {twice[1]!r}")
    issued = [IssuedToken(uuid7(), new_token()) for _ in pairs]
    with engine.begin() as conn:
        reps = {p[0] for p in pairs}
        rids = {
            str(r[0]): str(r[1])
            for r in conn.execute(select(t.rep.c.name, t.rep.c.id).where(t.rep.c.name.in_(reps)))
        }
        unknown = sorted(reps - set(rids))
        if unknown:
            raise AdminNotFound(f"no rep named {unknown[0]!r}")
        taken = conn.execute(
            select(t.rep.c.name, t.device.c.name, t.device.c.id)
            .join(t.rep, t.rep.c.id == t.device.c.rep_id)
            .where(t.device.c.rep_id.in_(list(rids.values())), t.device.c.revoked_at.is_(None))
        ).all()
        live = {(str(r[0]), str(r[1])): str(r[2]) for r in taken}
        for rep, device in pairs:
            if (rep, device) in live:
                raise AdminError(
                    f"{rep} has a live device named {device!r} ({live[rep, device]});"
                    " revoke it first or choose another name"
                )
        now = _now()
        conn.execute(
            insert(t.device),
            [
                {
                    "id": got.device_id,
                    "rep_id": rids[rep],
                    "name": device,
                    "token_sha256": hash_token(got.token),
                    "created_at": now,
                }
                for got, (rep, device) in zip(issued, pairs, strict=True)
            ],
        )
    return issued


def revoke_token(engine: Engine, device: str) -> bool:
    """Revoke a device by id (or by a name only one live device has); False if it was already.

    A name shared by several live devices (two reps' "laptop") revokes nothing:
    the candidates are named, to be revoked by id.
    """
    device = _name(device, "device")
    with engine.begin() as conn:
        by_id = conn.execute(
            select(t.device.c.id, t.device.c.revoked_at).where(t.device.c.id == device)
        ).first()
        if by_id is not None:
            if by_id[1] is not None:
                return False
            target = str(by_id[0])
        else:
            named = conn.execute(
                select(t.device.c.id, t.rep.c.name, t.device.c.revoked_at)
                .join(t.rep, t.rep.c.id == t.device.c.rep_id)
                .where(t.device.c.name == device)
                .order_by(t.device.c.created_at)
            ).all()
            live = [r for r in named if r[2] is None]
            if not named:
                raise AdminNotFound(f"no device with id or name {device!r}")
            if not live:
                return False
            if len(live) > 1:
                listed = ", ".join(f"{r[0]} ({r[1]})" for r in live)
                raise AdminNotFound(
                    f"{len(live)} live devices are named {device!r}: {listed}; revoke one by its id"
                )
            target = str(live[0][0])
        conn.execute(update(t.device).where(t.device.c.id == target).values(revoked_at=_now()))
    return True


def devices(engine: Engine) -> list[dict[str, str | None]]:
    """Every enrolled device with its rep, last contact and revocation time."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                t.device.c.id,
                t.device.c.name,
                t.rep.c.name.label("rep"),
                t.rep.c.role,
                t.device.c.created_at,
                t.device.c.last_seen_at,
                t.device.c.revoked_at,
            )
            .join(t.rep, t.rep.c.id == t.device.c.rep_id)
            .order_by(t.device.c.created_at)
        ).all()
    return [dict(r._mapping) for r in rows]


def _rep_id(conn: Connection, name: str) -> str:
    rep = _name(name, "rep")
    rid = conn.execute(select(t.rep.c.id).where(t.rep.c.name == rep)).scalar()
    if rid is None:
        raise AdminNotFound(f"no rep named {rep!r}")
    return str(rid)


def _field_sets(
    entity: str,
    row_id: str,
    values: dict[str, str | None],
    hlc: str,
    versions: list[tuple[str, str, str, str, str, str]],
    changes: list[PendingChange],
    *,
    skip_none: bool,
) -> None:
    """Append a server-made record's field versions and their `set` entries (a create skips
    empty fields: absent is empty; a later change sends None to clear one)."""
    for name, value in values.items():
        if value is None and skip_none:
            continue
        encoded = json.dumps(value, ensure_ascii=False)
        versions.append((entity, row_id, name, encoded, hlc, SERVER_DEVICE))
        changes.append(
            PendingChange("set", entity, row_id, name, encoded, hlc, SERVER_DEVICE, None)
        )


def publish_created(
    conn: Connection, entity: str, records: Sequence[tuple[str, dict[str, str | None]]]
) -> None:
    """Publish the `create` of new server-managed records (fresh ids) in one feed write.

    `publish(conn, entity, id, "create", values)` for each, with one lock, one HLC
    and one insert per table.
    """
    if not records:
        return
    lock_feed(conn)
    hlc = _hlc()
    scopes = []
    versions: list[tuple[str, str, str, str, str, str]] = []
    changes: list[PendingChange] = []
    for row_id, values in records:
        scopes.append((entity, row_id, None, None, False, False, hlc, hlc, SERVER_DEVICE))
        changes.append(
            PendingChange("create", entity, row_id, None, None, hlc, SERVER_DEVICE, None)
        )
        _field_sets(entity, row_id, values, hlc, versions, changes, skip_none=True)
    insert_rows(conn, t.row_scope, scopes)
    upsert_rows(conn, t.field_state, versions)
    write_changes(conn, changes)


def publish(
    conn: Connection,
    entity: str,
    row_id: str,
    kind: str,
    values: dict[str, str | None] | None = None,
) -> None:
    """Publish a server-managed record's `create`, changed fields (`set`) or `delete`.

    Territories and reps are made on the server and sent to every device as
    records of the feed (their `rep` record's id is the server's rep id, so an
    owner named on one laptop is the same rep on every other). The HLC is after
    every version the record has, so the change wins everywhere even when the
    server's clock is behind the one that made the last version.
    """
    lock_feed(conn)
    last = conn.execute(
        select(func.max(t.field_state.c.hlc)).where(
            t.field_state.c.entity == entity, t.field_state.c.row_id == row_id
        )
    ).scalar()
    hlc = _hlc()
    if last is not None and last >= hlc:
        before = HLC.decode(str(last))
        hlc = HLC(before.millis, before.counter + 1).encode()
    scope = (t.row_scope.c.entity == entity) & (t.row_scope.c.row_id == row_id)
    changes: list[PendingChange] = []
    if kind == "create":
        # srv_row in column order: no territory or owner, live, made by the server.
        insert_rows(
            conn, t.row_scope, [(entity, row_id, None, None, False, False, hlc, hlc, SERVER_DEVICE)]
        )
    elif kind == "delete":
        conn.execute(update(t.row_scope).where(scope).values(deleted=True, last_hlc=hlc))
    else:
        conn.execute(update(t.row_scope).where(scope).values(last_hlc=hlc))
    if kind != "set":
        changes.append(PendingChange(kind, entity, row_id, None, None, hlc, SERVER_DEVICE, None))
    versions: list[tuple[str, str, str, str, str, str]] = []
    _field_sets(entity, row_id, values or {}, hlc, versions, changes, skip_none=kind == "create")
    upsert_rows(conn, t.field_state, versions)
    write_changes(conn, changes)


def territories(engine: Engine) -> list[dict[str, str | int | None]]:
    """Every territory with its parent, its reps and how many live records it holds."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.territory.c.id, t.territory.c.name, t.territory.c.parent_id).order_by(
                t.territory.c.name
            )
        ).all()
        names = {r[0]: r[1] for r in rows}
        reps: dict[str, list[str]] = {}
        for tid, rep in conn.execute(
            select(t.rep_territory.c.territory_id, t.rep.c.name)
            .join(t.rep, t.rep.c.id == t.rep_territory.c.rep_id)
            .order_by(t.rep.c.name)
        ):
            reps.setdefault(tid, []).append(rep)
        held: dict[str, int] = dict(
            conn.execute(
                select(t.row_scope.c.territory_id, func.count())
                .where(t.row_scope.c.deleted.is_(False), t.row_scope.c.territory_id.is_not(None))
                .group_by(t.row_scope.c.territory_id)
            ).all()
        )
    return [
        {
            "id": tid,
            "name": name,
            "parent": names.get(parent) if parent else None,
            "reps": ", ".join(reps.get(tid, [])),
            "records": int(held.get(tid, 0)),
        }
        for tid, name, parent in rows
    ]


def rename_territory(engine: Engine, old: str, new: str) -> bool:
    """Rename a territory and publish the new name; False when it already has that name."""
    old, new = _name(old, "territory"), _name(new, "territory")
    with engine.begin() as conn:
        found = {
            name: tid
            for tid, name in conn.execute(
                select(t.territory.c.id, t.territory.c.name).where(
                    t.territory.c.name.in_([old, new])
                )
            )
        }
        if new in found and old not in found:
            return False  # a second run: done already
        if old not in found:
            raise AdminNotFound(f"no territory named {old!r}")
        if old == new:
            return False
        if new in found:
            raise AdminError(f"territory {new!r} exists already")
        conn.execute(update(t.territory).where(t.territory.c.id == found[old]).values(name=new))
        publish(conn, "territory", found[old], "set", {"name": new})
    return True


def remove_territory(engine: Engine, name: str) -> bool:
    """Remove an empty territory (and its reps' assignments); False when there is none by that name.

    Refused while it has territories under it or holds live records: move them first.
    """
    name = _name(name, "territory")
    with engine.begin() as conn:
        tid = conn.execute(select(t.territory.c.id).where(t.territory.c.name == name)).scalar()
        if tid is None:
            return False
        children = conn.execute(
            select(t.territory.c.name).where(t.territory.c.parent_id == tid)
        ).scalars()
        under = sorted(children)
        if under:
            raise AdminError(
                f"territory {name!r} has territories under it ({', '.join(under)});"
                " remove or move them first"
            )
        # A record in the territory, or one naming it (an assignment, a rule).
        placed = select(t.row_scope.c.entity, t.row_scope.c.row_id).where(
            t.row_scope.c.territory_id == tid, t.row_scope.c.deleted.is_(False)
        )
        naming = (
            select(t.field_state.c.entity, t.field_state.c.row_id)
            .join(
                t.row_scope,
                (t.row_scope.c.entity == t.field_state.c.entity)
                & (t.row_scope.c.row_id == t.field_state.c.row_id),
            )
            .where(
                t.field_state.c.field.in_(("territory_id", "parent_id")),
                t.field_state.c.value == json.dumps(tid),
                t.row_scope.c.deleted.is_(False),
            )
        )
        rows = {(str(e), str(r)) for e, r in conn.execute(placed.union(naming)).all()}
        counts: dict[str, int] = {}
        for entity, _row in rows:
            counts[entity] = counts.get(entity, 0) + 1
        if counts:
            listed = ", ".join(f"{counts[e]} {e}" for e in sorted(counts))
            raise AdminError(
                f"territory {name!r} still holds records ({listed}); move them to another"
                " territory first"
            )
        conn.execute(delete(t.rep_territory).where(t.rep_territory.c.territory_id == tid))
        conn.execute(delete(t.territory).where(t.territory.c.id == tid))
        publish(conn, "territory", str(tid), "delete")
    return True


def reps(engine: Engine) -> list[dict[str, str | int]]:
    """Every rep with role, territories and live devices."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.rep.c.id, t.rep.c.name, t.rep.c.role).order_by(t.rep.c.name)
        ).all()
        held: dict[str, list[str]] = {}
        for rid, territory in conn.execute(
            select(t.rep_territory.c.rep_id, t.territory.c.name)
            .join(t.territory, t.territory.c.id == t.rep_territory.c.territory_id)
            .order_by(t.territory.c.name)
        ):
            held.setdefault(rid, []).append(territory)
        live: dict[str, int] = dict(
            conn.execute(
                select(t.device.c.rep_id, func.count())
                .where(t.device.c.revoked_at.is_(None))
                .group_by(t.device.c.rep_id)
            ).all()
        )
    return [
        {
            "id": rid,
            "name": name,
            "role": role,
            "territories": ", ".join(held.get(rid, [])),
            "devices": int(live.get(rid, 0)),
        }
        for rid, name, role in rows
    ]


def rename_rep(engine: Engine, old: str, new: str) -> bool:
    """Rename a rep; False when it already has that name."""
    old, new = _name(old, "rep"), _name(new, "rep")
    with engine.begin() as conn:
        found = {
            name: rid
            for rid, name in conn.execute(
                select(t.rep.c.id, t.rep.c.name).where(t.rep.c.name.in_([old, new]))
            )
        }
        if new in found and old not in found:
            return False
        if old not in found:
            raise AdminNotFound(f"no rep named {old!r}")
        if old == new:
            return False
        if new in found:
            raise AdminError(f"rep {new!r} exists already")
        conn.execute(update(t.rep).where(t.rep.c.id == found[old]).values(name=new))
        publish(conn, "rep", found[old], "set", {"name": new})
    return True


def set_role(engine: Engine, rep: str, role: str) -> bool:
    """Change a rep's role; False when the rep has it already."""
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    with engine.begin() as conn:
        rid = _rep_id(conn, rep)
        done = conn.execute(
            update(t.rep).where(t.rep.c.id == rid, t.rep.c.role != role).values(role=role)
        )
        if done.rowcount > 0:
            publish(conn, "rep", rid, "set", {"role": role})
    return done.rowcount > 0


def unassign(engine: Engine, rep: str, territory: str) -> bool:
    """Take a territory from a rep; False when the rep did not cover it."""
    tid = _territory_id(engine, territory)
    with engine.begin() as conn:
        rid = _rep_id(conn, rep)
        done = conn.execute(
            delete(t.rep_territory).where(
                t.rep_territory.c.rep_id == rid, t.rep_territory.c.territory_id == tid
            )
        )
    return done.rowcount > 0


def remove_rep(engine: Engine, name: str) -> bool:
    """Remove a rep with no live device and no records they own; False when there is none.

    Their revoked devices and assignments go with them.
    """
    name = _name(name, "rep")
    with engine.begin() as conn:
        rid = conn.execute(select(t.rep.c.id).where(t.rep.c.name == name)).scalar()
        if rid is None:
            return False
        live = list(
            conn.execute(
                select(t.device.c.id).where(
                    t.device.c.rep_id == rid, t.device.c.revoked_at.is_(None)
                )
            ).scalars()
        )
        if live:
            raise AdminError(
                f"rep {name!r} has live devices ({', '.join(live)}); revoke them first"
                " (crm server revoke-token ID)"
            )
        owned = conn.execute(
            select(func.count()).where(
                t.row_scope.c.owner_id == rid, t.row_scope.c.deleted.is_(False)
            )
        ).scalar_one()
        if owned:
            raise AdminError(f"rep {name!r} owns {owned} records; give them to another rep first")
        conn.execute(delete(t.rep_territory).where(t.rep_territory.c.rep_id == rid))
        conn.execute(delete(t.device).where(t.device.c.rep_id == rid))
        conn.execute(delete(t.rep).where(t.rep.c.id == rid))
        publish(conn, "rep", str(rid), "delete")
    return True
