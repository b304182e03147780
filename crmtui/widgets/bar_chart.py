"""Text charts for the terminal: horizontal bars with captions, and sparklines.

Plain functions returning Rich text plus a small widget that redraws its bars to
its own width; no store imports, the screen hands over the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

BLOCKS = " ▏▎▍▌▋▊▉█"
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, the value it is drawn to, and the words printed after it."""

    label: str
    value: float
    caption: str = ""
    short: str = ""
    """A shorter caption for a narrow chart (the same figures); empty: the caption."""


def bar_text(value: float, biggest: float, width: int, style: str = "") -> Text:
    """A bar `width` cells long at full scale, with eighth-cell steps."""
    if biggest <= 0 or value <= 0 or width <= 0:
        return Text("")
    eighths = round(value / biggest * width * 8)
    full, part = divmod(max(1, eighths), 8)
    return Text("█" * full + (BLOCKS[part] if part else ""), style=style)


def sparkline(values: Sequence[int | float]) -> str:
    """One character per value, scaled to the largest; zero is the lowest block."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))] for v in values)


def bar_table(bars: Sequence[Bar], width: int, style: str = "") -> Table:
    """Labels, bars scaled to the biggest value, and captions, as a grid.

    The captions are figures and are never cut: when they do not fit with the labels,
    the short captions are used, then the bars are left out, then the labels are cut
    with "…".
    """
    label_width = max((len(b.label) for b in bars), default=0)
    captions = [b.caption for b in bars]
    caption_width = max((len(c) for c in captions), default=0)
    room = width - label_width - caption_width - 4
    if room < 4 and any(b.short for b in bars):
        captions = [b.short or b.caption for b in bars]
        caption_width = max(len(c) for c in captions)
        room = width - label_width - caption_width - 4
    biggest = max((b.value for b in bars), default=0)
    grid = Table.grid(padding=(0, 1))
    if room >= 4:
        grid.add_column(no_wrap=True, width=label_width)
        grid.add_column(no_wrap=True, width=room)
    else:
        # No room for a bar: the label gets what the caption leaves.
        label_room = max(1, min(label_width, width - caption_width - 2))
        grid.add_column(no_wrap=True, width=label_room, overflow="ellipsis")
    grid.add_column(no_wrap=True, justify="right")
    for b, caption in zip(bars, captions, strict=True):
        label = Text(b.label, no_wrap=True, overflow="ellipsis")
        if room >= 4:
            grid.add_row(label, bar_text(b.value, biggest, room, style), Text(caption))
        else:
            grid.add_row(label, Text(caption))
    return grid


class BarChart(Static):
    """Horizontal bars that fit the widget's width; `show_bars` replaces them."""

    DEFAULT_CSS = """
    BarChart {
        height: auto;
    }
    """

    def __init__(
        self, *, bar_style: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._bars: list[Bar] = []
        self._empty = ""
        self._bar_style = bar_style

    @property
    def bars(self) -> Sequence[Bar]:
        """The bars shown."""
        return tuple(self._bars)

    def show_bars(self, bars: Sequence[Bar], *, empty: str = "nothing to show") -> None:
        """Replace the bars (or say `empty` when there are none)."""
        self._bars = list(bars)
        self._empty = empty
        self._draw()

    def on_resize(self) -> None:
        """Bars are drawn to the width, so draw them again."""
        self._draw()

    def _draw(self) -> None:
        if not self._bars:
            self.update(Text(self._empty, style="italic dim"))
            return
        width = self.content_size.width or 60
        self.update(bar_table(self._bars, width, self._bar_style))
