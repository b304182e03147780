"""The call list's keymap on screen: which digit logs which outcome, and the next touch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class OutcomeHint:
    """One key of the keymap as shown: the key, the outcome, what happens next."""

    key: str
    label: str
    next_touch: str


class OutcomeKeys(Static):
    """A compact grid of outcome keys, filled in by the call list screen."""

    DEFAULT_CSS = """
    OutcomeKeys {
        height: auto;
        padding: 0 1;
        border-top: solid $border-blurred;
    }
    """

    COLUMNS = 4

    def show_hints(self, hints: Sequence[OutcomeHint]) -> None:
        """Lay the keys out in rows of four."""
        grid = Table.grid(padding=(0, 3), expand=True)
        for _ in range(self.COLUMNS):
            grid.add_column(ratio=1)
        cells: list[Text] = []
        for hint in hints:
            cell = Text()
            cell.append(f" {hint.key} ", style="reverse bold")
            cell.append(f" {hint.label}", style="bold")
            cell.append(f" → {hint.next_touch}", style="dim")
            cells.append(cell)
        for start in range(0, len(cells), self.COLUMNS):
            row = cells[start : start + self.COLUMNS]
            grid.add_row(*row, *([Text()] * (self.COLUMNS - len(row))))
        self.update(grid)
