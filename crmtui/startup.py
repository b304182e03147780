"""Start-up scheduling: what the app does after its first screen is up, and when.

The rules, in the order they apply (the app calls `Startup.begin` once the
lookup connection is open and the Contacts screen is shown):

1. Before the first paint, only the Contacts screen: every other screen, the
   palette's providers and SQLModel are imported when first needed (cold start,
   TARGETS.md).
2. `AFTER_START_UP_S` later: import the contact card, read every screen's
   stylesheet (so a first visit restyles nothing), freeze the heap.
3. `WARM_DELAY_S` later: read F3's board and F4's summary into the app's report
   cache, in a thread on a connection of its own (`crmtui.reports.cache`).
4. Every `PREBUILD_TICK_S`, and only when no key or click came for
   `PREBUILD_IDLE_S`, one step: first open the writer (in a thread), then build
   one section of `PREBUILT_SECTIONS` not visited yet, and a tick later draw it
   off screen; once all are built and no worker reads any more, freeze the heap
   a last time and set `warmed_up`.
5. The heap is frozen (`freeze_heap`) after start-up, after each section's first
   build or visit, after the first write and at the end of building ahead; it is
   given back (`gc.unfreeze`) when the app ends.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Callable, Hashable
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from crmtui.reports.cache import warm

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen
    from textual.timer import Timer

    from crmtui.reports.cache import ReportCache
    from crmtui.screens.daily_context import DailyContext

# Every screen's stylesheet, read once start-up is over (`Startup.after_start_up`).
# Textual reads a screen's CSS_PATH on its first visit and then restyles every
# mounted screen (~110 ms, TARGETS.md's screen switch); already read, the first
# visit skips that. The screens' modules are still imported only when first shown.
SCREEN_CSS: list[str | PurePath] = sorted((Path(__file__).parent / "screens").rglob("*.tcss"))
# Long enough for the first screen to show its rows (bench/startup.py), short
# enough to come before a first section switch, which works without it anyway.
AFTER_START_UP_S = 1.0
# Once the first screen is painted, and soon: a user pressing F3 or F4 a second in
# should find the board and the summary read. Typing into the search box meanwhile
# is not slowed beyond the noise (their SQL runs off the GIL; docs/performance.md).
WARM_DELAY_S = 0.5
PREBUILT_SECTIONS = ("pipeline", "territories", "agenda")
"""Sections built ahead of their first visit while the user is idle, slowest first.

A first visit composes, styles, lays out and draws the section (15-45 ms at 1M
contacts, bench/screens.py); built ahead, it is a plain screen switch. Only sections
whose screens just read when shown: Duplicates starts a scan, Calls and Sync are
cheap to build.
"""
PREBUILD_IDLE_S = 0.5
"""How long without a key press or click before a section is built ahead.

Short: a step (building a section, or drawing one off screen) holds the UI thread
for 20 ms at most, in chunks a key press can come between, so a user who pauses
half a second loses nothing; one who opens F3 or F4 a second in finds it built.
"""
PREBUILD_TICK_S = 0.25
"""How often the app checks whether it can take the next step of building ahead."""


def first_visits(
    daily: DailyContext,
) -> list[tuple[Hashable, Callable[[sqlite3.Connection], object]]]:
    """What F3 and F4 read when first shown: the whole board, and all territories this period."""
    # Imported here, in the warm-up thread: start-up imports only the Contacts screen.
    from crmtui.screens.sections.pipeline import BoardFilter, board_key, read_board
    from crmtui.screens.sections.territory import PERIODS, read_summary, summary_key

    everyone = BoardFilter()
    period = PERIODS[0]
    return [
        (board_key(daily, everyone), lambda db: read_board(db, daily, everyone)),
        (summary_key(daily, None, period), lambda db: read_summary(db, daily, None, period)),
    ]


def freeze_heap() -> None:
    """Take every object alive now out of the garbage collector's full passes.

    A full collection walks every tracked object: with Textual, the screens and
    their widgets that is a 60-95 ms pause (more at 1M contacts) landing in a
    key press. What exists after start-up, or after a section is first built,
    lives as long as the app, so it is frozen (`gc.freeze`) and later passes
    only walk what came after. A young collection first, so that fresh garbage
    is not frozen with it; garbage frozen anyway is bounded (once per section).
    """
    gc.collect(1)
    gc.freeze()


class Startup:
    """The app's start-up work after the first screen: timers, idle building, heap freezes."""

    def __init__(
        self,
        app: App[None],
        *,
        daily: DailyContext,
        cache: ReportCache,
        db_path: Path,
        first_mode: str,
    ) -> None:
        self._app = app
        self._daily = daily
        self._cache = cache
        self._db_path = db_path
        self._db: sqlite3.Connection | None = None
        """The app's lookup connection, from `begin` until `end`."""
        self.visited_modes: set[str] = {first_mode}
        """Sections shown or built at least once (their objects are frozen, see `freeze_heap`)."""
        self._last_input = time.monotonic()
        """When the user last pressed a key or clicked (sections are built ahead when idle)."""
        self._to_draw: list[Screen[object]] = []
        """Sections built ahead, waiting for their off-screen draw."""
        self._writer_opening = False
        self._frozen_after_first_write = False
        self._prebuild_timer: Timer | None = None
        self.warmed_up = False
        """The idle work after start-up is done: sections built, writer open, heap frozen."""

    def begin(self, db: sqlite3.Connection) -> None:
        """Start the timers of rules 2-4 (the database is open, the first screen shown)."""
        self._db = db
        app = self._app
        app.set_timer(AFTER_START_UP_S, self.after_start_up)
        app.set_timer(WARM_DELAY_S, self.warm_reports)
        self._prebuild_timer = app.set_interval(PREBUILD_TICK_S, self.prebuild_when_idle)

    def note_input(self) -> None:
        """The user pressed a key or clicked: building ahead waits for the next idle spell."""
        self._last_input = time.monotonic()

    def shown(self, mode: str) -> None:
        """A section was switched to: on its first visit, freeze what it built."""
        if mode not in self.visited_modes:
            self.visited_modes.add(mode)
            self._app.call_after_refresh(freeze_heap)

    def wrote(self) -> None:
        """After each write (in its worker thread): after the first, a freeze.

        The first write may have opened the writer, and SQLModel's and SQLAlchemy's
        objects then live as long as the app: left to the collector, its full
        collections walked them, ~45 ms landing in a key press (bench/screens.py).
        """
        if not self._frozen_after_first_write:
            self._frozen_after_first_write = True
            self._app.call_later(freeze_heap)  # posts to the UI thread: safe from a worker

    def end(self) -> None:
        """The app is ending: give the frozen objects back to the collector.

        Frozen objects are never collected: a process running several apps (the
        test suite) would otherwise keep every one of them.
        """
        self._db = None
        gc.unfreeze()

    def after_start_up(self) -> None:
        """Import the contact card, read every screen's stylesheet and freeze the heap.

        Parsing the screens' CSS at start-up would add ~15 ms of CPU before the first
        paint (bench/startup.py); here it is done once the first screen is up.
        Only new sources are read: a section opened in the meantime loaded its own.
        """
        # The contact card, left out of start-up's imports, so its first opening is quick.
        import crmtui.screens.cards.contact_card  # noqa: F401

        stylesheet = self._app.stylesheet
        unread = [path for path in SCREEN_CSS if not stylesheet.has_source(str(path))]
        for path in unread:
            stylesheet.read(path)
        if unread:
            stylesheet.parse()  # now, not in the next key press
        freeze_heap()

    def prebuild_when_idle(self) -> None:
        """Open the writer, then build and draw off screen each section not visited yet.

        All only while the user is idle. The writer first (`DailyContext.open_writer`,
        in a thread): a write a second or two in (a card moved, a call logged) would
        otherwise wait ~0.3 s for it. Once no worker is reading any more, the heap is
        frozen a last time.

        Building blocks the UI thread for as long as it takes, so never while the
        user is typing; one step per tick, so a key press waits for one at most.
        `_init_mode` is what `switch_mode` calls on a first visit (Textual is pinned;
        tests/test_app_prebuild.py fails if it stops building the screen). The
        off-screen draw, a tick later (once the screen has read its data), lays the
        screen out and fills its widgets' line caches, so the first visit only
        composites them.
        """
        app = self._app
        if self._db is None or not app.is_running:
            # Not while closing: building a section adds a screen stack while Textual's
            # shutdown walks them ("dictionary changed size during iteration").
            if self._prebuild_timer is not None:
                self._prebuild_timer.stop()
            return
        if time.monotonic() - self._last_input < PREBUILD_IDLE_S:
            return
        if not self._writer_opening:
            self.open_writer_ahead()
            return
        if self._to_draw:
            screen = self._to_draw.pop(0)
            if screen is not app.screen and screen.is_mounted:
                screen._refresh_layout(app.size)
                screen._compositor.render_update(full=True, screen_stack=[screen])
            return
        waiting = [
            mode
            for mode in PREBUILT_SECTIONS
            if mode not in self.visited_modes and mode != app.current_mode
        ]
        if not waiting:
            if not any(worker.is_running for worker in app.workers):
                # Everything built and read (the Agenda's rows alone are thousands
                # of objects): out of the full collections' way, once.
                if self._prebuild_timer is not None:
                    self._prebuild_timer.stop()
                freeze_heap()
                self.warmed_up = True
            return
        mode = waiting[0]
        self.visited_modes.add(mode)
        app._init_mode(mode)
        self._to_draw.append(app._screen_stacks[mode][0])
        app.call_after_refresh(freeze_heap)

    def open_writer_ahead(self) -> None:
        """Open the writer in a thread worker, once, so the first write is quick too.

        Only while the user is idle (`prebuild_when_idle`): although in a thread,
        importing SQLModel holds the GIL for long stretches (pydantic builds its
        schemas in Rust), and keys typed meanwhile waited up to ~200 ms.
        """
        if not self._writer_opening:
            self._writer_opening = True
            self._app.run_worker(
                self._daily.open_writer, thread=True, group="writer", exit_on_error=False
            )

    def warm_reports(self) -> None:
        """Read the F3 board and the F4 summary in the background, so first visits show them."""
        if self._db is not None:
            work = partial(self._warm, self._db)
            self._app.run_worker(work, thread=True, group="report-warm", exit_on_error=False)

    def _warm(self, db: sqlite3.Connection) -> None:
        warm(self._cache, db, self._db_path, first_visits(self._daily))
