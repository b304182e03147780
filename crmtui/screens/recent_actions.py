"""Recent actions: the device's undoable changes (app and `crm`), latest first; Enter undoes one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.screens.prompts import PROMPT_CSS

if TYPE_CHECKING:
    from crmtui.services.undo import UndoStep


class RecentActionsScreen(ModalScreen["UndoStep | None"]):
    """A short list of what can be undone; Enter undoes the highlighted one, Escape nothing."""

    DEFAULT_CSS = (
        PROMPT_CSS.format(name="RecentActionsScreen")
        + """
    RecentActionsScreen > Vertical {
        max-width: 100%;
        max-height: 100%;
    }
    RecentActionsScreen OptionList {
        height: auto;
        max-height: 12;
        border: none;
        padding: 0;
    }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Close", id="recent.cancel")]

    def __init__(self, steps: list[UndoStep]) -> None:
        super().__init__()
        self._steps = steps

    def compose(self) -> ComposeResult:
        """The title, the list (most recent first) and the keys."""
        with Vertical():
            yield Label("Recent actions", classes="prompt--title")
            if self._steps:
                yield OptionList(
                    *(Option(Text(s.label), id=str(i)) for i, s in enumerate(self._steps)),
                    id="recent",
                )
                yield Static(
                    "Enter undoes the highlighted change · Esc closes",
                    classes="prompt--hint",
                )
            else:
                yield Static("Nothing to undo.", classes="prompt--hint")

    @on(OptionList.OptionSelected, "#recent")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._steps[event.option_index])

    def action_cancel(self) -> None:
        """Close, undoing nothing."""
        self.dismiss(None)
