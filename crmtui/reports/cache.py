"""The Pipeline board and the Territories summary, read ahead and kept while the database is unchanged.

At 1M contacts / 100k deals the board takes ~0.5 s to read and the summary 1-5 s
(docs/performance.md), so a first visit to F3 or F4 would show "loading…" that
long. Shortly after start-up the app reads both in a background thread, on a
read-only connection of its own (a query on the app's shared connection would
hold up the contact search behind it: one SQLite connection runs one statement
at a time). A screen takes a kept result only if nothing was committed since it
was read (`PRAGMA data_version` of the app's connection, read before the result
was) and it is younger than `MAX_AGE_S`, because staleness and periods depend on
the clock too. Screens also keep what they read themselves, so going back to a
board that did not change shows it at once; the Agenda keeps its list here too
(not read ahead), with a shorter age, as its buckets move with the clock.
No Textual and no screen here: what is read ahead, and when, is the app's start-up.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from crmtui.store.gc_pause import paused_gc

T = TypeVar("T")

# "Stale since N days" and the current period move with the clock: a result read
# longer ago than this is read again even when no data changed.
MAX_AGE_S = 300.0
# A screen waits this long at most for the warm-up's read of the same thing.
WAIT_FOR_WARM_S = 30.0


class ReportCache:
    """Results keyed by what was asked, each with the data version it was read at."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[int, float, object]] = {}
        self._warming: sqlite3.Connection | None = None
        self._pending: dict[Hashable, threading.Event] = {}
        """Keys the warm-up is reading now: a screen asking for one waits for it."""
        self.closed = False

    def close(self) -> None:
        """Stop a background read under way (the app is quitting) and start no other."""
        with self._lock:
            self.closed = True
            if self._warming is not None:
                # Thread-safe: makes the running statement fail with "interrupted".
                self._warming.interrupt()

    def get(self, key: Hashable, version: int, max_age: float = MAX_AGE_S) -> object | None:
        """The result kept for `key` if it was read at `version` and is recent enough."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        kept_version, made_at, value = entry
        if kept_version != version or self._clock() - made_at > max_age:
            return None
        return value

    def latest(self, key: Hashable) -> object | None:
        """The last result kept for `key`, however old: to show while a fresh one is read."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[2]

    def put(self, key: Hashable, version: int, value: object) -> None:
        """Keep `value`, read with nothing committed after `version` was read."""
        with self._lock:
            self._entries[key] = (version, self._clock(), value)

    def read(
        self,
        key: Hashable,
        db: sqlite3.Connection,
        compute: Callable[[sqlite3.Connection], T],
        *,
        max_age: float = MAX_AGE_S,
    ) -> T:
        """The kept result for `key` if still current, else `compute(db)`, kept for next time.

        The version is read before the data: a commit landing during `compute` makes
        the next `read` compute again rather than trust a result that may predate it.
        `max_age` 0 always computes (a reload the user asked for)."""
        # Imported here: the app imports this module at start-up, and needs this only later.
        from crmtui.store.data_version import data_version

        version = data_version(db)
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            # The warm-up is reading the same thing: wait rather than read it twice at once.
            pending.wait(WAIT_FOR_WARM_S)
        kept = self.get(key, version, max_age)
        if kept is not None:
            return kept  # type: ignore[return-value]  # each key is only ever given one type
        with paused_gc():  # see gc_pause: its full collections would stall the UI thread
            value = compute(db)
        self.put(key, version, value)
        return value


def warm(
    cache: ReportCache,
    app_db: sqlite3.Connection,
    path: Path,
    jobs: list[tuple[Hashable, Callable[[sqlite3.Connection], object]]],
) -> None:
    """Read each job on a connection of its own and keep it under the app connection's version.

    Runs in a thread worker. The app connection is only asked for its data version
    (a few microseconds); the reads themselves use `path` opened read-only."""
    from crmtui.search.lookup import connect
    from crmtui.store.data_version import data_version

    own = connect(path)
    with cache._lock:
        if cache.closed:
            own.close()
            return
        cache._warming = own
    try:
        for key, compute in jobs:
            done = threading.Event()
            with cache._lock:
                cache._pending[key] = done
            try:
                # Before the read: if anything commits after this, the result is not used.
                version = data_version(app_db)
                with paused_gc():
                    cache.put(key, version, compute(own))
            finally:
                with cache._lock:
                    del cache._pending[key]
                done.set()
    finally:
        with cache._lock:
            cache._warming = None
        own.close()


def report_cache(app: object) -> ReportCache | None:
    """The app's report cache (None for an app without one, e.g. a test harness)."""
    cache = getattr(app, "report_cache", None)
    return cache if isinstance(cache, ReportCache) else None
