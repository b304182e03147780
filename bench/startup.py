"""Cold start of the app to a usable Contacts screen, and its peak memory.

For each database size, runs interleaved child processes, headless:
- baseline: a minimal Textual app that exits after its first paint;
- crm: `make_app(db_path=...)` that exits once the Contacts list shows rows and
  has been painted.
Wall time is measured by the parent from spawn to exit (interpreter start-up and
imports included, as a user would feel it); peak RSS comes from wait4's rusage.

    python bench/startup.py --sizes 1000,1000000 --runs 7

Targets (TARGETS.md): crm <= 1.5x the minimal app; 1M / 1k <= 1.2 for time and
<= 1.3 for peak RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import ensure_database  # the shared cache of demo databases

MINIMAL = """
from textual.app import App
from textual.widgets import Label

class Minimal(App):
    def compose(self):
        yield Label("ready")

async def first_paint(pilot):
    # The same harness as the crm child below, so both pay for the pilot alike.
    await pilot.pause()
    pilot.app.exit()

Minimal().run(headless=True, size=(120, 40), auto_pilot=first_paint)
"""

CRM = """
import sys
from pathlib import Path
from crmtui.app import make_app

app = make_app(db_path=Path(sys.argv[1]))

async def until_usable(pilot):
    while True:
        await pilot.pause(0.002)
        try:
            table = app.screen.query_one("#results")
        except Exception:  # the Contacts screen is not mounted yet
            continue
        if table.row_count:
            await pilot.pause()  # let the rows paint
            app.exit()
            return

app.run(headless=True, size=(120, 40), auto_pilot=until_usable)
"""


def run_child(code: str, *args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"child failed ({status}): {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    """Print the start-up table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    paths = {size: ensure_database(size) for size in sizes}
    base_wall: list[float] = []
    base_rss: list[float] = []
    crm: dict[int, tuple[list[float], list[float]]] = {s: ([], []) for s in sizes}
    run_child(MINIMAL)  # warm the OS file cache for both
    for size in sizes:
        run_child(CRM, str(paths[size]))
    for _ in range(args.runs):
        wall, rss = run_child(MINIMAL)
        base_wall.append(wall)
        base_rss.append(rss)
        for size in sizes:
            wall, rss = run_child(CRM, str(paths[size]))
            crm[size][0].append(wall)
            crm[size][1].append(rss)
    base_ms = statistics.median(base_wall) * 1000
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"cores: {os.cpu_count()}; runs: {args.runs}; command: python bench/startup.py "
        f"--sizes {args.sizes} --runs {args.runs}"
    )
    print()
    print("| start-up to a usable screen | median ms | vs minimal app | peak RSS MiB |")
    print("|---|---|---|---|")
    print(
        f"| minimal Textual app (baseline) | {base_ms:.0f} | 1.00x | "
        f"{statistics.median(base_rss):.0f} |"
    )
    first = sizes[0]
    for size in sizes:
        ms = statistics.median(crm[size][0]) * 1000
        rss = statistics.median(crm[size][1])
        print(f"| crm, {size:,} contacts | {ms:.0f} | {ms / base_ms:.2f}x | {rss:.0f} |")
    if len(sizes) > 1:
        last = sizes[-1]
        t = statistics.median(crm[last][0]) / statistics.median(crm[first][0])
        m = statistics.median(crm[last][1]) / statistics.median(crm[first][1])
        print()
        print(
            f"{last:,} / {first:,} contacts: time {t:.2f}x (target <= 1.2), "
            f"peak RSS {m:.2f}x (target <= 1.3)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
