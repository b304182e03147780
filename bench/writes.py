"""Write benchmark: one write through the services, fsync included, on 100k contacts.

    python bench/writes.py [--size 100000] [--runs 200]

Times, in-process, each unit of work from `Store.write()` to its commit
(journal mode WAL, synchronous=FULL, so every commit waits for an fsync):
log a call with a follow-up reminder, complete a reminder, edit a contact; and each
again as the app and `crm` write it, undoable (`services.upkeep.undo.record`: the rows it
touches noted, and an undo record stored in the same transaction), plain and undoable
alternating on their own contacts and reminders so both meet the same load.
The baseline in the same run is a raw sqlite3 INSERT + COMMIT of one row
with the same pragmas on the same file. Target (TARGETS.md): p95 <= 10 ms.

The demo database comes from bench/search.py's cache (seeded once); each run
works on a fresh copy of it so the cached file stays as seeded. The CPU column is this
process's CPU time per write (the fsync's wait is not in it): on a loaded machine it is
the figure that compares two versions, where the p95 mostly measures the disk's queue.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from search import CACHE, ensure_database

from crmtui.services.address_book.contacts import ContactUpdate, update_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.ticklers import TicklerCreate, complete_tickler
from crmtui.services.upkeep.undo import record
from crmtui.store.database import open_store
from crmtui.store.engine import PRAGMAS
from crmtui.store.journal import WriteTx

BERLIN_CAP = CallCap(10**6, 30)  # timing the consent check, not tripping over it


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _copy(source: Path, target: Path) -> None:
    for stale in target.parent.glob(target.name + "*"):
        stale.unlink()
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    src.backup(dst)  # consistent even with the source's WAL beside it
    src.close()
    dst.close()


def _time(runs: int, one: Callable[[int], None]) -> list[float]:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        one(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


OPEN_TICKLERS = "SELECT id FROM tickler WHERE status = 'open' AND deleted_at IS NULL ORDER BY id"


def _read(path: Path, query: str, count: int) -> list[str]:
    """The first `count` ids a query gives."""
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute(f"{query} LIMIT ?", (count,))]
    finally:
        db.close()


def _print_table(
    rows: list[tuple[str, list[float]]], cpu: dict[str, list[float]], size: int, runs: int
) -> None:
    base_p95 = _percentile(rows[-1][1], 0.95)
    print(f"| write ({size:,} contacts, {runs} runs each) | p50 ms | p95 ms | "
          "p95 / baseline p95 | CPU ms (mean) | target p95 |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for name, samples in rows:
        p50, p95 = statistics.median(samples), _percentile(samples, 0.95)
        ratio = f"{p95 / base_p95:.1f}x" if not name.startswith("baseline") else "1.0x"
        target = "<= 10 ms" if not name.startswith("baseline") else ""
        used = f"{statistics.mean(cpu[name]):.2f}" if name in cpu else ""
        print(f"| {name} | {p50:.2f} | {p95:.2f} | {ratio} | {used} | {target} |")
    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")  # fmt: skip


def _interleaved(
    runs: int,
    actions: tuple[tuple[str, Callable[[int, bool], None]], ...],
    rows: list[tuple[str, list[float]]],
) -> dict[str, list[float]]:
    """Time each action plain and undoable, alternating; adds the rows, returns CPU ms."""
    cpu: dict[str, list[float]] = {}
    for name, one in actions:
        plain: list[float] = []
        undoable: list[float] = []
        for i in range(2 * runs):  # interleaved, so both meet the same load
            label = f"{name}, undoable" if i % 2 else name
            started, cpu_started = time.perf_counter(), time.process_time()
            one(i, i % 2 == 1)
            (undoable if i % 2 else plain).append((time.perf_counter() - started) * 1000)
            cpu.setdefault(label, []).append((time.process_time() - cpu_started) * 1000)
        rows += [(name, plain), (f"{name}, undoable", undoable)]
    return cpu


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    source = ensure_database(args.size)
    path = CACHE / f"writes-{args.size}.db"
    _copy(source, path)
    # Each write alternates plain and undoable, on its own contact or reminder.
    ids = _read(
        path, "SELECT id FROM contact WHERE deleted_at IS NULL AND NOT do_not_call", 2 * args.runs
    )
    ticklers = _read(path, OPEN_TICKLERS, 2 * args.runs)
    if len(ids) < 2 * args.runs or len(ticklers) < 2 * args.runs:
        sys.exit("the demo database has too few contacts or open reminders for --runs")

    store = open_store(path)
    due = datetime.now(UTC) + timedelta(days=2)

    def run(action: Callable[[WriteTx], object], undoable: bool) -> None:
        with store.write() as tx:
            if undoable:
                record(tx, "bench", action)
            else:
                action(tx)

    def log_call(i: int, undoable: bool) -> None:
        run(
            lambda tx: log_activity(
                tx=tx,
                data=ActivityCreate(kind="call", contact_id=ids[i], outcome="connected", text="hi"),
                cap=BERLIN_CAP,
                follow_up=TicklerCreate(text="call back", due_at=due),
            ),
            undoable,
        )

    def complete(i: int, undoable: bool) -> None:
        run(lambda tx: complete_tickler(tx=tx, tickler_id=ticklers[i], tz=UTC), undoable)

    def edit(i: int, undoable: bool) -> None:
        data = ContactUpdate(notes=f"benchmark edit {i}")
        run(lambda tx: update_contact(tx=tx, contact_id=ids[i], data=data, region="DE"), undoable)

    baseline_db = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        baseline_db.execute(pragma)
    baseline_db.execute("CREATE TABLE IF NOT EXISTS bench_write (id INTEGER PRIMARY KEY, v TEXT)")

    def baseline(i: int) -> None:
        baseline_db.execute("BEGIN IMMEDIATE")
        baseline_db.execute("INSERT INTO bench_write (v) VALUES (?)", (f"row {i}",))
        baseline_db.execute("COMMIT")

    baseline(0)  # first-use costs (table pages, statement cache) out of the figures
    rows = []
    base = _time(args.runs, baseline)
    actions = (
        ("log a call + follow-up", log_call),
        ("complete a reminder", complete),
        ("edit a contact", edit),
    )
    cpu = _interleaved(args.runs, actions, rows)
    rows.append(("baseline: raw INSERT + COMMIT", base))
    _print_table(rows, cpu, args.size, args.runs)
    store.close()
    baseline_db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
