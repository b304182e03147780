"""Helpers for the feed tests: a team on a server engine, ops to push, a reader that keeps score."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import admin
from crmtui.server.auth import Principal, authenticate
from crmtui.server.pull import pull
from crmtui.server.push import apply_push
from crmtui.sync.wire import Op, PullResponse, PushRequest, PushResponse


def now_ms() -> int:
    """The wall clock in milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass
class Team:
    """Territories Region > North, South; reps ann, bob (North), sue (South), max (manager)."""

    engine: Engine
    territory: dict[str, str] = field(default_factory=dict)
    who: dict[str, Principal] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, engine: Engine) -> Team:
        """Set the team up on a migrated server database."""
        team = cls(engine)
        team.territory["Region"] = admin.add_territory(engine, "Region")
        for name in ("North", "South"):
            team.territory[name] = admin.add_territory(engine, name, parent="Region")
        for rep, role, where in (
            ("ann", "rep", "North"),
            ("bob", "rep", "North"),
            ("sue", "rep", "South"),
            ("max", "manager", "Region"),
        ):
            admin.add_rep(engine, rep, role, [where])
            team.tokens[rep] = admin.issue_token(engine, rep, f"{rep}-laptop").token
            team.devices[rep] = uuid7()
        team.refresh()
        return team

    def refresh(self) -> None:
        """Authenticate every device again (after a change of scope)."""
        with self.engine.connect() as conn:
            for rep, token in self.tokens.items():
                who = authenticate(conn, token)
                assert who is not None
                self.who[rep] = who

    def push(self, rep: str, ops: list[Op], engine: Engine | None = None) -> PushResponse:
        """Push a batch as `rep`'s laptop."""
        request = PushRequest(device_id=self.devices[rep], ops=ops)
        return apply_push(engine or self.engine, self.who[rep], request, now_ms(), "t")


def op(
    row: str,
    kind: str,
    entity: str = "contact",
    fld: str | None = None,
    value: object = None,
    tx: str | None = None,
) -> Op:
    """One op stamped now (a create, or a set of `fld` to `value`), in transaction `tx`."""
    return Op(
        op_id=uuid7(),
        tx_id=tx or uuid7(),
        hlc=HLC(now_ms(), 0).encode(),
        entity=entity,
        row_id=row,
        op=kind,
        field=fld,
        value=None if fld is None else json.dumps(value),
    )


def new_contact(territory: str, name: str | None = None) -> tuple[str, list[Op]]:
    """The ops that create a contact in a territory."""
    row, tx = uuid7(), uuid7()
    return row, [
        op(row, "create", tx=tx),
        op(row, "set", fld="name", value=name or row, tx=tx),
        op(row, "set", fld="territory_id", value=territory, tx=tx),
    ]


@dataclass
class Reader:
    """A device pulling the feed; counts every (entity, row, field, hlc) it is sent."""

    who: Principal
    cursor: int = 0
    seen: Counter[tuple[str, str, str | None, str]] = field(default_factory=Counter)
    seqs: Counter[int] = field(default_factory=Counter)
    values: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def take(self, page: PullResponse) -> None:
        """Record a page and move the cursor; the cursor never goes back."""
        assert page.cursor >= self.cursor, (page.cursor, self.cursor)
        for c in page.changes:
            self.seqs[c.seq] += 1
            self.seen[(c.entity, c.row_id, c.field, c.hlc)] += 1
            if c.field is not None:
                before = self.values.get((c.entity, c.row_id, c.field))
                if before is None or before[0] <= c.hlc:
                    self.values[(c.entity, c.row_id, c.field)] = (c.hlc, c.value)
        for r in page.removals:
            self.seqs[r.seq] += 1
            self.removed.add(r.row_id)
        self.cursor = page.cursor

    def pull_all(self, engine: Engine) -> None:
        """Pull until the feed has no more for this device."""
        while True:
            page = pull(engine, self.who, self.cursor, 500, HLC(now_ms(), 0).encode())
            self.take(page)
            if not page.has_more:
                return


def feed_for(engine: Engine, who: Principal) -> set[int]:
    """Every feed number `who` is sent when it pulls everything from 0 on `engine` now."""
    fresh = Reader(who)
    fresh.pull_all(engine)
    return set(fresh.seqs)


def server_values(engine: Engine) -> dict[tuple[str, str, str], str | None]:
    """Every field's value on the server."""
    from sqlalchemy import select

    from crmtui.server import tables as t

    f = t.field_state.c
    with engine.connect() as conn:
        return {
            (r.entity, r.row_id, r.field): r.value
            for r in conn.execute(select(f.entity, f.row_id, f.field, f.value))
        }
