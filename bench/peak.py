"""The 5 pm peak: real laptops push their day and pull within a window; exactly once?

Usage:
    scripts/rig up --dir /tmp/crmtui-rig --workers 2
    .venv/bin/python bench/peak.py --rig /tmp/crmtui-rig --laptops 1000 --territories 50 \\
        --changes 33 --window 600            # the issue's peak: arrivals over 10 minutes
    .venv/bin/python bench/peak.py --rig DIR --laptops 200 --window 0   # all at once
    .venv/bin/python bench/peak.py --db URL --url http://127.0.0.1:8765 ...   # any server

Each laptop is a real client: its own rep, token, SQLite store and clock (`SyncClient`
over HTTP, a fresh connection per sync). Laptop i works in territory i % T; `--managers`
more laptops belong to managers reading two neighbouring territories (k, k+1).

Set-up (timed step by step): territories, then every rep and every token in one
transaction each (`admin.add_reps`, `admin.issue_tokens`); one store migrated once and
its file copied per laptop (the migrations are deterministic: the copy is the file
`open_store` would make; the device id is drawn by each laptop's first write); the
first pull of every laptop (territories and reps); each rep's day, `--changes` accounts
in its territory, written in one transaction per laptop.

The peak: each laptop starts its sync (push its day, pull what its territories have
so far) at a uniformly random moment of `--window` seconds (0: all at the same
moment), at most `--concurrency` syncing at once (0: no limit). Managers arrive in the
second half of the window: they sync, move `--moves` of the accounts they now hold from
their first territory to their second, and sync again, while reps are still pushing.
Afterwards every laptop syncs once more to pull what came after its own sync.

Printed: the set-up's steps; wall time, syncs and ops a second, p50/p95/p99 per sync
(from the moment the laptop starts; `--concurrency` waits included), how many synced at
once on average, errors; the machine's load (before, highest, after) and the CPU the
laptops themselves used. Checked: every pushed op is in the server's log exactly once
(op ids are unique there; the count must equal what the laptops pushed), none was
rejected, nothing is pending, and every laptop holds exactly the accounts whose
territory (after the moves) is one of its own. A failed check exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import select as sql_select

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.db import make_server_engine
from crmtui.services.address_book.accounts import (
    AccountCreate,
    AccountUpdate,
    create_account,
    update_account,
)
from crmtui.store.database import Store, open_store
from crmtui.store.models import Account
from crmtui.sync.client import SyncClient, SyncReport, pending_count

SETUP_CONCURRENCY = 8
"""Laptops syncing at once outside the peak (the first pull, the catch-up)."""
CATCH_UP_PROCESSES = 4
"""Processes syncing the laptops once more after the peak, one laptop at a time each."""
WORK_PROCESSES = 2
"""Processes writing the laptops' days during the set-up (the machine has two cores)."""


@dataclass
class Laptop:
    """One simulated laptop: its rep, token, store and the territories it reads."""

    rep: str
    token: str
    store: Store
    places: list[str]
    manager: bool = False
    pushed: int = 0
    rejected: int = 0
    moved: dict[str, str] = field(default_factory=dict)
    """Accounts this (manager's) laptop moved: name -> the territory id it moved to."""


@dataclass
class Peak:
    """What the peak measured."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    busy: float = 0.0
    loads: list[float] = field(default_factory=list)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _sync(base: str, laptop: Laptop) -> SyncReport:
    """One sync of `laptop` over a connection of its own; its pushed ops are counted."""
    before = pending_count(laptop.store)
    try:
        # No kept-alive connections: under load a laptop can take longer between two
        # requests than the server keeps an idle connection open, and a request sent on
        # a connection the server has just closed is reset (counted as an error).
        with httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {laptop.token}"},
            timeout=600,
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as http:
            report = SyncClient(laptop.store, http).sync()
        laptop.rejected += report.rejected
        return report
    finally:
        # What left the pending list was answered by the server, failed sync or not.
        laptop.pushed += before - pending_count(laptop.store)
        # Connections are opened per sync: a thousand idle stores hold no files.
        laptop.store.engine.dispose()


def _catch_up(base: str, rep: str, token: str, path: Path) -> tuple[int, int, str | None]:
    """A catch-up sync in a process of a pool: (ops pushed, rejected, the error if any)."""
    laptop = Laptop(rep, token, open_store(path, migrate=False), [])
    try:
        _sync(base, laptop)
    except Exception as exc:  # noqa: BLE001 - every failure is counted and printed
        return laptop.pushed, laptop.rejected, f"{rep}: {type(exc).__name__}: {exc}"
    finally:
        laptop.store.close()
    return laptop.pushed, laptop.rejected, None


def _work(store: Store, territory: str, changes: int, tag: str) -> None:
    """A rep's day: `changes` new accounts in its territory, one local transaction."""
    with store.write() as tx:
        for k in range(changes):
            create_account(
                tx=tx,
                data=AccountCreate(name=f"{tag} {k}", territory_id=territory, industry="Retail"),
                region="GB",
            )
    store.engine.dispose()


def _work_at(path: Path, territory: str, changes: int, tag: str) -> None:
    """`_work` on the store at `path`, in a process of the set-up's pool."""
    store = open_store(path, migrate=False)
    try:
        _work(store, territory, changes, tag)
    finally:
        store.close()


def _move(laptop: Laptop, moves: int) -> None:
    """A manager moves up to `moves` accounts it holds from its first territory to its second."""
    source, target = laptop.places
    with laptop.store.write() as tx:
        held = tx.session.exec(
            sql_select(Account)
            .where(Account.territory_id == source, Account.deleted_at.is_(None))  # type: ignore[union-attr]
            .order_by(Account.name)
            .limit(moves)
        ).all()
        for account in held:
            update_account(
                tx=tx, account_id=account.id, data=AccountUpdate(territory_id=target), region="GB"
            )
            laptop.moved[account.name] = target
    laptop.store.engine.dispose()


def _image(store: Store, image: Path) -> Path:
    """A copy of `store` for another laptop: its device id (and nothing else) taken out.

    A laptop draws its device id at its first write; a first pull writes nothing of
    its own (checked: no journal row carries the id), so without the id the copy is the
    store another laptop's first pull would have made, up to the same cursor.
    """
    source = sqlite3.connect(store.path)
    target = sqlite3.connect(image)
    try:
        source.backup(target)
        mine = target.execute("SELECT value FROM local_meta WHERE key = 'device_id'").fetchone()
        if mine is not None:
            own = target.execute(
                "SELECT count(*) FROM journal WHERE device_id = ?", mine
            ).fetchone()
            if own[0]:
                raise RuntimeError(f"the first pull wrote {own[0]} journal rows of its own")
        target.execute("DELETE FROM local_meta WHERE key = 'device_id'")
        target.commit()
    finally:
        source.close()
        target.close()
    store.engine.dispose()
    return image


def _setup(
    db_url: str, laptops: int, territories: int, managers: int, run: str
) -> tuple[list[tuple[str, str, list[str], bool]], dict[str, float]]:
    """Territories, reps and tokens; (rep, token, territory ids, manager?) per laptop, timings."""
    timings: dict[str, float] = {}
    engine = make_server_engine(db_url)
    try:
        started = time.perf_counter()
        names = [f"T{run}-{k}" for k in range(territories)]
        ids = [admin.add_territory(engine, name) for name in names]
        timings["territories"] = time.perf_counter() - started
        wanted: list[tuple[str, str, list[str]]] = [
            (f"rep{run}-{i}", "rep", [names[i % territories]]) for i in range(laptops)
        ]
        wanted += [
            (f"mgr{run}-{k}", "manager", [names[k % territories], names[(k + 1) % territories]])
            for k in range(managers)
        ]
        started = time.perf_counter()
        admin.add_reps(engine, wanted)
        timings["reps"] = time.perf_counter() - started
        started = time.perf_counter()
        issued = admin.issue_tokens(engine, [(w[0], f"{w[0]}-laptop") for w in wanted])
        timings["tokens"] = time.perf_counter() - started
    finally:
        engine.dispose()
    by_name = dict(zip(names, ids, strict=True))
    people = [
        (w[0], got.token, [by_name[n] for n in w[2]], w[1] == "manager")
        for w, got in zip(wanted, issued, strict=True)
    ]
    return people, timings


async def _run_all(
    base: str,
    laptops: list[Laptop],
    starts: list[float],
    concurrency: int,
    moves: int = 0,
) -> Peak:
    """Start laptop i's sync `starts[i]` seconds from now; per-sync times from that moment."""
    peak = Peak()
    limit = concurrency or len(laptops)
    gate = asyncio.Semaphore(limit)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=min(limit, len(laptops)) or 1)
    origin = time.perf_counter()
    lock = threading.Lock()

    def act(laptop: Laptop, arrived: float) -> None:
        _sync(base, laptop)
        if laptop.manager and moves:
            _move(laptop, moves)
            _sync(base, laptop)
        with lock:
            peak.times.append(time.perf_counter() - arrived)

    async def one(laptop: Laptop, start: float) -> None:
        await asyncio.sleep(max(0.0, origin + start - time.perf_counter()))
        arrived = time.perf_counter()
        async with gate:
            began = time.perf_counter()
            try:
                await loop.run_in_executor(pool, act, laptop, arrived)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and printed
                peak.errors.append(f"{laptop.rep}: {type(exc).__name__}: {exc}")
            peak.busy += time.perf_counter() - began

    async def sample_load() -> None:
        while True:
            peak.loads.append(os.getloadavg()[0])
            await asyncio.sleep(5)

    sampler = asyncio.create_task(sample_load())
    try:
        await asyncio.gather(*(one(lt, s) for lt, s in zip(laptops, starts, strict=True)))
    finally:
        sampler.cancel()
        pool.shutdown()
    return peak


def _server_logged(db_url: str, prefix: str) -> int:
    """Ops of this run's devices in the server's log (each op id is logged once there)."""
    engine = make_server_engine(db_url)
    try:
        with engine.connect() as conn:
            devices = (
                select(t.device.c.client_id).join(t.rep).where(t.rep.c.name.like(f"{prefix}%"))
            )
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(t.change)
                    .where(t.change.c.op_id.is_not(None), t.change.c.device_id.in_(devices))
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _not_converged(laptops: list[Laptop], changes: int) -> int:
    """Laptops not holding exactly the accounts of their territories (moves applied)."""
    where: dict[str, str] = {}
    for laptop in laptops:
        if not laptop.manager:
            for k in range(changes):
                where[f"{laptop.rep} {k}"] = laptop.places[0]
    for laptop in laptops:
        where.update(laptop.moved)
    wrong = 0
    for laptop in laptops:
        with laptop.store.read() as s:
            held = {a.name for a in s.exec(sql_select(Account)).all()}
        laptop.store.engine.dispose()
        wrong += held != {name for name, place in where.items() if place in laptop.places}
    return wrong


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the peak and print its figures; 1 when an op was lost or doubled or a laptop differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rig", type=Path, help="a running rig's directory (scripts/rig up)")
    parser.add_argument("--db", help="the server's database URL (for enrolment and checks)")
    parser.add_argument("--url", help="the server's base URL")
    parser.add_argument("--laptops", type=_positive, default=20, help="reps' laptops")
    parser.add_argument("--territories", type=_positive, default=4)
    parser.add_argument(
        "--changes", type=_positive, default=33, help="accounts each rep creates (~6 ops each)"
    )
    parser.add_argument(
        "--managers", type=_positive, default=2, help="managers' laptops (two territories each)"
    )
    parser.add_argument("--moves", type=_positive, default=5, help="accounts each manager moves")
    parser.add_argument(
        "--window", type=float, default=0.0, help="seconds the arrivals spread over (0: at once)"
    )
    parser.add_argument(
        "--concurrency", type=_positive, default=0, help="most syncing at once (0: no limit)"
    )
    parser.add_argument(
        "--first-pull",
        choices=["image", "each"],
        default="image",
        help="image: one laptop pulls the directory, the others start from a copy of its"
        " store; each: every laptop pulls it itself (slow: reps x laptops)",
    )
    parser.add_argument("--seed", type=int, default=5, help="the arrival times' random seed")
    args = parser.parse_args(argv)
    if args.rig:
        try:
            rig = json.loads((args.rig / "rig.json").read_text())
        except FileNotFoundError:
            parser.error(f"no rig in {args.rig} (no rig.json): scripts/rig up --dir {args.rig}")
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:{rig['primary_port']}/crm"
        base = f"http://127.0.0.1:{rig['server_port']}"
    elif args.db and args.url:
        db_url, base = args.db, args.url
    else:
        parser.error("give --rig DIR, or --db URL and --url URL")
    if args.territories < 1 or args.laptops < 1:
        parser.error("--laptops and --territories must be at least 1")
    if args.window < 0:
        parser.error("--window must be 0 or more seconds")
    run = uuid.uuid4().hex[:6]
    tmp = Path(tempfile.mkdtemp(prefix="crmtui-peak-"))
    try:
        return _bench(args, db_url, base, run, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(args: argparse.Namespace, db_url: str, base: str, run: str, tmp: Path) -> int:  # noqa: PLR0915
    load_start = os.getloadavg()
    started = time.perf_counter()
    people, timings = _setup(db_url, args.laptops, args.territories, args.managers, run)
    step = time.perf_counter()
    template = tmp / "template.db"
    open_store(template).close()
    paths = [tmp / f"laptop-{i}.db" for i in range(len(people))]
    for path in paths:
        shutil.copyfile(template, path)
    laptops = [
        Laptop(rep, token, open_store(path), places, manager)
        for path, (rep, token, places, manager) in zip(paths, people, strict=True)
    ]
    timings["stores"] = time.perf_counter() - step
    step = time.perf_counter()
    # image: the first laptop pulls the directory (territories, reps); the others start
    # from an image of its store with its device id taken out.
    pulling = laptops if args.first_pull == "each" else laptops[:1]
    first = asyncio.run(_run_all(base, pulling, [0.0] * len(pulling), SETUP_CONCURRENCY))
    if args.first_pull == "image":
        image = _image(laptops[0].store, tmp / "image.db")
        for laptop in laptops[1:]:
            laptop.store.engine.dispose()
            for old in laptop.store.path.parent.glob(laptop.store.path.name + "-*"):
                old.unlink()  # a -wal or -shm file of the empty store
            shutil.copyfile(image, laptop.store.path)
    timings[f"first pull ({args.first_pull})"] = time.perf_counter() - step
    step = time.perf_counter()
    reps = [lt for lt in laptops if not lt.manager]
    for laptop in reps:
        laptop.store.engine.dispose()
    # Each laptop's day is its own transaction in its own file: two processes write them.
    with ProcessPoolExecutor(
        WORK_PROCESSES, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        list(
            pool.map(
                _work_at,
                [lt.store.path for lt in reps],
                [lt.places[0] for lt in reps],
                [args.changes] * len(reps),
                [lt.rep for lt in reps],
                chunksize=25,
            )
        )
    timings["day's work"] = time.perf_counter() - step
    setup = time.perf_counter() - started
    ops = sum(pending_count(lt.store) for lt in laptops)
    for laptop in laptops:
        laptop.store.engine.dispose()

    rng = random.Random(args.seed)
    starts = [rng.uniform(args.window / 2 if lt.manager else 0.0, args.window) for lt in laptops]
    load_before = os.getloadavg()
    cpu = time.process_time()
    started = time.perf_counter()
    peak = asyncio.run(_run_all(base, laptops, starts, args.concurrency, args.moves))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    load_after = os.getloadavg()
    step = time.perf_counter()
    # The catch-up is mostly the laptops applying what they pull: a pool of processes
    # does it, so one interpreter's lock does not make it the slowest step.
    with ProcessPoolExecutor(
        CATCH_UP_PROCESSES, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        caught = list(
            pool.map(
                _catch_up,
                [base] * len(laptops),
                [lt.rep for lt in laptops],
                [lt.token for lt in laptops],
                [lt.store.path for lt in laptops],
                chunksize=10,
            )
        )
    for laptop, (pushed_now, rejected_now, _error) in zip(laptops, caught, strict=True):
        laptop.pushed += pushed_now
        laptop.rejected += rejected_now
    catch_up = time.perf_counter() - step
    errors = first.errors + peak.errors + [e for _p, _r, e in caught if e]

    pushed = sum(lt.pushed for lt in laptops)
    rejected = sum(lt.rejected for lt in laptops)
    moved = sum(len(lt.moved) for lt in laptops)
    logged = _server_logged(db_url, f"%{run}-")
    pending = sum(pending_count(lt.store) for lt in laptops)
    wrong = _not_converged(laptops, args.changes)
    for laptop in laptops:
        laptop.store.close()

    print(f"machine: {os.cpu_count()} CPUs, load average {load_start[0]:.2f} at the start")
    print(
        f"set-up {setup:.1f} s: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    )
    print(
        f"peak: {args.laptops} laptops x {args.changes} accounts ({ops} ops) + {args.managers}"
        f" managers moving {moved} accounts, {args.territories} territories,"
        f" window {args.window:.0f} s, concurrency {args.concurrency or 'unlimited'}"
    )
    if peak.times:
        times = peak.times
        print(
            f"  wall {wall:.1f} s; {len(times) / wall:.1f} syncs/s; {pushed / wall:.0f} ops/s;"
            f" per sync p50 {_quantile(times, 0.5):.2f} s, p95 {_quantile(times, 0.95):.2f} s,"
            f" p99 {_quantile(times, 0.99):.2f} s, max {max(times):.2f} s,"
            f" mean {statistics.mean(times):.2f} s; {peak.busy / wall:.1f} syncing at once"
            " on average"
        )
    print(
        f"  load average {load_before[0]:.2f} before, {max(peak.loads, default=0):.2f} highest,"
        f" {load_after[0]:.2f} after; the laptops' own CPU {cpu:.0f} s ({cpu / wall:.0%} of a core)"
    )
    print(f"  catch-up: every laptop synced again in {catch_up:.1f} s")
    print(f"  errors {len(errors)}" + (f": {errors[:3]}" if errors else ""))
    print(
        f"  server log ops {logged} (pushed {pushed}: {ops} + {pushed - ops} moves); rejected"
        f" {rejected}; pending after {pending}; laptops not converged {wrong}"
    )
    exact = logged == pushed and not rejected and pending == 0 and wrong == 0
    print("  exactly once and converged" if exact else "  CHECK FAILED: lost, doubled or diverged")
    ok = exact and not errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
