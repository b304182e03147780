"""Device tokens and what the rep behind a device may see and change."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from crmtui.server import tables as t
from crmtui.sync.fields import SHARED

TOKEN_BYTES = 32
ROLES = ("rep", "manager", "admin")


def new_token() -> str:
    """A fresh random device token (32 bytes, URL-safe text); shown to the admin once."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The stored form of a token: only its SHA-256 ever reaches the database."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """An authenticated device, its rep, and the territories the rep may touch."""

    device_id: str
    device_name: str
    rep_id: str
    rep_name: str
    role: str
    assigned: frozenset[str]
    visible: frozenset[str] | None
    """Territories readable and writable; None means all (admin)."""
    clients: frozenset[str] = frozenset()
    """The journal device ids of this rep's laptops: what marks a record as theirs."""

    def sees(self, territory_id: str | None) -> bool:
        """Tell whether a territory (None: no territory) is inside this rep's scope."""
        return territory_id is None or self.visible is None or territory_id in self.visible

    def sees_row(self, entity: str, territory_id: str | None, created_device: str) -> bool:
        """Tell whether this rep may read and write a record.

        A customer record without a territory is seen by its creator (any of the
        rep's laptops), managers and admins; shared entities by everyone.
        """
        if territory_id is not None or entity in SHARED:
            return self.sees(territory_id)
        return self.role != "rep" or created_device in self.clients


def subtree(conn: Connection, roots: frozenset[str]) -> frozenset[str]:
    """The territories at or below `roots` in the hierarchy."""
    children: dict[str | None, list[str]] = {}
    for tid, parent in conn.execute(select(t.territory.c.id, t.territory.c.parent_id)):
        children.setdefault(parent, []).append(tid)
    found: set[str] = set()
    stack = list(roots)
    while stack:
        tid = stack.pop()
        if tid in found:
            continue
        found.add(tid)
        stack.extend(children.get(tid, ()))
    return frozenset(found)


def authenticate(conn: Connection, token: str) -> Principal | None:
    """Find the live device for a bearer token, or None (unknown or revoked)."""
    row = conn.execute(
        select(
            t.device.c.id,
            t.device.c.name,
            t.device.c.revoked_at,
            t.rep.c.id,
            t.rep.c.name,
            t.rep.c.role,
        )
        .join(t.rep, t.rep.c.id == t.device.c.rep_id)
        .where(t.device.c.token_sha256 == hash_token(token))
    ).first()
    if row is None or row[2] is not None:
        return None
    assigned = frozenset(
        conn.execute(
            select(t.rep_territory.c.territory_id).where(t.rep_territory.c.rep_id == row[3])
        ).scalars()
    )
    role = row[5]
    visible: frozenset[str] | None
    if role == "admin":
        visible = None
    elif role == "manager":
        visible = subtree(conn, assigned)
    else:
        visible = assigned
    clients = frozenset(
        conn.execute(
            select(t.device.c.client_id).where(
                t.device.c.rep_id == row[3], t.device.c.client_id.is_not(None)
            )
        ).scalars()
    )
    return Principal(row[0], row[1], row[3], row[4], role, assigned, visible, clients)
