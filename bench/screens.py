"""Screen-switch benchmark: key to paint for every section switch, list scrolls and a board move.

    python bench/screens.py [--size 1000000] [--runs 7]

Runs the app headless with Textual's pilot on a copy of the cached demo database
(bench/search.py seeds it once; the copy is upgraded to the current schema and takes the
board moves, so the cache stays as seeded). Each run goes F1 Contacts (scroll the list)
→ F3 Pipeline (scroll the board, move a card) → F4 Territories → F2 Agenda (scroll the
list) → F1 again. For a switch it records two moments: the screen painted (the key
handled and one refresh done, loading state included) and the data painted (the worker's
result on screen, then one refresh). Baseline in the same run: a trivial
app switching between two one-line screens. Garbage collections during the app
run are timed with `gc.callbacks` and listed under the table. Target
(TARGETS.md): any screen switch or list scroll, key to paint, p95 <= 50 ms.
`--after-warm` starts the runs as a user a few seconds in would: once the app's
background read of the board and the summary (`crmtui.reports.cache`, 0.5 s
after start-up) is done and so is what it does while the user is idle (sections built
ahead and drawn, the writer opened, the heap frozen: `Startup.warmed_up`, ~2-3 s in).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from crmtui.screens.sections.agenda import AgendaScreen
from crmtui.screens.sections.contacts import ContactsScreen
from crmtui.screens.sections.pipeline import PipelineScreen
from crmtui.screens.sections.territory import TerritoryScreen
from crmtui.startup import AFTER_START_UP_S, WARM_DELAY_S
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


class _GcTimes:
    """Every garbage collection while installed: (generation, wall ms, CPU ms of the thread)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []
        self._started = (0.0, 0.0)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time())
        else:
            wall, cpu = self._started
            self.pauses.append(
                (
                    info["generation"],
                    (time.perf_counter() - wall) * 1000,
                    (time.thread_time() - cpu) * 1000,
                )
            )

    def summary(self) -> str:
        """Count and longest pause per generation (wall; CPU, which the machine's load
        does not stretch)."""
        parts = []
        for gen in (0, 1, 2):
            ms = [(w, c) for g, w, c in self.pauses if g == gen]
            if ms:
                parts.append(
                    f"gen{gen}: {len(ms)} collections, max {max(w for w, _ in ms):.0f} ms"
                    f" (CPU {max(c for _, c in ms):.0f} ms)"
                )
        return "; ".join(parts) or "none"


class _Session:
    """The app under the pilot, and the samples taken so far."""

    def __init__(self, app: App[None], pilot: object) -> None:
        self.app = app
        self.pilot = pilot
        self.out: dict[str, list[float]] = {}

    def add(self, name: str, started: float) -> None:
        """One sample, from `started` to now."""
        self.out.setdefault(name, []).append((time.perf_counter() - started) * 1000)

    async def key(
        self,
        name: str,
        k: str,
        shown: Callable[[], bool],
        loaded: Callable[[], bool] | None = None,
        kept: Callable[[], bool] | None = None,
    ) -> None:
        """Press `k`; time it to the screen painted and, if `loaded` is given, to the data
        painted (and, if `kept` is given, to figures painted, fresh or kept)."""
        started = time.perf_counter()
        _send(self.app, k)
        await _until(self.pilot, shown)
        await self.pilot.pause(0)  # type: ignore[attr-defined]  # pending updates done: painted
        self.add(f"{name}: screen painted" if loaded else name, started)
        if kept is not None:
            await _until(self.pilot, kept)
            self.add(f"{name}: figures painted (kept ones marked updating, or fresh)", started)
        if loaded is not None:
            await _until(self.pilot, loaded)
            await self.pilot.pause(0)  # type: ignore[attr-defined]
            self.add(f"{name}: data painted", started)

    def contacts(self) -> ContactsScreen | None:
        """The Contacts screen if it is the one shown."""
        return self.app.screen if isinstance(self.app.screen, ContactsScreen) else None

    def pipeline(self) -> PipelineScreen | None:
        """The Pipeline screen if it is the one shown."""
        return self.app.screen if isinstance(self.app.screen, PipelineScreen) else None

    def agenda(self) -> AgendaScreen | None:
        """The Agenda screen if it is the one shown."""
        return self.app.screen if isinstance(self.app.screen, AgendaScreen) else None

    def agenda_shown(self) -> bool:
        """The Agenda screen shows the agenda last read."""
        a = self.agenda()
        return a is not None and a.agenda is not None and not a.loading_agenda

    def territory(self) -> TerritoryScreen | None:
        """The Territories screen if it is the one shown."""
        return self.app.screen if isinstance(self.app.screen, TerritoryScreen) else None

    def cursor_at(self, row: int) -> bool:
        """The contact list's cursor is on `row`."""
        c = self.contacts()
        return c is not None and c.results.cursor_row == row

    def card_at(self, lane: int, card: int) -> bool:
        """The board's cursor is on that card."""
        p = self.pipeline()
        return p is not None and (p.board.lane_index, p.board.card_index) == (lane, card)

    def board_shown(self) -> bool:
        """The Pipeline screen shows the board last asked for."""
        p = self.pipeline()
        return p is not None and p.window is not None and not p.loading_board

    def figures_shown(self) -> bool:
        """The Territories screen shows figures, the latest or those kept from before."""
        t = self.territory()
        return t is not None and t.report is not None

    def summary_shown(self) -> bool:
        """The Territories screen shows the summary last asked for."""
        t = self.territory()
        return t is not None and t.report is not None and not t.loading_summary

    async def scroll_contacts(self) -> None:
        """Down, page down and up through the contact list (the search box keeps the focus)."""
        c = self.contacts()
        assert c is not None
        await _until(self.pilot, lambda: c.results.row_count > 0)
        c.results.move_cursor(row=0)
        await self.pilot.pause()  # type: ignore[attr-defined]
        row = 0
        for k, step in (("down", 1),) * 5 + (("pagedown", 10),) * 2 + (("up", -1),) * 3:
            row += step
            await self.key("Contacts list scroll (↓ ↑ PgDn)", k, partial(self.cursor_at, row))

    async def scroll_agenda(self, a: AgendaScreen) -> None:
        """Down, page down and up through the agenda (4,000 reminders at 1M)."""
        for k in ("down",) * 3 + ("pagedown",) * 2 + ("up",):
            before = a.agenda_list.highlighted
            await self.key(
                "Agenda list scroll (↓ ↑ PgDn)",
                k,
                lambda before=before: a.agenda_list.highlighted != before,
            )

    async def scroll_board(self, p: PipelineScreen) -> None:
        """Down the first lane, then one lane right and back."""
        p.board._place(0, 0)
        await self.pilot.pause()  # type: ignore[attr-defined]
        lane, card = 0, 0
        for k, (dl, dc) in (("down", (0, 1)),) * 5 + (("right", (1, 0)), ("left", (-1, 0))):
            lane, card = lane + dl, card + dc
            await self.key("board scroll (↓ → ←)", k, partial(self.card_at, lane, card))

    async def move_cards(self, p: PipelineScreen) -> None:
        """Move the highlighted card a stage on and back."""
        for move in ("right_square_bracket", "left_square_bracket"):
            card = p.board.highlighted
            assert card is not None
            lane = p.board.lane_index
            started = time.perf_counter()
            _send(self.app, move)
            await _until(self.pilot, partial(_moved, p, lane, card.id))
            await self.pilot.pause(0)  # type: ignore[attr-defined]
            self.add("board move ] / [: committed, card painted in its new column", started)
            await _until(self.pilot, partial(_board_loaded, p))
            await self.pilot.pause(0)  # type: ignore[attr-defined]
            self.add("board move ] / [: column totals repainted from SQL", started)


async def _measure(
    path: Path, runs: int, gc_times: _GcTimes, after_warm: bool
) -> dict[str, list[float]]:
    gc.collect()  # the trivial app's leftovers are not the app's to collect
    app = make_app(db_path=path, show_timings=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.db is not None and app.screen.id != "_default")
        await pilot.pause()
        await app.workers.wait_for_complete()
        # As a user would: the app's after-start-up step (screens' CSS, gc.freeze) is done.
        await pilot.pause(AFTER_START_UP_S + 0.2)
        if after_warm:  # and the board and summary read ahead (a user a few seconds in)
            await pilot.pause(max(0.0, WARM_DELAY_S - AFTER_START_UP_S))
            await app.workers.wait_for_complete()
            # ... and what the app does while the user is idle: the sections built ahead
            # and drawn, the writer opened, the heap frozen (`Startup.warmed_up`).
            await _until(pilot, lambda: app.startup.warmed_up)
        gc.callbacks.append(gc_times)
        s = _Session(app, pilot)
        for run in range(runs):
            if run:  # the app starts on Contacts
                await s.key("F1 Contacts (from Agenda)", "f1", lambda: s.contacts() is not None)
            await s.scroll_contacts()
            await s.key(
                "F3 Pipeline (from Contacts)", "f3", lambda: s.pipeline() is not None, s.board_shown
            )
            p = s.pipeline()
            assert p is not None
            await s.scroll_board(p)
            await s.move_cards(p)
            await s.key(
                "F4 Territories (from Pipeline)",
                "f4",
                lambda: s.territory() is not None,
                s.summary_shown,
                s.figures_shown,
            )
            await s.key(
                "F2 Agenda (from Territories)", "f2", lambda: s.agenda() is not None, s.agenda_shown
            )
            a = s.agenda()
            assert a is not None
            await s.scroll_agenda(a)
        gc.callbacks.remove(gc_times)
    return s.out


def main() -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--after-warm",
        action="store_true",
        help="start once the board and summary are read ahead and the idle sections built",
    )
    args = parser.parse_args()
    path = _bench_copy(args.size)
    with sqlite3.connect(path) as db:
        deals = db.execute("SELECT count(*) FROM deal").fetchone()[0]
    samples = {
        "baseline: trivial app, switch between two one-line screens": asyncio.run(
            _trivial(args.runs * 2)
        )
    }
    gc_times = _GcTimes()
    samples.update(asyncio.run(_measure(path, args.runs, gc_times, args.after_warm)))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"date: {stamp}; machine: {platform.machine()}, 2 cores, Python {platform.python_version()};"
        f" command: python bench/screens.py --size {args.size} --runs {args.runs}"
        + (" --after-warm" if args.after_warm else "")
    )
    print(f"\n{args.size:,} contacts, {deals:,} deals\n")
    floor = samples["baseline: trivial app, switch between two one-line screens"]
    floor_median = statistics.median(floor)
    print(
        "| key → paint | median ms | p95 ms | max ms | first ms | runs | median / trivial switch"
        " | target p95 <= 50 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, values in samples.items():
        p95 = _percentile(values, 0.95)
        verdict = "ok" if p95 <= 50 else "missed"
        median = statistics.median(values)
        # "first": the first sample, for a switch the section's first visit.
        print(
            f"| {name} | {median:.0f} | {p95:.0f} | {max(values):.0f} | {values[0]:.0f} |"
            f" {len(values)} | {median / floor_median:.1f}x | {verdict} |"
        )
    print(f"\ngarbage collections during the app run: {gc_times.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
