"""Choose one row from a short list (a card's activities, reminders, contacts, deals)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.screens.dialogs.record_form import DIALOG_CSS


def one_line(text: Text | str, width: int) -> Text:
    """A row on one line of `width` cells, cut with an ellipsis only when it does not fit."""
    line = text.copy() if isinstance(text, Text) else Text(text)
    line.truncate(max(width, 10), overflow="ellipsis")
    return line


class PickScreen(ModalScreen[str | None]):
    """A titled list; Enter returns the highlighted row's id, Escape nothing."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]
    DEFAULT_CSS = (
        DIALOG_CSS.format(screen="PickScreen", box="Vertical")
        + """
    PickScreen #pick-title {
        text-style: bold;
    }
    PickScreen OptionList {
        height: auto;
        max-height: 70vh;
    }
    PickScreen #pick-hint {
        color: $text-muted;
    }
    """
    )

    def __init__(self, title: str, rows: Sequence[tuple[str, Text | str]], hint: str = "") -> None:
        super().__init__()
        self._title = title
        self._rows = list(rows)
        self._hint = hint or "Enter chooses · Esc cancels"

    def compose(self) -> ComposeResult:
        """Title, the rows, the keys."""
        with Vertical():
            yield Label(Text(self._title, overflow="ellipsis", no_wrap=True), id="pick-title")
            # The box is 76 cells at most; its border, padding and the list's take 8.
            width = min(76, self.app.size.width) - 8
            yield OptionList(
                *(Option(one_line(text, width), id=row_id) for row_id, text in self._rows),
                id="pick",
            )
            yield Static(self._hint, id="pick-hint")

    def on_mount(self) -> None:
        """The list has the focus, first row highlighted."""
        self.query_one("#pick", OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)
