"""Shown instead of the app when the database cannot be opened: what is wrong, what to do."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from crmtui.widgets.footer import SteadyFooter


class DatabaseProblemScreen(Screen[None]):
    """The reason the database did not open and the command that fixes it."""

    DEFAULT_CSS = """
    DatabaseProblemScreen #problem {
        width: 90;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: heavy $error;
    }
    DatabaseProblemScreen #problem-reason {
        text-style: bold;
        color: $text-error;
    }
    DatabaseProblemScreen #problem-hint {
        margin: 1 0 0 0;
    }
    """

    BINDINGS = [Binding("q", "app.quit", "Quit", id="problem.quit")]

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__()
        self.title = "Cannot open the database"
        self.reason = reason
        self.hint = hint

    def compose(self) -> ComposeResult:
        """The reason in the error colour, the fix below it."""
        yield Header()
        with Middle(), Center(), Vertical(id="problem"):
            yield Static(self.reason, id="problem-reason", markup=False)
            yield Static(self.hint, id="problem-hint", markup=False)
        yield SteadyFooter()
