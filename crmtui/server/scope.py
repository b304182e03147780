"""A device's scope between its pulls: a snapshot of what became visible, removals of what left.

The feed is filtered by what a rep may see *when they pull*, so entries written
before a territory was given to them were never sent: a rep given a territory
got only its later changes (a later edit of an older record made a ghost row of
one field). Each device's scope is kept (`srv_device_scope`) as of its last pull;
when it differs at the next one, the server first writes, for that device only
(`sync_change.for_device`), a snapshot of every live record it can now see and
could not (a create and every field with its stored version, so the merge rules
on the laptop stay the same) and a removal of every record it could see and no
longer can (the laptop purges it). Those entries are numbered like any others,
after everything the device has not pulled yet, so they page like the feed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, false, not_, or_, select, true, update

from crmtui.server import tables as t
from crmtui.server.auth import Principal
from crmtui.server.bulk import insert_rows, rows_by_keys
from crmtui.server.feed import PendingChange, lock_feed, write_changes
from crmtui.sync.fields import SHARED
from crmtui.sync.merge import SERVER_DEVICE

_KEYS_PER_READ = 2000
"""Records whose fields are read at once while a snapshot is written."""


@dataclass(frozen=True)
class Scope:
    """What a device may read, in the terms that can change between two pulls."""

    everything: bool
    """An admin: every territory."""
    territories: frozenset[str]
    unplaced: bool
    """Every customer record without a territory (managers, admins), not only its own."""

    def dumps(self) -> str:
        """The stored form (sorted, so one scope has one text)."""
        return json.dumps(
            {
                "all": self.everything,
                "territories": sorted(self.territories),
                "unplaced": self.unplaced,
            }
        )

    @classmethod
    def loads(cls, text: str) -> Scope:
        """Read the stored form back."""
        raw = json.loads(text)
        return cls(bool(raw["all"]), frozenset(raw["territories"]), bool(raw["unplaced"]))


def scope_of(who: Principal) -> Scope:
    """The scope a device's pull is filtered with now (`pull._in_scope`)."""
    return Scope(who.visible is None, who.visible or frozenset(), who.role != "rep")


def _sees(scope: Scope, who: Principal) -> Any:
    """SQL: the customer records of `srv_row` a device with this scope reads."""
    r = t.row_scope.c
    placed = true() if scope.everything else r.territory_id.in_(sorted(scope.territories) or [""])
    mine = r.created_device.in_(sorted(who.clients) or [""])
    unplaced = true() if scope.unplaced else mine
    return or_(and_(r.territory_id.is_not(None), placed), and_(r.territory_id.is_(None), unplaced))


def catch_up(engine: Engine, who: Principal, cursor: int) -> int:
    """Before a pull: write the device's snapshot and removals if its scope changed.

    Returns how many entries were written for it. A device pulling from 0 gets the
    whole feed under its scope anyway, and one without a stored scope (enrolled
    before the server kept it) gets none: its scope is only remembered.
    """
    current = scope_of(who)
    text = current.dumps()
    with engine.connect() as conn:
        stored = _stored(conn, who.device_id)
    if stored == text:
        return 0
    with engine.begin() as conn:
        lock_feed(conn)  # one pull of the device at a time writes its catch-up
        stored = _stored(conn, who.device_id)
        if stored == text:
            return 0
        changes: list[PendingChange] = []
        if stored is not None and cursor > 0:
            changes = _entries(conn, who, Scope.loads(stored), current)
            write_changes(conn, changes)
        if stored is None:
            insert_rows(conn, t.device_scope, [(who.device_id, text)])
        else:
            conn.execute(
                update(t.device_scope)
                .where(t.device_scope.c.device_id == who.device_id)
                .values(scope=text)
            )
    return len(changes)


def _stored(conn: Connection, device: str) -> str | None:
    found = conn.execute(
        select(t.device_scope.c.scope).where(t.device_scope.c.device_id == device)
    ).scalar()
    return str(found) if found is not None else None


def _entries(conn: Connection, who: Principal, old: Scope, new: Scope) -> list[PendingChange]:
    """Removals of what left the device's scope, then snapshots of what came into it."""
    r = t.row_scope.c
    customer = r.entity.not_in(sorted(SHARED))
    left = conn.execute(
        select(r.entity, r.row_id, r.territory_id, r.last_hlc)
        .where(customer, _sees(old, who), not_(_sees(new, who)))
        .order_by(r.entity, r.row_id)
    ).all()
    device = who.device_id
    changes = [
        PendingChange("removal", e, row, None, None, hlc, SERVER_DEVICE, terr, for_device=device)
        for e, row, terr, hlc in left
    ]
    came = conn.execute(
        select(r.entity, r.row_id, r.territory_id, r.flagged, r.created_hlc, r.created_device)
        .where(customer, r.deleted.is_(false()), _sees(new, who), not_(_sees(old, who)))
        .order_by(r.entity, r.row_id)
    ).all()
    for start in range(0, len(came), _KEYS_PER_READ):
        chunk = came[start : start + _KEYS_PER_READ]
        fields: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for f in rows_by_keys(conn, t.field_state, [(c.entity, c.row_id) for c in chunk]):
            fields.setdefault((f["entity"], f["row_id"]), []).append(f)
        for c in chunk:
            key = (c.entity, c.row_id)
            changes.append(
                PendingChange(
                    "create",
                    c.entity,
                    c.row_id,
                    None,
                    None,
                    c.created_hlc,
                    c.created_device,
                    c.territory_id,
                    flagged=bool(c.flagged),
                    for_device=device,
                )
            )
            for f in sorted(fields.get(key, []), key=lambda f: str(f["field"])):
                changes.append(
                    PendingChange(
                        "set",
                        c.entity,
                        c.row_id,
                        f["field"],
                        f["value"],
                        f["hlc"],
                        f["device_id"],
                        c.territory_id,
                        for_device=device,
                    )
                )
    return changes
