"""A titled block of lines on a card; says "none yet" when it has nothing to show."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

EMPTY_TEXT = "none yet"


class CardSection(Vertical):
    """A heading and a body; the owner fills the body with `show_lines`."""

    DEFAULT_CSS = """
    CardSection {
        height: auto;
        margin: 1 0 0 0;
    }
    CardSection > .card-section--title {
        text-style: bold;
        color: $text-accent;
    }
    CardSection > .card-section--body {
        height: auto;
        padding: 0 0 0 2;
    }
    CardSection.-empty > .card-section--body {
        color: $text-muted;
        text-style: italic;
    }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._title = title

    def compose(self) -> ComposeResult:
        """A title line over the body."""
        yield Label(self._title, classes="card-section--title")
        yield Static(EMPTY_TEXT, classes="card-section--body")

    @property
    def body(self) -> Static:
        """The widget holding the lines."""
        return self.query_one(".card-section--body", Static)

    def show_lines(self, lines: Sequence[Text | str]) -> None:
        """Show one line per item, or "none yet"."""
        self.set_class(not lines, "-empty")
        if not lines:
            self.body.update(EMPTY_TEXT)
            return
        # Plain strings become Text so user data is never read as markup.
        texts = [line if isinstance(line, Text) else Text(line) for line in lines]
        self.body.update(Text("\n").join(texts))

    def show(self, renderable: RenderableType | None) -> None:
        """Show one renderable (a table, a paragraph), or "none yet" for None."""
        self.set_class(renderable is None, "-empty")
        self.body.update(EMPTY_TEXT if renderable is None else renderable)
