"""A section of the app that is not built yet, said plainly."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class PlaceholderScreen(Screen[None]):
    """Names the section and says honestly that it is not there yet."""

    DEFAULT_CSS = """
    PlaceholderScreen #placeholder {
        width: auto;
        max-width: 80;
        padding: 1 2;
        border: round $border-blurred;
        color: $text-muted;
    }
    """

    def __init__(self, section: str, message: str) -> None:
        super().__init__()
        self.title = section
        self.message = message

    def compose(self) -> ComposeResult:
        """The message, centred."""
        yield Header()
        with Middle(), Center():
            yield Static(self.message, id="placeholder", markup=False)
        yield Footer()
