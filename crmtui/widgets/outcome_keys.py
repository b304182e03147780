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
    GAP = 1

    _hints: Sequence[OutcomeHint] = ()

    def show_hints(self, hints: Sequence[OutcomeHint]) -> None:
        """Lay the keys out in rows of four."""
        self._hints = tuple(hints)
        self._lay_out()

    def on_resize(self) -> None:
        """Lay the keys out again for the new width."""
        self._lay_out()

    def _lay_out(self) -> None:
        # A cell that wraps splits an outcome's name over two lines ("Not / interested"),
        # which a caller reading the keys mid-call misreads; where the full cells do not
        # fit, the next touch is left out (each key's tooltip still names it) and a
        # label that is still too long ends in "…" on its one line.
        width = self.content_size.width
        column = (width - self.GAP * (self.COLUMNS - 1)) // self.COLUMNS if width else 0
        full = [self._cell(hint, with_next=True) for hint in self._hints]
        fits = not column or all(cell.cell_len <= column for cell in full)
        cells = full if fits else [self._cell(hint, with_next=False) for hint in self._hints]
        grid = Table.grid(padding=(0, self.GAP, 0, 0), expand=True)
        for _ in range(self.COLUMNS):
            grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        for start in range(0, len(cells), self.COLUMNS):
            row = cells[start : start + self.COLUMNS]
            grid.add_row(*row, *([Text()] * (self.COLUMNS - len(row))))
        self.update(grid)

    @staticmethod
    def _cell(hint: OutcomeHint, *, with_next: bool) -> Text:
        cell = Text(no_wrap=True, overflow="ellipsis")
        cell.append(f" {hint.key} ", style="reverse bold")
        cell.append(f" {hint.label}", style="bold")
        if with_next:
            cell.append(f" → {hint.next_touch}", style="dim")
        return cell
