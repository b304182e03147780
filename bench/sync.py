"""Sync benchmark against PostgreSQL on loopback (results go to docs/performance.md).

Usage: python bench/sync.py [--ops 10000] [--runs 5] [--clients 20] [--client-ops 1000]
       [--dsn "host=127.0.0.1 port=5432 dbname=test user=postgres"]

1. A laptop with N pending ops (contacts made by the services) runs `SyncClient.sync()`
   (push in batches of 1,000, then pull) against `crm server` (uvicorn, one worker) on a
   fresh PostgreSQL database; baselines, in the same run: raw psycopg `executemany`
   upserts of the same N field values into a bare (entity, row_id, field) table, and
   COPY of them into an unlogged staging table plus one `INSERT ... SELECT ... ON
   CONFLICT` (the fastest raw way to land the rows). The ratios are against both.
   The floor: the rows the sync left on the server (feed, field versions, scopes),
   COPYed in binary into a fresh server schema with its indexes in one transaction:
   what any server keeping those rows writes at least, with no HTTP, JSON or Python.
2. C clients push K ops each concurrently; every op must be applied exactly once;
   p50/p95 of the per-batch push latency are printed.

`--phases` adds one more run of the first size with the wall time of each part (the
client and the server take turns, so the parts add up to about the sync's time).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crmtui.server import admin
from crmtui.server.app import make_server
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store, open_store
from crmtui.sync.client import SyncClient, pending_ops

DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


class Database:
    """A throwaway PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        self.admin = psycopg.connect(dsn, autocommit=True)
        self.name = f"crmtui_bench_{uuid.uuid4().hex[:10]}"
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        info = self.admin.info
        self.url = f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{self.name}"
        self.dsn = f"host={info.host} port={info.port} dbname={self.name} user={info.user}"

    def drop(self) -> None:
        """Remove the database."""
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.close()


class Server:
    """uvicorn in a thread on a free loopback port."""

    def __init__(self, url: str) -> None:
        self.app = make_server(url)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            self.thread.join(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop serving and release the pool."""
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.engine.dispose()


def laptop(path: Path, ops: int) -> Store:
    """A laptop database with about `ops` pending journal ops."""
    store = open_store(path)
    per_contact = 8  # create + name + fields the service sets
    with store.write() as tx:
        for i in range(max(1, ops // per_contact)):
            create_contact(
                tx=tx,
                data=ContactCreate(
                    name=f"Person {i}",
                    city="Leeds",
                    email=f"p{i}@example.com",
                    phone="+4915112345678",
                ),
                region="DE",
            )
    return store


def raw_upsert(dsn: str, store: Store) -> float:
    """Seconds to upsert the same field values with psycopg executemany."""
    rows = [(op.entity, op.row_id, op.field or "", op.value) for op in pending_ops(store)]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_field (entity text, row_id text, field text,"
            " value text, PRIMARY KEY (entity, row_id, field))"
        )
        conn.execute("TRUNCATE raw_field")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO raw_field VALUES (%s, %s, %s, %s) ON CONFLICT (entity, row_id, field)"
                " DO UPDATE SET value = excluded.value",
                rows,
            )
        conn.commit()
        return time.perf_counter() - started


def copy_upsert(dsn: str, store: Store) -> float:
    """Seconds to land the same field values by COPY into a staging table and one upsert."""
    rows = [(op.entity, op.row_id, op.field or "", op.value) for op in pending_ops(store)]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS copy_field (entity text, row_id text, field text,"
            " value text, PRIMARY KEY (entity, row_id, field))"
        )
        conn.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS copy_stage (entity text, row_id text,"
            " field text, value text)"
        )
        conn.execute("TRUNCATE copy_field")
        conn.execute("TRUNCATE copy_stage")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY copy_stage (entity, row_id, field, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # The last value of a key wins, as executemany's upserts in op order leave it.
            cur.execute(
                "INSERT INTO copy_field SELECT DISTINCT ON (entity, row_id, field)"
                " entity, row_id, field, value FROM copy_stage ORDER BY entity, row_id, field,"
                " ctid DESC ON CONFLICT (entity, row_id, field) DO UPDATE SET value = excluded.value"
            )
            cur.execute("TRUNCATE copy_stage")
        conn.commit()
        return time.perf_counter() - started


def _table_counts(dsn: str) -> dict[str, int]:
    """Rows per table of the public schema."""
    with psycopg.connect(dsn) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # type: ignore[index]


def floor_copy(dsn: str, before: dict[str, int]) -> tuple[float, dict[str, int]]:
    """Seconds to COPY the rows the sync left on the server into a fresh server schema.

    The tables the sync wrote rows to (the feed, the field versions, the records'
    scopes ...) are copied out as PostgreSQL holds them and in again, with their
    indexes, in one transaction (the few rows the run's setup put there too): what any server keeping the same rows must
    write at least, with no HTTP, JSON, Python or decisions.
    """
    from crmtui.server.db import make_server_engine, upgrade_server
    from crmtui.server.tables import metadata

    after = _table_counts(dsn)
    target = Database(dsn)
    try:
        engine = make_server_engine(target.url)
        upgrade_server(engine)
        engine.dispose()
        # Tables a fresh schema fills itself (its version, counters) keep their rows;
        # the territories, reps and devices the run set up are copied first, untimed.
        fresh = _table_counts(target.dsn)
        # (The baselines' own tables are not in the schema.)
        # In the order of the schema's foreign keys.
        ours = [
            t.name for t in metadata.sorted_tables if after.get(t.name) and fresh.get(t.name) == 0
        ]
        setup = [t for t in ours if after[t] == before.get(t)]
        tables = {t: after[t] for t in ours if after[t] != before.get(t)}
        data = {t: _copy_out(dsn, t) for t in [*setup, *tables]}
        with psycopg.connect(target.dsn) as conn:
            with conn.cursor() as cur:
                for table in setup:
                    _copy_in(cur, table, data[table])
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                for table in tables:
                    _copy_in(cur, table, data[table])
            conn.commit()
            return time.perf_counter() - started, tables
    finally:
        target.drop()


def _copy_out(dsn: str, table: str) -> bytes:
    """A table's rows in COPY's binary format."""
    buf = bytearray()
    with (
        psycopg.connect(dsn) as conn,
        conn.cursor() as cur,
        cur.copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy,
    ):
        for chunk in copy:
            buf += chunk
    return bytes(buf)


def _copy_in(cur: psycopg.Cursor[Any], table: str, raw: bytes) -> None:
    with cur.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
        copy.write(raw)


FLOOR_TABLES: dict[str, int] = {}
"""The tables (and rows) the last run's floor copied, for the printout."""


def one_run(dsn: str, ops: int, tmp: Path) -> tuple[float, float, int, float, float]:
    """(sync s, raw executemany upsert s, ops, COPY+upsert s, floor s) on a fresh database
    and server."""
    db = Database(dsn)
    server = Server(db.url)
    try:
        engine = server.app.state.engine
        admin.add_territory(engine, "North")
        admin.add_rep(engine, "ann", "rep", ["North"])
        token = admin.issue_token(engine, "ann", "bench").token
        store = laptop(tmp / f"laptop-{uuid.uuid4().hex}.db", ops)
        count = len(pending_ops(store))
        baseline = raw_upsert(db.dsn, store)
        copied = copy_upsert(db.dsn, store)
        before = _table_counts(db.dsn)
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as http:
            started = time.perf_counter()
            report = SyncClient(store, http).sync()
            took = time.perf_counter() - started
        assert report.pushed == count and report.rejected == 0, report
        store.close()
        floor, tables = floor_copy(db.dsn, before)
        FLOOR_TABLES.clear()
        FLOOR_TABLES.update(tables)
        return took, baseline, count, copied, floor
    finally:
        server.stop()
        db.drop()


class Timed(httpx.HTTPTransport):
    """Records the latency of every push."""

    def __init__(self, sink: list[float]) -> None:
        super().__init__()
        self.sink = sink

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = super().handle_request(request)
        response.read()
        if request.url.path == "/v1/push":
            self.sink.append(time.perf_counter() - started)
        return response


def concurrent(dsn: str, clients: int, each: int, tmp: Path) -> dict[str, float]:
    """C clients pushing K ops each at once; exactly-once check and batch latency."""
    db = Database(dsn)
    server = Server(db.url)
    try:
        engine = server.app.state.engine
        admin.add_territory(engine, "North")
        admin.add_rep(engine, "ann", "rep", ["North"])
        stores = [laptop(tmp / f"c{i}-{uuid.uuid4().hex}.db", each) for i in range(clients)]
        tokens = [admin.issue_token(engine, "ann", f"c{i}").token for i in range(clients)]
        expected = sum(len(pending_ops(s)) for s in stores)
        latencies: list[float] = []
        errors: list[BaseException] = []

        def run(i: int) -> None:
            try:
                with httpx.Client(
                    transport=Timed(latencies),
                    base_url=server.base,
                    timeout=300,
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                ) as http:
                    SyncClient(stores[i], http, batch=250).push(
                        __import__("crmtui.sync.client", fromlist=["SyncReport"]).SyncReport()
                    )
            except Exception as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - started
        assert not errors, errors
        with psycopg.connect(db.dsn) as conn:
            logged, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT op_id) FROM sync_change WHERE op_id IS NOT NULL"
            ).fetchone()  # type: ignore[misc]
            applied = conn.execute(
                "SELECT count(*) FROM sync_change WHERE op_id IS NOT NULL AND status = 'applied'"
            ).fetchone()[0]  # type: ignore[index]
        for s in stores:
            s.close()
        latencies.sort()
        return {
            "expected": expected,
            "logged": logged,
            "distinct": distinct,
            "applied": applied,
            "wall_s": wall,
            "batches": len(latencies),
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        }
    finally:
        server.stop()
        db.drop()


PHASES = {
    "crmtui.server.app": {
        "apply_batch": "server: apply a push batch",
        "pull_page": "server: read a pull page",
        "authenticate": "server: authenticate",
    },
    "crmtui.server.push": {
        "_prefetch": "  server: read the batch's rows and fields",
        "existing_ids": "  server: look up op ids seen before",
        "_write_back": "  server: write rows and fields",
        "write_changes": "  server: number and write the feed",
    },
    "crmtui.sync.client": {
        "pending_rows_and_ops": "client: read pending ops",
        "apply_changes": "client: apply pulled pages",
    },
}


def phases(dsn: str, ops: int, tmp: Path) -> dict[str, float]:
    """One run with the wall seconds spent in each part of the sync."""
    import importlib

    from crmtui.sync.client import SyncClient as Client

    spent: dict[str, float] = {}
    undo: list[tuple[Any, str, Any]] = []
    syncing = [False]  # pending_ops also runs to count and for the baseline: not timed

    def timed(label: str, f: Any) -> Any:
        @functools.wraps(f)
        def run(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                if syncing[0]:
                    spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        return run

    targets: list[tuple[Any, str, str]] = [
        (importlib.import_module(m), n, label) for m, d in PHASES.items() for n, label in d.items()
    ]
    sync = Client.sync

    def syncing_now(self: Any, *a: Any, **k: Any) -> Any:
        syncing[0] = True
        try:
            return sync(self, *a, **k)
        finally:
            syncing[0] = False

    undo.append((Client, "sync", sync))
    Client.sync = syncing_now  # type: ignore[method-assign]
    targets += [
        (Client, "_record", "client: record push answers"),
        (Client, "_call", "HTTP round trips (server inside)"),
    ]
    for owner, name, label in targets:
        undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, timed(label, getattr(owner, name)))
    try:
        took, *_ = one_run(dsn, ops, tmp)
    finally:
        for owner, name, f in undo:
            setattr(owner, name, f)
    spent["sync (wall)"] = took
    return spent


def main() -> None:
    """Run both parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--client-ops", type=int, default=1000)
    parser.add_argument("--dsn", default=DSN)
    parser.add_argument("--phases", action="store_true", help="time the parts of one run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="crmtui-syncbench-"))
    print(
        "ops      sync push+pull   executemany upsert   COPY+upsert   ratio (executemany)"
        "   ratio (COPY)   floor   floor/COPY   runs   (medians)"
    )
    for n in args.ops:
        results = [one_run(args.dsn, n, tmp) for _ in range(args.runs)]
        sync_s = statistics.median(r[0] for r in results)
        raw_s = statistics.median(r[1] for r in results)
        copy_s = statistics.median(r[3] for r in results)
        floor_s = statistics.median(r[4] for r in results)
        print(
            f"{results[0][2]:<8} {sync_s * 1000:>11.0f} ms {raw_s * 1000:>17.0f} ms"
            f" {copy_s * 1000:>10.0f} ms {sync_s / raw_s:>20.1f}x {sync_s / copy_s:>13.1f}x"
            f" {floor_s * 1000:>5.0f} ms {floor_s / copy_s:>9.1f}x   {args.runs}"
        )
        print("  floor: COPY of " + ", ".join(f"{t} {n:,}" for t, n in FLOOR_TABLES.items()))
    if args.phases:
        print(f"\nwhere the time goes ({args.ops[0]} ops, one run; ms)")
        for label, seconds in sorted(
            phases(args.dsn, args.ops[0], tmp).items(), key=lambda x: -x[1]
        ):
            print(f"  {label:<44} {seconds * 1000:>8.0f}")
    if args.clients:
        c = concurrent(args.dsn, args.clients, args.client_ops, tmp)
        ok = c["expected"] == c["logged"] == c["distinct"] == c["applied"]
        print(
            f"\n{args.clients} clients x ~{args.client_ops} ops: expected {c['expected']},"
            f" logged {c['logged']}, distinct {c['distinct']}, applied {c['applied']}"
            f" -> {'exactly once' if ok else 'MISMATCH'}; wall {c['wall_s']:.1f} s;"
            f" {c['batches']} batches, p50 {c['p50_ms']:.0f} ms, p95 {c['p95_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
