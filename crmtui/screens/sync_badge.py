"""Keeps the sync indicator in every screen's header current (crmtui/widgets/sync_indicator.py).

The numbers are read in a thread worker from the app's read-only sqlite3
connection (crmtui/sync/sync_summary.py: one covered count and one key lookup),
after each write the app makes, after a sync, and on a slow timer for writes
made from a shell. Screens are not asked to compose the indicator: it is put
into each screen's Header when the screen is first shown, so every section
has it and none of them has to know about it.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.widgets import Header

from crmtui.widgets.sync_indicator import SyncBadge, SyncIndicator

if TYPE_CHECKING:
    from textual.app import App

    from crmtui.screens.daily_context import DailyContext

REFRESH_SECONDS = 20.0
"""How often the numbers are read again without a reason: for `crm` commands run in a shell."""


class SyncBadgeKeeper:
    """Reads the sync summary when it may have changed and shows it in every header."""

    def __init__(self, app: App[Any], db: sqlite3.Connection, daily: DailyContext) -> None:
        self._app = app
        self._db = db
        self._daily = daily
        self.badge: SyncBadge | None = None
        self.problem: str | None = None
        self._seen_version: int | None = None
        """`data_version` at the last read: a timer tick with nothing committed since reads nothing."""

    def start(self) -> None:
        """Follow screen changes, read the numbers now and every `REFRESH_SECONDS`."""
        self._app.screen_change_signal.subscribe(self._app, self._screen_changed)
        self._app.set_interval(
            REFRESH_SECONDS, partial(self.refresh, if_changed=True), name="sync indicator"
        )
        self.refresh()

    def refresh(self, *, if_changed: bool = False) -> None:
        """Read the numbers again in a worker (a read still running is superseded).

        With `if_changed`, nothing is counted unless something committed since the last read.
        """
        self._app.run_worker(
            partial(self._read, if_changed),
            thread=True,
            exclusive=True,
            group="sync-badge",
            exit_on_error=False,
        )

    def wrote(self) -> None:
        """Called from the writer's thread after each committed write."""
        # call_later posts a message, which is safe from any thread.
        self._app.call_later(self.refresh)

    def _read(self, if_changed: bool) -> None:
        from crmtui.store.data_version import data_version
        from crmtui.sync.sync_summary import read_sync_summary

        try:
            # Read before counting: a commit landing in between is seen next time.
            version = data_version(self._db)
            if if_changed and version == self._seen_version and self._same_day():
                return
            summary = read_sync_summary(self._db)
            now = self._daily.now()
        # A locked or damaged file, or a bad config file (its ConfigError is a
        # ValueError): the header says the state is unknown, with the reason.
        except (sqlite3.Error, ValueError) as exc:
            self._app.call_later(self._show_problem, f"Could not read the sync state: {exc}")
            return
        zone = now.tzinfo
        badge = SyncBadge(
            pending=summary.pending,
            last_sync=summary.last_sync.astimezone(zone) if summary.last_sync else None,
            enrolled=summary.enrolled,
            demo=summary.demo,
            now=now,
        )
        self._seen_version = version
        self._app.call_later(self._show, badge)

    def _same_day(self) -> bool:
        """Whether "synced 14:02" still means today (else it has to say the date)."""
        shown = self.badge.now if self.badge is not None else None
        return shown is not None and shown.date() == self._daily.now().date()

    def _show(self, badge: SyncBadge) -> None:
        self.badge, self.problem = badge, None
        for screen in self._app.screen_stack:
            self._update(screen)

    def _show_problem(self, problem: str) -> None:
        self.badge, self.problem = None, problem
        for screen in self._app.screen_stack:
            self._update(screen)

    def _screen_changed(self, screen: Screen[object]) -> None:
        # A screen just pushed has not composed yet: its own queue runs this after it has.
        screen.call_later(self._update, screen)

    def _update(self, screen: Screen[object]) -> None:
        """Put the indicator into `screen`'s header if it has none, and show the numbers."""
        found = screen.query(SyncIndicator)
        if found:
            indicator = found.first()
        else:
            headers = screen.query(Header)
            if not headers:
                return  # a modal: the screen below shows the indicator
            indicator = SyncIndicator(id="sync-indicator")
            headers.first().mount(indicator)
        if self.badge is not None:
            indicator.show(self.badge)
        elif self.problem is not None:
            indicator.show_problem(self.problem)
