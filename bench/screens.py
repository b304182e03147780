"""Screen-switch benchmark: key to paint for the Pipeline and Territories screens, and a board move.

    python bench/screens.py [--size 1000000] [--runs 7]

Runs the app headless with Textual's pilot on a copy of the cached demo database
(bench/search.py seeds it once; the copy is upgraded to the current schema and
takes the board moves, so the cache stays as seeded). For each key it records
two moments: the screen painted (the key handled and one refresh done, loading
state included) and the data painted (the worker's result on screen, then one
refresh). Baseline in the same run: switching back to the Contacts screen, which
is already loaded. Target (TARGETS.md): screen switch p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from search import CACHE, ensure_database
from textual import events
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from crmtui.app import make_app
from crmtui.screens.pipeline import PipelineScreen
from crmtui.screens.territory import TerritoryScreen
from crmtui.store.schema_version import SCHEMA_HEAD


def _bench_copy(size: int) -> Path:
    """A copy of the cached demo database at the current schema, made once."""
    target = CACHE / f"screens-{size}.db"
    if target.exists():
        with sqlite3.connect(target) as db:
            if db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD:
                return target
    source = ensure_database(size)
    for stale in CACHE.glob(target.name + "*"):
        stale.unlink()
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)  # consistent even with the source's WAL beside it
    src.close()
    dst.close()
    from crmtui.store.database import open_store

    open_store(target).close()  # migrate the copy
    for backup in CACHE.glob(target.name + ".bak-*"):
        backup.unlink()
    return target


class _Trivial(App[None]):
    """Two screens holding one line of text each: the floor of a mode switch."""

    MODES = {"one": lambda: _TrivialScreen("one"), "two": lambda: _TrivialScreen("two")}
    BINDINGS = [("f1", "switch_mode('one')"), ("f2", "switch_mode('two')")]

    def on_mount(self) -> None:
        """Start on the first screen."""
        self.switch_mode("one")


class _TrivialScreen(Screen[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.text)
        yield Footer()


def _in_mode(app: App[None], mode: str) -> bool:
    """The app shows the mode."""
    return app.current_mode == mode


async def _trivial(runs: int) -> list[float]:
    app = _Trivial()
    samples = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(runs):
            for key, mode in (("f2", "two"), ("f1", "one")):
                started = time.perf_counter()
                _send(app, key)
                await _until(pilot, partial(_in_mode, app, mode))
                await pilot.pause(0)
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _send(app: App[None], key: str) -> None:
    """Press a key the way a terminal does. Pilot's `press` also waits for the whole
    process to go idle (worker threads included), which would time the workers too."""
    driver = app._driver
    assert driver is not None
    event = events.Key(key, None)
    event.set_sender(app)
    driver.send_message(event)


async def _until(pilot: object, ready: Callable[[], bool], limit_s: float = 1800) -> None:
    started = time.perf_counter()
    while not ready():
        await pilot.pause(0.001)  # type: ignore[attr-defined]
        if time.perf_counter() - started > limit_s:
            raise TimeoutError("the screen did not load")


def _moved(screen: PipelineScreen, lane: int, card_id: str) -> bool:
    """The card is highlighted in another lane than before."""
    card = screen.board.highlighted
    return screen.board.lane_index != lane and card is not None and card.id == card_id


def _board_loaded(screen: PipelineScreen) -> bool:
    """The board on screen is the latest one read."""
    return not screen.loading_board


async def _measure(path: Path, runs: int) -> dict[str, list[float]]:
    app = make_app(db_path=path, show_timings=False)
    out: dict[str, list[float]] = {}

    def add(name: str, started: float) -> None:
        out.setdefault(name, []).append((time.perf_counter() - started) * 1000)

    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.db is not None and app.screen.id != "_default")
        await pilot.pause()
        await app.workers.wait_for_complete()

        async def key(
            name: str, k: str, shown: Callable[[], bool], loaded: Callable[[], bool]
        ) -> None:
            started = time.perf_counter()
            _send(app, k)
            await _until(pilot, shown)
            await pilot.pause(0)  # the screen's pending updates done: painted
            add(f"{name}: screen painted", started)
            await _until(pilot, loaded)
            await pilot.pause(0)
            add(f"{name}: data painted", started)

        def pipeline() -> PipelineScreen | None:
            return app.screen if isinstance(app.screen, PipelineScreen) else None

        def territory() -> TerritoryScreen | None:
            return app.screen if isinstance(app.screen, TerritoryScreen) else None

        for _ in range(runs):
            await key(
                "baseline F1 Contacts", "f1", lambda: app.current_mode == "contacts", lambda: True
            )
            await key(
                "F3 Pipeline",
                "f3",
                lambda: pipeline() is not None,
                lambda: (
                    (p := pipeline()) is not None and p.window is not None and not p.loading_board
                ),
            )
            p = pipeline()
            assert p is not None
            for move in ("right_square_bracket", "left_square_bracket"):
                card = p.board.highlighted
                assert card is not None
                lane = p.board.lane_index
                started = time.perf_counter()
                _send(app, move)
                await _until(pilot, partial(_moved, p, lane, card.id))
                await pilot.pause(0)
                add("board move ] / [: committed, card painted in its new column", started)
                await _until(pilot, partial(_board_loaded, p))
                await pilot.pause(0)
                add("board move ] / [: column totals repainted from SQL", started)
            await key(
                "baseline F1 Contacts", "f1", lambda: app.current_mode == "contacts", lambda: True
            )
            await key(
                "F4 Territories",
                "f4",
                lambda: territory() is not None,
                lambda: (
                    (t := territory()) is not None
                    and t.report is not None
                    and not t.loading_summary
                ),
            )
    return out


def main() -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path = _bench_copy(args.size)
    with sqlite3.connect(path) as db:
        deals = db.execute("SELECT count(*) FROM deal").fetchone()[0]
    samples = {
        "baseline: trivial app, switch between two one-line screens": asyncio.run(
            _trivial(args.runs * 2)
        )
    }
    samples.update(asyncio.run(_measure(path, args.runs)))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"date: {stamp}; machine: {platform.machine()}, 2 cores, Python {platform.python_version()};"
        f" command: python bench/screens.py --size {args.size} --runs {args.runs}"
    )
    print(f"\n{args.size:,} contacts, {deals:,} deals\n")
    floor = samples["baseline: trivial app, switch between two one-line screens"]
    floor_median = statistics.median(floor)
    print(
        "| key → paint | median ms | p95 ms | max ms | runs | median / trivial switch"
        " | target p95 <= 50 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, values in samples.items():
        p95 = _percentile(values, 0.95)
        verdict = "ok" if p95 <= 50 else "missed"
        median = statistics.median(values)
        print(
            f"| {name} | {median:.0f} | {p95:.0f} | {max(values):.0f} | {len(values)} |"
            f" {median / floor_median:.1f}x | {verdict} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
