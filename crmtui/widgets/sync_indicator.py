"""The sync indicator: pending changes and the last sync, one line in every screen's header.

It only shows what it is given: the app reads the numbers in a worker and calls
`show`. `SyncStateChanged` is how a screen says "read them again" (after a sync,
say) without knowing who shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from crmtui.domain.date_style import in_header


@dataclass(frozen=True)
class SyncBadge:
    """What the indicator shows, with times already in the user's zone."""

    pending: int
    last_sync: datetime | None
    enrolled: bool
    demo: bool = False
    now: datetime | None = None
    """The moment the badge was read, to say "14:02" today and "21 Nov 14:02" before."""


class SyncStateChanged(Message):
    """Pending ops or the last sync may have changed: whoever shows the indicator reads again."""


def badge_text(badge: SyncBadge) -> Text:
    """What the indicator says: "↑ 12 pending · synced 14:02", "not enrolled", "✓ synced 14:02"."""
    text = Text()
    if badge.pending:
        text.append(f"↑ {badge.pending:,} pending", style="bold")
        text.append(" · ", style="dim")
    if badge.demo:
        text.append("demo, never syncs", style="dim")
    elif not badge.enrolled:
        text.append("not enrolled", style="dim")
    elif badge.last_sync is None:
        text.append("never synced")
    else:
        if not badge.pending:
            text.append("✓ ", style="bold")
        text.append(f"synced {in_header(badge.last_sync, badge.now)}")
    return text


class SyncIndicator(Static):
    """One line: pending ops and the last sync; the Sync section (F5) has the details."""

    DEFAULT_CSS = """
    SyncIndicator {
        dock: right;
        width: auto;
        max-width: 50%;
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        color: $foreground-muted;
    }
    SyncIndicator.-pending {
        color: $text-warning;
    }
    """

    def __init__(self, badge: SyncBadge | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.badge: SyncBadge | None = None
        if badge is not None:
            self.show(badge)

    def show(self, badge: SyncBadge) -> None:
        """Show `badge` (nothing is redrawn when it says the same as before)."""
        if badge == self.badge:
            return
        self.badge = badge
        self.set_class(badge.pending > 0, "-pending")
        self.tooltip = "Pending changes and the last sync; F5 shows the details"
        self.update(badge_text(badge))

    def show_problem(self, problem: str) -> None:
        """Say that the sync state could not be read."""
        self.badge = None
        self.set_class(False, "-pending")
        self.tooltip = problem
        self.update(Text("sync state unknown", style="dim"))
