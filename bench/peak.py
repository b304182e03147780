"""The 5 pm peak, bounded: real laptops sync at once against a running server; exactly once?

Usage:
    scripts/rig up --dir /tmp/crmtui-rig --workers 2
    .venv/bin/python bench/peak.py --rig /tmp/crmtui-rig [--laptops 20] [--territories 4]
        [--changes 50] [--concurrency 20]
    .venv/bin/python bench/peak.py --db URL --url http://127.0.0.1:8765 ...   # any server

Each laptop is a real client: its own rep, token, SQLite store and clock (`SyncClient`
over HTTP). Laptop i works in territory i % T. Phase 1 enrols (a pull of the
territories); each laptop then creates accounts in its territory (`--changes` of them,
several ops each); phase 2 is the peak: every laptop syncs at once (asyncio, each
sync in a thread, at most `--concurrency` at a time); phase 3 syncs every laptop again
so it pulls its teammates' work. Printed: wall time, syncs and ops a second, p50/p95/p99
per sync of the peak, errors, the machine's load. Checked afterwards: every pushed op
is in the server's log exactly once (op ids are unique there; the count must equal
what the laptops pushed), nothing is pending, and every laptop of a territory holds
exactly that territory's accounts. A failed check exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import select as sql_select

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.db import make_server_engine
from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.store.database import Store, open_store
from crmtui.store.models import Account
from crmtui.sync.client import SyncClient, pending_count


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _setup(db_url: str, laptops: int, territories: int, run: str) -> tuple[list[str], list[str]]:
    """Territories and one rep with a token per laptop; (tokens, territory id per laptop)."""
    engine = make_server_engine(db_url)
    try:
        names = [f"T{run}-{k}" for k in range(territories)]
        ids = [admin.add_territory(engine, name) for name in names]
        tokens, places = [], []
        for i in range(laptops):
            rep = f"rep{run}-{i}"
            admin.add_rep(engine, rep, "rep", [names[i % territories]])
            tokens.append(admin.issue_token(engine, rep, f"{rep}-laptop").token)
            places.append(ids[i % territories])
        return tokens, places
    finally:
        engine.dispose()


def _work(store: Store, territory: str, changes: int, tag: str) -> None:
    with store.write() as tx:
        for k in range(changes):
            create_account(
                tx=tx,
                data=AccountCreate(name=f"{tag} {k}", territory_id=territory, industry="Retail"),
                region="GB",
            )


async def _sync_all(clients: list[SyncClient], concurrency: int) -> tuple[list[float], list[str]]:
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []
    errors: list[str] = []

    async def one(client: SyncClient) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(client.sync)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and printed
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            times.append(time.perf_counter() - started)

    await asyncio.gather(*(one(c) for c in clients))
    return times, errors


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one report, read top to bottom
    """Run the peak and print its figures; 1 when an op was lost or doubled."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rig", type=Path, help="a running rig's directory (scripts/rig up)")
    parser.add_argument("--db", help="the server's database URL (for enrolment and checks)")
    parser.add_argument("--url", help="the server's base URL")
    parser.add_argument("--laptops", type=int, default=20)
    parser.add_argument("--territories", type=int, default=4)
    parser.add_argument("--changes", type=int, default=50, help="accounts each laptop creates")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args(argv)
    if args.rig:
        rig = json.loads((args.rig / "rig.json").read_text())
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:{rig['primary_port']}/crm"
        base = f"http://127.0.0.1:{rig['server_port']}"
    elif args.db and args.url:
        db_url, base = args.db, args.url
    else:
        parser.error("give --rig DIR, or --db URL and --url URL")
    run = uuid.uuid4().hex[:6]
    tokens, places = _setup(db_url, args.laptops, args.territories, run)
    tmp = Path(tempfile.mkdtemp(prefix="crmtui-peak-"))
    stores = [open_store(tmp / f"laptop-{i}.db") for i in range(args.laptops)]
    https = [
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=300)
        for tok in tokens
    ]
    clients = [SyncClient(s, h) for s, h in zip(stores, https, strict=True)]
    _times, errors = asyncio.run(_sync_all(clients, args.concurrency))  # enrol: territories
    for i, store in enumerate(stores):
        _work(store, places[i], args.changes, f"L{i}")
    ops = sum(pending_count(s) for s in stores)
    load_before = os.getloadavg()
    started = time.perf_counter()
    times, peak_errors = asyncio.run(_sync_all(clients, args.concurrency))
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    _t, after_errors = asyncio.run(_sync_all(clients, args.concurrency))  # pull teammates'
    errors += peak_errors + after_errors
    # Checks: exactly once on the server, nothing pending, each territory converged.
    engine = make_server_engine(db_url)
    prefix = f"rep{run}-"
    with engine.connect() as conn:
        devices = select(t.device.c.client_id).join(t.rep).where(t.rep.c.name.like(f"{prefix}%"))
        logged = int(
            conn.execute(
                select(func.count())
                .select_from(t.change)
                .where(t.change.c.op_id.is_not(None), t.change.c.device_id.in_(devices))
            ).scalar_one()
        )
    engine.dispose()
    pending = sum(pending_count(s) for s in stores)
    wrong = 0
    for i, store in enumerate(stores):
        with store.read() as s:
            held = {a.name for a in s.exec(sql_select(Account)).all()}
        mates = [j for j in range(args.laptops) if places[j] == places[i]]
        want = {f"L{j} {k}" for j in mates for k in range(args.changes)}
        wrong += held != want
    for client in https:
        client.close()
    for store in stores:
        store.close()
    print(
        f"machine: {os.cpu_count()} CPUs, load {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(
        f"peak: {args.laptops} laptops x {args.changes} accounts ({ops} ops),"
        f" {args.territories} territories, concurrency {args.concurrency}"
    )
    if times:
        print(
            f"  wall {wall:.2f} s; {len(times) / wall:.1f} syncs/s; {ops / wall:.0f} ops/s;"
            f" per sync p50 {_quantile(times, 0.5):.2f} s, p95 {_quantile(times, 0.95):.2f} s,"
            f" p99 {_quantile(times, 0.99):.2f} s, mean {statistics.mean(times):.2f} s"
        )
    print(f"  errors {len(errors)}" + (f": {errors[:3]}" if errors else ""))
    print(
        f"  server log ops {logged} (pushed {ops}); pending after {pending}; laptops not converged {wrong}"
    )
    ok = not errors and logged == ops and pending == 0 and wrong == 0
    print("  exactly once and converged" if ok else "  CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
