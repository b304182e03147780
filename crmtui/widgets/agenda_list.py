"""The agenda as one list: a heading per bucket, one line per reminder or contact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crmtui.widgets.steady_table import one_line_cell


@dataclass(frozen=True)
class AgendaRow:
    """One line of the agenda; the screen builds these from the store's agenda."""

    key: str  # tickler id, or "contact:<id>" for a stay-in-touch line
    bucket: str  # "overdue", "today", "upcoming" or "stay_in_touch"
    when: str  # already formatted on the user's wall clock
    about: str
    text: str
    phone: str | None = None
    contact_id: str | None = None
    tickler_id: str | None = None
    do_not_call: bool = False
    recurring: bool = False
    snoozed: str | None = None


BUCKET_TITLES = {
    "overdue": "Overdue",
    "today": "Today",
    "upcoming": "Upcoming",
    "stay_in_touch": "Stay in touch",
}
HEADING = "heading:"


class _Line(NamedTuple):
    """One line of the list: a heading, a note under an empty bucket, or a row."""

    row: AgendaRow | None
    """The row, for an item; None for a heading or a note (the cursor skips those)."""
    text: Text | None
    """The text of a heading or a note; an item's is made when it is first drawn."""


class AgendaList(ScrollView, can_focus=True):
    """The agenda, drawn line by line: only the lines on screen are ever rendered.

    An OptionList measured and styled every option when given them: 4,000 reminders
    (the agenda of the 1M-contact demo) took ~0.8 s of the UI thread, felt as a
    frozen app on F2 and, when the section was built ahead, by whoever typed then.
    This keeps the rows and draws a line when it is shown. Headings are not
    selectable: the cursor only ever rests on an item. Looks as the OptionList did.
    """

    COMPONENT_CLASSES = {"agenda-list--highlighted", "agenda-list--heading"}
    DEFAULT_CSS = """
    AgendaList {
        height: 1fr;
        padding: 0 1;
        color: $foreground;
        background: $surface;
        overflow-x: hidden;
        & > .agenda-list--highlighted {
            color: $foreground;
            background: $block-cursor-blurred-background;
        }
        &:focus {
            border: tall $border;
            background-tint: $foreground 5%;
            & > .agenda-list--highlighted {
                color: $block-cursor-foreground;
                background: $block-cursor-background;
                text-style: $block-cursor-text-style;
            }
        }
        & > .agenda-list--heading {
            color: $text-disabled;
        }
    }
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="agenda.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="agenda.up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="agenda.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="agenda.page_up"),
        Binding("home", "first", "First", show=False, id="agenda.first"),
        Binding("end", "last", "Last", show=False, id="agenda.last"),
        Binding("enter", "select", "Select", show=False, id="agenda.select"),
    ]

    class Highlighted(Message):
        """The cursor moved to another row."""

    class Selected(Message):
        """The row under the cursor was chosen (Enter or a click)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[_Line] = []
        self._index: dict[str, int] = {}
        """Line number of each row, by key."""
        self._strips: dict[tuple[int, bool, int], Strip] = {}
        """Drawn lines by (line, highlighted, width); cleared when anything they show changes."""
        self.highlighted: int | None = None
        """The line under the cursor (always an item's), or None for an empty list."""

    # ------------------------------------------------------------------- rows

    @property
    def rows(self) -> list[AgendaRow]:
        """The items shown, in display order (headings left out)."""
        return [line.row for line in self._lines if line.row is not None]

    @property
    def current(self) -> AgendaRow | None:
        """The item under the cursor, if any."""
        return None if self.highlighted is None else self._lines[self.highlighted].row

    def show_rows(self, rows: Sequence[AgendaRow], *, empty: dict[str, str]) -> None:
        """Replace the list; the cursor stays on the same item, else at the same place."""
        keep_key = self.current.key if self.current else None
        keep_line = self.highlighted or 0
        lines: list[_Line] = []
        for bucket, title in BUCKET_TITLES.items():
            items = [r for r in rows if r.bucket == bucket]
            heading = Text(f"{title} ({len(items)})", style="bold", overflow="ellipsis")
            lines.append(_Line(None, heading))
            if not items and bucket in empty:
                note = Text(f"   {empty[bucket]}", style="dim italic", overflow="ellipsis")
                lines.append(_Line(None, note))
            lines.extend(_Line(r, None) for r in items)
        self._lines = lines
        self._index = {line.row.key: n for n, line in enumerate(lines) if line.row is not None}
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(lines))
        target = self._index.get(keep_key) if keep_key else None
        if target is None:
            target = self._first_item_from(min(keep_line, len(lines) - 1))
        self._move_to(target, announce=False)
        self.refresh()

    def _first_item_from(self, start: int) -> int | None:
        """The first item at or after `start`, else the last one before it."""
        found = self._step(max(start, 0), 1)
        return found if found is not None else self._step(min(start, len(self._lines)) - 1, -1)

    # ------------------------------------------------------------------ cursor

    def _move_to(self, line: int | None, *, announce: bool = True) -> None:
        if line == self.highlighted:
            return
        self.highlighted = line
        self._strips = {k: v for k, v in self._strips.items() if not k[1]}
        if line is not None:
            self._keep_in_view(line)
        self.refresh()
        if announce:
            self.post_message(self.Highlighted())

    def _keep_in_view(self, line: int) -> None:
        top = round(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if line < top:
            self.scroll_to(y=line, animate=False, immediate=True)
        elif height and line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False, immediate=True)

    def _step(self, start: int, step: int) -> int | None:
        """The nearest item from `start` (included) going by `step`; None past either end."""
        n = start
        while 0 <= n < len(self._lines):
            if self._lines[n].row is not None:
                return n
            n += step
        return None

    def action_cursor_down(self) -> None:
        """The next item."""
        start = -1 if self.highlighted is None else self.highlighted
        found = self._step(start + 1, 1)
        if found is not None:
            self._move_to(found)

    def action_cursor_up(self) -> None:
        """The item before."""
        if self.highlighted is not None:
            found = self._step(self.highlighted - 1, -1)
            if found is not None:
                self._move_to(found)

    def action_page(self, direction: int) -> None:
        """A screenful on (or back), onto the nearest item."""
        if self.highlighted is None:
            return
        height = max(1, self.scrollable_content_region.height - 1)
        target = min(max(self.highlighted + direction * height, 0), len(self._lines) - 1)
        found = self._step(target, direction)
        if found is None:
            found = self._step(target, -direction)
        self._move_to(found)

    def action_first(self) -> None:
        """The first item."""
        self._move_to(self._step(0, 1))

    def action_last(self) -> None:
        """The last item."""
        self._move_to(self._step(len(self._lines) - 1, -1))

    def action_select(self) -> None:
        """Choose the item under the cursor."""
        if self.highlighted is not None:
            self.post_message(self.Selected())

    def on_click(self, event: events.Click) -> None:
        """A click on an item highlights and chooses it, as with an OptionList."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        line = round(self.scroll_offset.y) + offset.y
        if 0 <= line < len(self._lines) and self._lines[line].row is not None:
            self._move_to(line)
            self.action_select()

    # ----------------------------------------------------------------- drawing

    def notify_style_update(self) -> None:
        """Drawn lines carry the styles: draw them again."""
        super().notify_style_update()
        self._strips.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._strips.clear()  # the cursor's colours follow the focus
        super()._on_focus(event)

    def _on_blur(self, event: events.Blur) -> None:
        self._strips.clear()
        super()._on_blur(event)

    def on_resize(self) -> None:
        """Keep the cursor in view at the new height."""
        self.virtual_size = Size(self.size.width, len(self._lines))
        if self.highlighted is not None:
            self._keep_in_view(self.highlighted)

    def render_line(self, y: int) -> Strip:
        """Line `y` of the visible part of the list."""
        width = self.scrollable_content_region.width
        n = round(self.scroll_offset.y) + y
        base = self.rich_style
        if not 0 <= n < len(self._lines):
            return Strip.blank(width, base)
        highlighted = n == self.highlighted
        key = (n, highlighted, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._draw(self._lines[n], highlighted, width, base)
            self._strips[key] = strip
        return strip

    def _draw(self, line: _Line, highlighted: bool, width: int, base: Style) -> Strip:
        # Whole component styles, not partial ones: their colours have alphas,
        # blended over the list's background as the OptionList did.
        if line.row is None:
            style = self.get_component_rich_style("agenda-list--heading")
            text = line.text or Text()
        else:
            style = (
                self.get_component_rich_style("agenda-list--highlighted") if highlighted else base
            )
            text = self._line(line.row)
            phone = line.row.phone
            # The number only when it fits whole: "98 38…" cannot be dialled or read.
            if phone and not line.row.do_not_call and text.cell_len + 3 + len(phone) <= width:
                text.append(f"   {phone}", style="dim")
        return Strip(one_line_cell(self.app.console, text, width, 0, style, Style.null()))

    def _line(self, row: AgendaRow) -> Text:
        error = self.app.current_theme.error or "red"
        line = Text("   ")
        when_style = f"bold {error}" if row.bucket == "overdue" else "bold"
        line.append(f"{row.when:<18}", style=when_style)
        line.append(row.about or "(nobody)", style="bold")
        if row.do_not_call:
            line.append(" DNC", style=f"bold {error}")
        if row.text:
            line.append(f" — {row.text}")
        if row.recurring:
            line.append(" ↻", style="dim")
        if row.snoozed:
            line.append(f" (was snoozed until {row.snoozed})", style="dim")
        line.no_wrap = True
        line.overflow = "ellipsis"
        return line
