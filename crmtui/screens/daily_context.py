"""What the daily-loop screens share: the clock, the user's settings, and the one writer.

Threading invariant: `now`, `settings`, `cap` and `write` may read the config
file or touch SQLite, so screens call them from thread workers only. The app's
one `Store` is opened by `open_writer` once the user is idle after start-up, or by
the first write if that comes sooner (SQLModel is imported then, never before the
first paint); a lock serialises writes from concurrent workers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from crmtui.config import Settings
    from crmtui.services.consent import CallCap
    from crmtui.services.upkeep.undo import UndoStep
    from crmtui.store.database import Store
    from crmtui.store.journal import WriteTx

T = TypeVar("T")
RECENT_ACTIONS = 20
"""How many writes of this session can be undone (most recent first)."""
Clock = Callable[[], datetime]


class DailyContext:
    """The clock, settings and write path of one running app."""

    def __init__(self, db_path: Path, clock: Clock | None = None) -> None:
        self.db_path = db_path
        self._clock = clock
        self._settings: Settings | None = None
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.after_write: Callable[[], None] | None = None
        """Called from the writer's thread after each committed write (the app's sync indicator)."""
        self.writes = 0
        """How many writes this app has committed: a screen showing figures compares it."""
        self.recent: list[UndoStep] = []
        """This session's undoable writes, oldest first (at most `RECENT_ACTIONS`).

        The recent actions list reads the device's records (`kept`), which hold these
        and the `crm` commands' writes too.
        """

    def settings(self) -> Settings:
        """The user's settings, read once (raises `ConfigError` on a bad file)."""
        if self._settings is None:
            from crmtui.config import load_settings

            self._settings = load_settings()
        return self._settings

    def remember(self, name: str, value: str) -> None:
        """Keep a view choice (theme, F4 period) in the config file, for the next start.

        From a thread worker. A file that cannot be written is not worth an error
        on screen: the choice holds for this session either way.
        """
        from dataclasses import replace

        from crmtui.config import ConfigError, save_view_choice

        try:
            save_view_choice(name, value)
        except ConfigError:
            return
        if self._settings is not None:
            changes: dict[str, Any] = {name: value}
            self._settings = replace(self._settings, **changes)

    def zone(self) -> tzinfo:
        """The user's time zone: the injected clock's, else the configured or system one."""
        if self._clock is not None:
            tz = self._clock().tzinfo
            assert tz is not None, "an injected clock must return aware datetimes"
            return tz
        from crmtui.domain.when import zone

        return zone(self.settings().timezone)

    def now(self) -> datetime:
        """The current moment in the user's zone (the injected clock in tests)."""
        if self._clock is not None:
            moment = self._clock()
            if moment.tzinfo is None:
                raise ValueError("an injected clock must return aware datetimes")
            return moment
        return datetime.now(self.zone())

    def working_time(self) -> time:
        """When a next touch given as a day is due (the `working_hour` setting, 09:00)."""
        from crmtui.config import parse_hour

        hour, minute = parse_hour(self.settings().working_hour) or (9, 0)
        return time(hour, minute)

    def cap(self) -> CallCap:
        """The default contact-frequency cap from the settings."""
        from crmtui.services.consent import CallCap

        settings = self.settings()
        return CallCap(settings.call_cap, settings.call_cap_days)

    def _writer(self) -> Store:
        # Called with the lock held.
        if self._store is None:
            from crmtui.store.database import open_store

            # The app opened this file and checked its schema already.
            self._store = open_store(self.db_path, migrate=False)
        return self._store

    def open_writer(self) -> None:
        """Open the writer ahead of the first write (from a thread worker, while idle).

        The first write otherwise pays for importing SQLModel and opening the
        store: about a second at 1M contacts, felt as a stuck first key.
        """
        with self._lock:
            if not self._closed:
                self._writer()

    def write(self, action: Callable[[WriteTx], T]) -> T:
        """Run `action` in one write transaction (from a thread worker) and return its result."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the app is closing; nothing was written")
            with self._writer().write() as tx:
                # One clock for the whole app: an activity logged "now" and a snooze
                # "until in 2h" are judged against the moment the user sees.
                tx.now = self.now().astimezone(UTC)
                result = action(tx)
            self.writes += 1
        if self.after_write is not None:
            self.after_write()
        return result

    def write_undoable(self, label: str, action: Callable[[WriteTx], T]) -> T:
        """`write`, noting how to undo it under `label` in the recent actions."""
        from crmtui.services.upkeep.undo import record

        return self.write_recorded(lambda tx: record(tx, label, action))

    def write_recorded(self, action: Callable[[WriteTx], tuple[T, UndoStep]]) -> T:
        """`write` an action that returns its own undo step (a merge, a lead convert)."""
        result, step = self.write(action)
        if step.changes:
            with self._lock:
                self.recent.append(step)
                del self.recent[:-RECENT_ACTIONS]
        return result

    def kept(self, limit: int = RECENT_ACTIONS) -> list[UndoStep]:
        """The device's undoable changes, most recent first: the app's and `crm`'s (thread)."""
        from crmtui.services.upkeep.undo import kept_steps, step_of

        with self._lock:
            if self._closed:
                return []
            with self._writer().read() as session:
                return [step_of(kept) for kept in kept_steps(session, limit=limit)]

    def undo(self, step: UndoStep | None = None) -> UndoStep:
        """Undo `step` in one journaled write; returns the step undone.

        With no step: this session's most recent change, or when the session made
        none, the device's (a `crm` command's, say; `crm undo` reads the same records).
        Raises `InvalidInput` when there is nothing to undo or a row changed since.
        """
        from crmtui.services.upkeep.undo import undo, undo_kept

        with self._lock:
            if step is None and self.recent:
                step = self.recent[-1]
        chosen: list[UndoStep] = [step] if step is not None else []

        def action(tx: WriteTx) -> None:
            if step is None:
                chosen.append(undo_kept(tx=tx))
            else:
                undo(tx=tx, step=step)

        try:
            self.write(action)
        finally:
            # Done, or refused because a row changed since (it cannot become
            # undoable again): either way it leaves the list, so the next one is reachable.
            with self._lock:
                self.recent = [
                    s
                    for s in self.recent
                    if not any(
                        s is c or (c.record_id and s.record_id == c.record_id) for c in chosen
                    )
                ]
        return chosen[0]

    def close(self) -> None:
        """Release the writer's connections (after any write in progress)."""
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store = None


class DailyApp(Protocol):
    """What the daily screens need from the app."""

    db: sqlite3.Connection | None
    daily: DailyContext

    def open_contact(self, contact_id: str) -> None:
        """Show the card of one contact."""


class UsesDaily:
    """Mixed into a screen: the app's `DailyContext` as `self.daily`."""

    @property
    def daily(self) -> DailyContext:
        """The app's clock, settings and writer."""
        return cast(DailyApp, cast("DOMNode", self).app).daily
