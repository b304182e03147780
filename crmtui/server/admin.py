"""Administration: territories, reps and device tokens (used by `crm server ...`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.server.auth import ROLES, hash_token, new_token
from crmtui.server.feed import PendingChange, lock_feed, write_changes

SERVER_DEVICE = "server"
"""The device id stamped on changes the server makes itself (territories)."""


class AdminError(ValueError):
    """An admin command cannot be carried out (unknown name, duplicate, bad role)."""


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
        raise AdminError(f"no territory named {name!r}")
    return str(found[0])


def add_territory(engine: Engine, name: str, parent: str | None = None) -> str:
    """Create a territory (optionally under `parent`) and publish it to every device."""
    name = _name(name, "territory")
    parent_id = _territory_id(engine, parent) if parent else None
    tid = uuid7()
    hlc = _hlc()
    with engine.begin() as conn:
        lock_feed(conn)
        if conn.execute(select(t.territory.c.id).where(t.territory.c.name == name)).first():
            raise AdminError(f"territory {name!r} exists already")
        conn.execute(
            insert(t.territory).values(id=tid, name=name, parent_id=parent_id, created_at=_now())
        )
        conn.execute(
            insert(t.row_scope).values(
                entity="territory",
                row_id=tid,
                territory_id=None,
                deleted=False,
                flagged=False,
                last_hlc=hlc,
                created_hlc=hlc,
                created_device=SERVER_DEVICE,
            )
        )
        changes = [PendingChange("create", "territory", tid, None, None, hlc, SERVER_DEVICE, None)]
        for field, value in (("name", name), ("parent_id", parent_id)):
            if value is None:
                continue
            encoded = json.dumps(value)
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
        write_changes(conn, changes)
    return tid


def add_rep(engine: Engine, name: str, role: str, territories: list[str]) -> str:
    """Create a rep with a role, assigned to the named territories."""
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    name = _name(name, "rep")
    tids = list(dict.fromkeys(_territory_id(engine, n) for n in territories))
    rid = uuid7()
    with engine.begin() as conn:
        if conn.execute(select(t.rep.c.id).where(t.rep.c.name == name)).first():
            raise AdminError(f"rep {name!r} exists already")
        conn.execute(insert(t.rep).values(id=rid, name=name, role=role, created_at=_now()))
        for tid in tids:
            conn.execute(insert(t.rep_territory).values(rep_id=rid, territory_id=tid))
    return rid


def assign(engine: Engine, rep: str, territory: str) -> bool:
    """Assign one more territory to a rep; True when it was new (assigning twice is a no-op)."""
    tid = _territory_id(engine, territory)
    rep = _name(rep, "rep")
    with engine.begin() as conn:
        rid = conn.execute(select(t.rep.c.id).where(t.rep.c.name == rep)).scalar()
        if rid is None:
            raise AdminError(f"no rep named {rep!r}")
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
    """Enrol a device for a rep; only the token's SHA-256 is stored."""
    rep = _name(rep, "rep")
    device_name = _name(device_name, "device")
    token = new_token()
    did = uuid7()
    with engine.begin() as conn:
        rid = conn.execute(select(t.rep.c.id).where(t.rep.c.name == rep)).scalar()
        if rid is None:
            raise AdminError(f"no rep named {rep!r}")
        conn.execute(
            insert(t.device).values(
                id=did,
                rep_id=rid,
                name=device_name,
                token_sha256=hash_token(token),
                created_at=_now(),
            )
        )
    return IssuedToken(did, token)


def revoke_token(engine: Engine, device: str) -> None:
    """Revoke a device (by id or name); its token stops working at once."""
    device = _name(device, "device")
    with engine.begin() as conn:
        done = conn.execute(
            update(t.device)
            .where((t.device.c.id == device) | (t.device.c.name == device))
            .where(t.device.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        if done.rowcount == 0:
            raise AdminError(f"no live device {device!r}")


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
