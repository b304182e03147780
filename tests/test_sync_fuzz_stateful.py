"""Stateful fuzz of the sync API with really enrolled devices (issue #14, item 7).

Hypothesis drives the real FastAPI app over HTTP (in-process transport) as four
enrolled devices of a team -- ann (rep, North), sue (rep, South), max (manager of
Region, above both) and root (admin) -- and one real laptop of ann's (a crmtui
store and its sync client). Each step pushes a batch of creates, sets and
deletes with valid ids and HLCs, made of valid values, malformed values, links
to records that do not exist or are out of the device's scope, territory moves
and writes to reference data or server-managed records; or the laptop edits and syncs.

After every step:

- no answer was a 5xx;
- every device can still push (an empty batch) and pull to the end of the feed,
  and the real laptop's sync ends without an error;
- no answer to a device holds a value it may not read: every text value the fuzz
  writes carries a canary token, and a token may reach a device only when a feed
  entry or a kept conflict holding it is in a territory the device covers (by the
  team's definition below, not the server's code), or unplaced and the device's
  rep's own (reps), or shared;
- convergence: the rows and field values each device holds after pulling are the
  server's view for that device (its scope rows and their field versions).

The share of generated ops that reached op processing (answered per op: applied,
superseded, conflict, or rejected by the rules; not stopped by 401/409/413/422 for
the whole batch) is counted over the run and must be at least half.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from crmtui.domain.hlc import HLC
from crmtui.domain.ids import uuid7
from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID, DEFAULT_STAGES
from crmtui.sync.client import device_id
from crmtui.sync.fields import LINK_TARGETS, SHARED, SPECS, required_fields
from tests.app_support import copy_db
from tests.budget import examples
from tests.pg_support import pg_test_database
from tests.sync_support import Team

ENTITIES = (
    "account",
    "contact",
    "deal",
    "lead",
    "activity",
    "tickler",
    "deal_stage_change",
    "pipeline",
    "stage",
    "territory",
    "rep",
)
OWN_TERRITORY = ("account", "contact", "deal", "lead")
DEVICES = ("ann", "sue", "max", "root")
ROLE = {"ann": "rep", "sue": "rep", "max": "manager", "root": "admin"}
TOKEN = re.compile(r"cz[0-9a-f]{8}")
"""A canary: every text value the fuzz writes holds one, unique to that value."""
MALFORMED = (
    "null",
    "5",
    "true",
    '"maybe"',
    "[[1]]",
    '{"a": 1}',
    '"\\ud800"',
    '"a\\u0000b"',
    "NaN",
    "1e999",
    "123456789012345678901234567890",
    "[" * 40 + "]" * 40,
    '["x", 5]',
    '"2026-13-45"',
    "not json",
)
"""Values that fit some fields and not others (a string is a name but not an amount)."""
NEVER_VALID = frozenset(
    {"[[1]]", '{"a": 1}', '"\\ud800"', '"a\\u0000b"', "NaN", "[" * 40 + "]" * 40, "not json"}
)
"""Values no field takes: each must be refused per op."""
WHEN = "2026-12-07T10:00:00.000000Z"

TALLY: Counter[str] = Counter()
"""Over the whole run: ops generated, ops answered per op (by status), batches refused."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Device:
    """An enrolled device: its HTTP client, journal id, clock, cursor and what it holds."""

    def __init__(self, team: Team, rep: str) -> None:
        self.rep = rep
        self.token = admin.issue_token(team.engine, rep, f"{rep}-fuzz").token
        self.http: httpx.Client = team.http(self.token)
        self.device = uuid7()
        self.clock = 0
        self.cursor = 0
        self.rows: dict[tuple[str, str], dict[str, str | None]] = {}
        """Live records pulled, with their field values."""
        self.deleted: set[tuple[str, str]] = set()
        self.bodies: list[str] = []
        """Answers received since the last check (for canaries)."""

    def hlc(self) -> str:
        """A fresh HLC reading of this device (strictly increasing)."""
        self.clock = max(self.clock + 1, _now_ms())
        return HLC(self.clock, 0).encode()

    def post(self, ops: list[dict[str, Any]]) -> httpx.Response:
        """Push one batch; the answer is kept for the canary check."""
        r = self.http.post("/v1/push", json={"device_id": self.device, "ops": ops})
        assert r.status_code < 500, r.text
        self.bodies.append(r.text)
        return r

    def pull_all(self) -> None:
        """Pull to the end of the feed and apply every page to what this device holds."""
        while True:
            r = self.http.get("/v1/pull", params={"cursor": self.cursor, "limit": 500})
            assert r.status_code == 200, r.text
            self.bodies.append(r.text)
            page = r.json()
            for c in sorted([*page["changes"], *page["removals"]], key=lambda c: c["seq"]):
                self._apply(c)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return

    def _apply(self, c: dict[str, Any]) -> None:
        key = (c["entity"], c["row_id"])
        kind = c["kind"]
        if kind == "removal":
            self.rows.pop(key, None)
            self.deleted.discard(key)
        elif kind == "create":
            self.rows.setdefault(key, {})
        elif kind == "set":
            self.rows.setdefault(key, {})[c["field"]] = c["value"]
        elif kind == "delete":
            self.deleted.add(key)
        elif kind == "undelete":
            self.deleted.discard(key)

    def live(self) -> dict[tuple[str, str], dict[str, str | None]]:
        """The records this device shows: pulled and not deleted."""
        return {k: v for k, v in self.rows.items() if k not in self.deleted}


class Fuzz(RuleBasedStateMachine):
    """A team of four devices and a real laptop against one server."""

    url_factory: Any = None
    """Set by the test: a callable giving per run a fresh copy of a server database a
    Team was made on (migrated, territories and reps in place; `Team(seeded=True)`)."""

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        tmp = Path(self._dir.name)
        self.team = Team(Fuzz.url_factory(tmp), tmp, seeded=True)
        self.territory = {
            "North": self.team.north,
            "South": self.team.south,
            "Region": self.team.region,
        }
        self.devices = {rep: Device(self.team, rep) for rep in DEVICES}
        self.rep_ids = {r["name"]: str(r["id"]) for r in admin.reps(self.team.engine)}
        for d in self.devices.values():
            assert d.post([]).status_code == 200  # binds the journal id to the token
        self.canary = 0
        self.pool: dict[str, list[str]] = {e: [] for e in SPECS}
        """Ids the fuzz made or knows, per entity (some never accepted: dangling)."""
        self.pool["pipeline"].append(DEFAULT_PIPELINE_ID)
        self.pool["stage"] += [s.id for s in DEFAULT_STAGES]
        self.pool["territory"] += list(self.territory.values())
        self.pool["rep"] += list(self.rep_ids.values())
        # A record of each territory, so links out of scope have targets to try.
        for rep, territory in (("ann", "North"), ("sue", "South"), ("max", "Region")):
            for entity in ("account", "contact", "deal"):
                ops = self._create(self.devices[rep], entity, self.territory[territory], None)
                assert self.devices[rep].post(ops).status_code == 200
        # A real laptop of ann's, syncing with the server like `crm sync`.
        self.laptop, token = self.team.laptop("ann", "ann-laptop")
        self.laptop_sync = self.team.sync_client(self.laptop, token, batch=7)
        self.laptop_sync.sync()
        # Each rep's journal device ids: an unplaced record is seen on all of its rep's.
        self.journals = {rep: {d.device} for rep, d in self.devices.items()}
        self.journals["ann"].add(device_id(self.laptop))
        with self.laptop.write() as tx:
            self.laptop_contact = create_contact(
                tx=tx, data=ContactCreate(name=self._text()), region="DE"
            ).id

    def teardown(self) -> None:
        """Release the server, its clients and the temporary files."""
        self.team.close()
        self._dir.cleanup()

    # -- values -------------------------------------------------------------------

    def _text(self) -> str:
        self.canary += 1
        return f"cz{self.canary:08x} fuzz"

    def _valid(self, entity: str, name: str, pick: int) -> str:
        """A value that fits the field (links: a known id, maybe out of scope or dangling)."""
        spec = SPECS[entity][name]
        if (entity, name) in LINK_TARGETS:
            targets = self.pool[LINK_TARGETS[(entity, name)]]
            return json.dumps(targets[pick % len(targets)] if targets else uuid7())
        if spec.choices:
            return json.dumps(spec.choices[pick % len(spec.choices)])
        value: Any = {
            "str": None,
            "id": uuid7(),
            "int": pick,
            "bool": pick % 2 == 0,
            "float": pick / 3,
            "datetime": WHEN,
            "date": "2026-12-07",
            "tags": ["a", f"t{pick}"],
        }[spec.kind]
        if spec.kind == "str":
            value = self._text()[: spec.max_length or 1000]
        return json.dumps(value)

    def _op(self, d: Device, entity: str, row: str, kind: str, tx: str, **kw: Any) -> dict:
        op: dict[str, Any] = {
            "op_id": uuid7(),
            "tx_id": tx,
            "hlc": d.hlc(),
            "entity": entity,
            "row_id": row,
            "op": kind,
        }
        return op | kw

    def _create(
        self, d: Device, entity: str, territory: str | None, bad: tuple[str, str] | None
    ) -> list[dict]:
        """A create and the sets of its required fields (one maybe malformed), like a laptop's."""
        row, tx = uuid7(), uuid7()
        self.pool[entity].append(row)
        ops = [self._op(d, entity, row, "create", tx)]
        names = list(required_fields(entity))
        if entity in OWN_TERRITORY:
            names.append("territory_id")
        if entity in ("activity", "tickler"):
            names.append("contact_id")
        for i, name in enumerate(names):
            value = self._valid(entity, name, i + self.canary)
            if name == "territory_id":
                value = json.dumps(territory)
            if bad is not None and bad[0] == name:
                value = bad[1]
            ops.append(self._op(d, entity, row, "set", tx, field=name, value=value))
        return ops

    # -- rules --------------------------------------------------------------------

    @rule(
        who=st.sampled_from(DEVICES),
        data=st.data(),
        count=st.integers(1, 4),
    )
    def push(self, who: str, data: st.DataObject, count: int) -> None:
        """One batch of creates, sets and deletes; answered per op unless the batch is bad."""
        d = self.devices[who]
        ops: list[dict] = []
        for _ in range(count):
            ops += self._draw_ops(d, data)
        TALLY["generated"] += len(ops)
        r = d.post(ops)
        if r.status_code != 200:
            TALLY[f"batch {r.status_code}"] += len(ops)
            return
        answers = r.json()["results"]
        assert len(answers) == len(ops)
        for op, answer in zip(ops, answers, strict=True):
            TALLY["processed"] += 1
            TALLY[answer["status"]] += 1
            if answer["status"] == "rejected":
                assert answer["reason"], answer
            if op["op"] == "set" and op["value"] in NEVER_VALID:
                assert answer["status"] == "rejected", (op, answer)

    def _draw_ops(self, d: Device, data: st.DataObject) -> list[dict]:
        # Customer records half the time: where scope, links and moves are decided.
        entity = data.draw(
            st.sampled_from(OWN_TERRITORY) | st.sampled_from(ENTITIES), label="entity"
        )
        kind = data.draw(st.sampled_from(["create", "set", "set", "set", "delete"]), label="op")
        known = self.pool[entity]
        if kind == "create" or not known:
            territory = data.draw(
                st.sampled_from([None, *self.territory.values()]), label="territory"
            )
            bad = None
            if data.draw(st.integers(0, 4), label="malformed?") == 0:
                names = list(required_fields(entity)) or ["name"]
                bad = (data.draw(st.sampled_from(names)), data.draw(st.sampled_from(MALFORMED)))
            return self._create(d, entity, territory, bad)
        row = data.draw(st.sampled_from(known), label="row")
        if kind == "delete":
            return [self._op(d, entity, row, "delete", uuid7())]
        fields = sorted(SPECS[entity])
        # Often a field that holds a canary from its create (an answer must not show it).
        name = data.draw(
            st.sampled_from(["name"] if "name" in fields else fields) | st.sampled_from(fields),
            label="field",
        )
        how = data.draw(st.integers(0, 9), label="value kind")
        if name == "territory_id" and how < 5:
            # Moves: into each territory, and unplacing.
            target = data.draw(st.sampled_from([None, *self.territory.values()]), label="to")
            value: str | None = json.dumps(target)
        elif how == 0:
            value = data.draw(st.sampled_from(MALFORMED), label="bad value")
        elif how == 1:
            value = json.dumps(uuid7())  # dangling, whatever the field
        elif how == 2 and data.draw(st.integers(0, 20), label="huge?") == 0:
            value = json.dumps("x" * 70_000)  # over the wire limit: the whole batch is 422
        else:
            value = self._valid(entity, name, data.draw(st.integers(0, 50), label="pick"))
        return [self._op(d, entity, row, "set", uuid7(), field=name, value=value)]

    @rule(data=st.data())
    def laptop_edits_and_syncs(self, data: st.DataObject) -> None:
        """Ann's real laptop edits its contact and syncs: it never fails."""
        city = data.draw(st.sampled_from(["York", "Hull", None]), label="city")
        with self.laptop.write() as tx:
            update_contact(
                tx=tx,
                contact_id=self.laptop_contact,
                data=ContactUpdate(city=city, title=self._text()),
                region="DE",
            )
        self.laptop_sync.sync()

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def every_device_still_syncs_and_sees_only_its_scope(self) -> None:
        """Push and pull still work; no canary out of scope; each device holds the server's view."""
        self.laptop_sync.sync()
        for d in self.devices.values():
            assert d.post([]).status_code == 200
            d.pull_all()
        with self.team.engine.connect() as conn:
            readable = self._readable_tokens(conn)
            views = {rep: self._server_view(conn, d) for rep, d in self.devices.items()}
        for rep, d in self.devices.items():
            for body in d.bodies:
                leaked = set(TOKEN.findall(body)) - readable[rep]
                assert not leaked, (rep, sorted(leaked)[:5], body[:500])
            d.bodies.clear()
            assert d.live() == views[rep], rep

    def _sees(self, rep: str, territory: str | None, entity: str, created: str) -> bool:
        """The team's scope rules, written out independently of the server's code."""
        role = ROLE[rep]
        if role == "admin" or (entity in SHARED and territory is None):
            return True
        if territory is None:
            return role == "manager" or created in self.journals[rep]
        covered = {
            "ann": {self.team.north},
            "sue": {self.team.south},
            "max": set(self.territory.values()),
        }[rep]
        return territory in covered

    def _readable_tokens(self, conn: Any) -> dict[str, set[str]]:
        """Per device, the canaries it may be sent: in a feed entry or kept conflict it may read."""
        created = dict(
            ((e, r), c)
            for e, r, c in conn.execute(
                select(t.row_scope.c.entity, t.row_scope.c.row_id, t.row_scope.c.created_device)
            )
        )
        holders = conn.execute(
            text(
                "SELECT entity, row_id, territory_id, value FROM sync_change"
                " WHERE kind <> 'logged' AND value LIKE '%cz%'"
                " UNION ALL SELECT entity, row_id, territory_id, kept_value FROM srv_conflict"
                " UNION ALL SELECT entity, row_id, territory_id, other_value FROM srv_conflict"
            )
        ).all()
        out: dict[str, set[str]] = {rep: set() for rep in DEVICES}
        for entity, row, territory, value in holders:
            tokens = TOKEN.findall(value or "")
            for rep in DEVICES:
                if tokens and self._sees(rep, territory, entity, created.get((entity, row), "")):
                    out[rep].update(tokens)
        return out

    def _server_view(self, conn: Any, d: Device) -> dict[tuple[str, str], dict[str, str | None]]:
        """The live records the server holds in this device's scope, with their values."""
        rows = conn.execute(
            select(
                t.row_scope.c.entity,
                t.row_scope.c.row_id,
                t.row_scope.c.territory_id,
                t.row_scope.c.created_device,
            ).where(t.row_scope.c.deleted.is_(False))
        ).all()
        view: dict[tuple[str, str], dict[str, str | None]] = {
            (e, r): {} for e, r, territory, c in rows if self._sees(d.rep, territory, e, c)
        }
        for e, r, name, value in conn.execute(
            select(
                t.field_state.c.entity,
                t.field_state.c.row_id,
                t.field_state.c.field,
                t.field_state.c.value,
            )
        ):
            if (e, r) in view:
                view[(e, r)][name] = value
        return view


def _run(url_factory: Any, *, least: int = 10) -> None:
    Fuzz.url_factory = url_factory
    run_state_machine_as_test(
        Fuzz,
        settings=settings(
            max_examples=examples(25, least=least),
            stateful_step_count=examples(40),
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    share = TALLY["processed"] / max(1, TALLY["generated"])
    print(f"\nop-processing share: {share:.1%} of {TALLY['generated']} ops; {dict(TALLY)}")
    assert TALLY["generated"] > 0
    assert share >= 0.5, dict(TALLY)


@pytest.mark.parametrize("backend", ["sqlite", "pg"])
def test_stateful_fuzz_through_the_api(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Every run starts from a copy of one server made once per test (migrations,
    # territories, reps): a file copy on SQLite, CREATE DATABASE ... TEMPLATE on
    # PostgreSQL. Making it per run was a quarter of the test's time; the runs'
    # own devices, tokens, records and laptop are still made per run.
    TALLY.clear()
    made = tmp_path / "made"
    made.mkdir()
    if backend == "sqlite":
        template = made / "server.db"
        Team(str(template), made).close()

        def copy(tmp: Path) -> str:
            return str(copy_db(template, tmp / "server.db"))

        _run(copy)
        return
    # In CI PostgreSQL gets half SQLite's runs (5, 25 each in test-full): what it adds is
    # the PostgreSQL store under the same rules.
    base = str(request.getfixturevalue("pg_url"))
    Team(base, made).close()
    with pg_copies(base) as copy_pg:
        _run(lambda _tmp: copy_pg(), least=5)


@contextmanager
def pg_copies(base: str) -> Iterator[Callable[[], str]]:
    """Fresh copies of the PostgreSQL database at `base` (each one dropped at the end)."""
    import os

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin_dsn = os.environ.get(
        "CRMTUI_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
    )
    made: list[str] = []
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3) as conn:

        def copy() -> str:
            name = f"{url.database}_r{len(made)}"
            pg_test_database(conn, name, template=url.database)
            made.append(name)
            return url.set(database=name).render_as_string(hide_password=False)

        try:
            yield copy
        finally:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
