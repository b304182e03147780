"""Recent actions: the device's undoable changes (app and `crm`), latest first; Enter undoes one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.domain.date_style import in_list
from crmtui.screens.dialogs.prompts import PROMPT_CSS

if TYPE_CHECKING:
    from crmtui.services.upkeep.undo import UndoStep


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

    def __init__(self, steps: list[UndoStep], now: datetime | None = None) -> None:
        super().__init__()
        self._steps = steps
        self._now = now
        """The user's current moment: each change says when it was made, relative to it."""

    def _when(self, step: UndoStep) -> str:
        if step.made_at is None or self._now is None:
            return ""
        return in_list(step.made_at.astimezone(self._now.tzinfo), self._now)

    def _lines(self) -> list[Text]:
        whens = [self._when(s) for s in self._steps]
        width = max(map(len, whens), default=0)
        return [
            Text.assemble((f"{when:<{width}}  " if width else "", "dim"), step.label)
            for when, step in zip(whens, self._steps, strict=True)
        ]

    def compose(self) -> ComposeResult:
        """The title, the list (most recent first) and the keys."""
        with Vertical():
            yield Label("Recent actions", classes="prompt--title")
            if self._steps:
                yield OptionList(
                    *(Option(line, id=str(i)) for i, line in enumerate(self._lines())),
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
