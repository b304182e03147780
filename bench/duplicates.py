"""Duplicate scan benchmark: how long the scan takes, and what it does to the app meanwhile.

    python bench/duplicates.py --db /tmp/demo100k.db [--switches 10]

(make the database with `crm demo --db /tmp/demo100k.db --contacts 100000`.)

1. The scan as the Duplicates section runs it (`quality.dedupe_job.scan_in_child`:
   a child process reading the file and running `quality.dedupe.scan`), end to end.
2. Section switches (F3 Pipeline <-> F1 Contacts, key to the next idle frame) in the
   app, headless: idle (the same-run baseline), while the scan runs in a *thread*
   of the app (the design not taken: it shares the GIL), and while it runs in the
   child process (what the screen does). Medians and the ratio to idle; a
   busy run counts only the switches made while its scan was still running.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import threading
import time
from pathlib import Path

from crmtui.app import make_app
from crmtui.quality.dedupe import load_people, scan
from crmtui.quality.dedupe_job import scan_in_child


def scan_seconds(db: Path) -> tuple[float, int, int]:
    """(seconds, contacts, pairs) of one scan in a child process."""
    counted: list[int] = []
    started = time.perf_counter()
    found = scan_in_child(db, threshold=70, on_contacts=counted.append, cancelled=lambda: False)
    assert found is not None
    return time.perf_counter() - started, counted[0], len(found)


async def switches(db: Path, count: int) -> dict[str, list[float]]:
    """Switch times in ms: idle, during a scan in a thread, during a scan in a child."""
    app = make_app(db_path=db)
    times: dict[str, list[float]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        while app.db is None:
            await pilot.pause(0.05)
        for key in ("f3", "f1"):  # build both screens before timing
            await pilot.press(key)
            await pilot.pause(2.0)

        async def run(label: str, busy: threading.Thread | None) -> None:
            if busy is not None:
                busy.start()
                await pilot.pause(3.0)  # past the reading, into the comparing
            found: list[float] = []
            for _ in range(count):
                for key in ("f3", "f1"):
                    if busy is not None and not busy.is_alive():
                        break  # only switches made while the scan ran count
                    started = time.perf_counter()
                    await pilot.press(key)
                    await pilot.pause()
                    found.append((time.perf_counter() - started) * 1000)
            assert len(found) >= 4, f"{label}: the scan ended too soon, use a bigger --db"
            times[label] = found
            if busy is not None:
                busy.join()

        def in_thread() -> None:
            scan(load_people(sqlite3.connect(db)))

        def in_child() -> None:
            scan_in_child(db, threshold=70, on_contacts=lambda _n: None, cancelled=lambda: False)

        await run("idle (baseline)", None)
        await run("scan in a thread", threading.Thread(target=in_thread))
        await run("scan in a child process", threading.Thread(target=in_child))
    return times


def main() -> None:
    """Print the scan time and the table of switch medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--switches", type=int, default=10)
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    seconds, contacts, pairs = scan_seconds(args.db)
    print(f"scan in a child process: {contacts:,} contacts, {pairs:,} pairs, {seconds:.1f} s")
    times = asyncio.run(switches(args.db, args.switches))
    base = statistics.median(times["idle (baseline)"])
    print(f"{'section switch, F3<->F1':<28}{'n':>4}{'median ms':>10}{'max ms':>9}{'x idle':>8}")
    for label, found in times.items():
        median = statistics.median(found)
        print(f"{label:<28}{len(found):>4}{median:>10.0f}{max(found):>9.0f}{median / base:>8.1f}")


if __name__ == "__main__":
    main()
