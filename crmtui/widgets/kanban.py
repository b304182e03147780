"""A keyboard-driven kanban board: lanes side by side, a window of cards each, one cursor.

The board draws only what fits: each lane shows the cards around the cursor and
says how many more there are, so a lane of 20,000 deals costs what a lane of
twenty does. It knows nothing of deals or the store: the screen hands it lanes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

CARD_LINES = 3  # title, detail, note
GAP = 1  # columns between lanes


@dataclass(frozen=True)
class KanbanCard:
    """One card: an id for messages, two lines of text, and a warning flag."""

    id: str
    title: str
    detail: str = ""
    note: str = ""
    flagged: bool = False


@dataclass(frozen=True)
class KanbanLane:
    """One lane: a title, a few summary lines, its cards, and how many were left out."""

    id: str
    title: str
    summary: tuple[str, ...] = ()
    cards: tuple[KanbanCard, ...] = ()
    more: int = 0
    muted: bool = False
    note: str = ""
    tail: str = ""
    """Kept whole after the title (a stage's probability): a narrow lane cuts the title."""


class KanbanBoard(Widget, can_focus=True):
    """Lanes of cards; arrows move the cursor, Enter posts `CardChosen`."""

    DEFAULT_CSS = """
    KanbanBoard {
        height: 1fr;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("left", "move_lane(-1)", "Lane", show=False, id="kanban.left"),
        Binding("right", "move_lane(1)", "Lane", show=False, id="kanban.right"),
        Binding("up", "move_card(-1)", "Card", show=False, id="kanban.up"),
        Binding("down", "move_card(1)", "Card", show=False, id="kanban.down"),
        Binding("home", "move_card(-1000000)", "First", show=False, id="kanban.first"),
        Binding("end", "move_card(1000000)", "Last", show=False, id="kanban.last"),
        Binding("enter", "choose", "Open", id="kanban.open", tooltip="Open the card"),
    ]

    lane_index: reactive[int] = reactive(0)
    card_index: reactive[int] = reactive(0)

    class CardChosen(Message):
        """The user opened the card under the cursor."""

        def __init__(self, board: KanbanBoard, card_id: str) -> None:
            super().__init__()
            self.board = board
            self.card_id = card_id

        @property
        def control(self) -> KanbanBoard:
            """The board the card was chosen on."""
            return self.board

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lanes: list[KanbanLane] = []
        self._offsets: list[int] = []
        self._lane_cache: dict[int, tuple[tuple[object, ...], list[Strip]]] = {}
        """Per lane: what its lines were drawn from, and the lines."""
        self._frame: list[Strip] = []
        self._frame_blank = Strip.blank(0)

    # ----------------------------------------------------------------- data

    @property
    def lanes(self) -> Sequence[KanbanLane]:
        """The lanes shown, left to right."""
        return tuple(self._lanes)

    @property
    def highlighted(self) -> KanbanCard | None:
        """The card under the cursor, if any."""
        if not 0 <= self.lane_index < len(self._lanes):
            return None
        cards = self._lanes[self.lane_index].cards
        return cards[self.card_index] if 0 <= self.card_index < len(cards) else None

    @property
    def highlighted_lane(self) -> KanbanLane | None:
        """The lane the cursor is in."""
        return self._lanes[self.lane_index] if 0 <= self.lane_index < len(self._lanes) else None

    def show_lanes(self, lanes: Sequence[KanbanLane], *, focus_card: str | None = None) -> None:
        """Replace the lanes; the cursor goes to `focus_card` if given, else stays put."""
        self._lanes = list(lanes)
        self._offsets = [0] * len(self._lanes)
        lane, card = self.lane_index, self.card_index
        if focus_card is not None:
            for i, candidate in enumerate(self._lanes):
                ids = [c.id for c in candidate.cards]
                if focus_card in ids:
                    lane, card = i, ids.index(focus_card)
                    break
        self._place(lane, card)
        self.refresh()

    def _place(self, lane: int, card: int) -> None:
        if not self._lanes:
            self.lane_index = self.card_index = 0
            return
        lane = max(0, min(len(self._lanes) - 1, lane))
        count = len(self._lanes[lane].cards)
        self.lane_index = lane
        self.card_index = max(0, min(count - 1, card)) if count else 0

    # ----------------------------------------------------------------- keys

    def action_move_lane(self, step: int) -> None:
        """Go to the lane left or right, at about the same height."""
        self._place(self.lane_index + step, self.card_index)
        self.refresh()

    def action_move_card(self, step: int) -> None:
        """Go up or down the lane."""
        self._place(self.lane_index, self.card_index + step)
        self.refresh()

    def action_choose(self) -> None:
        """Open the highlighted card."""
        card = self.highlighted
        if card is not None:
            self.post_message(self.CardChosen(self, card.id))

    # ----------------------------------------------------------------- drawing

    def _visible_cards(self, lane: int, room: int) -> tuple[int, int]:
        """The slice of a lane's cards that fits, keeping the cursor's card in view."""
        cards = len(self._lanes[lane].cards)
        fits = max(1, room // CARD_LINES)
        start = self._offsets[lane] if lane < len(self._offsets) else 0
        if lane == self.lane_index:
            if self.card_index < start:
                start = self.card_index
            elif self.card_index >= start + fits:
                start = self.card_index - fits + 1
        start = max(0, min(start, max(0, cards - fits)))
        if lane < len(self._offsets):
            self._offsets[lane] = start
        return start, min(cards, start + fits)

    def _layout(self) -> tuple[int, int, int]:
        """(header lines, card room, lane width) for the widget's size and lanes."""
        header_lines = 2 + max(len(lane.summary) for lane in self._lanes)
        # One line each for the "+K more" footer and the lane's own note.
        room = max(CARD_LINES, self.size.height - header_lines - 2)
        count = len(self._lanes)
        width = max(4, (self.size.width - GAP * (count - 1)) // count)
        return header_lines, room, width

    def _lane_strips(
        self, index: int, header_lines: int, room: int, width: int, base: Style
    ) -> list[Strip]:
        """One lane's lines, cut and padded to its width; drawn again only when they change.

        A cursor move changes one lane (two when it crosses): the others are taken
        from the cache instead of being laid out again on every key."""
        start, _ = self._visible_cards(index, room)
        here = index == self.lane_index
        key = (
            self._lanes[index],
            header_lines,
            room,
            width,
            start,
            self.card_index if here else -1,
            here,
            self.has_focus,
            base,
        )
        cached = self._lane_cache.get(index)
        if cached is not None and cached[0] == key:
            return cached[1]
        console = self.app.console
        strips = []
        for cell in self._lane(index, header_lines, room, width):
            cell.truncate(width, overflow=cell.overflow or "ellipsis", pad=True)
            # Text.render leaves out the Text's own style: it goes under the spans here.
            style = base + console.get_style(cell.style)
            strips.append(Strip(cell.render(console), width).apply_style(style))
        self._lane_cache[index] = (key, strips)
        return strips

    def _draw(self) -> list[Strip]:
        """Every line of the board: each lane's lines side by side.

        Lines are cut and padded to the lane width here rather than laid out by a
        Rich table or Textual's text layout, which would measure and wrap every
        line of every lane on every key."""
        base = self.rich_style
        full = self.size.width
        if not self._lanes:
            text = Text("No stages to show.")
            text.truncate(full, pad=True)
            style = base + Style(italic=True)
            return [Strip(text.render(self.app.console), full).apply_style(style)]
        header_lines, room, width = self._layout()
        gap = Strip.blank(GAP, base)
        blank = Strip.blank(width, base)
        lanes = [
            self._lane_strips(i, header_lines, room, width, base) for i in range(len(self._lanes))
        ]
        lines = []
        for y in range(max(len(lane) for lane in lanes)):
            parts: list[Strip] = []
            for i, lane in enumerate(lanes):
                if i:
                    parts.append(gap)
                parts.append(lane[y] if y < len(lane) else blank)
            lines.append(Strip.join(parts).adjust_cell_length(full, base))
        return lines

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the board once for this refresh; `render_line` hands out its lines."""
        self._frame = self._draw()
        self._frame_blank = Strip.blank(self.size.width, self.rich_style)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Line `y` of the board as drawn for this refresh."""
        return self._frame[y] if y < len(self._frame) else self._frame_blank

    def _lane(self, index: int, header_lines: int, room: int, width: int) -> list[Text]:
        lane = self._lanes[index]
        focused = self.has_focus and index == self.lane_index
        title_style = "bold reverse" if focused else "bold"
        parts: list[Text] = [lane_title(lane, width, title_style)]
        for line in lane.summary:
            parts.append(Text(line, style="dim" if lane.muted else "", no_wrap=True))
        parts.extend(Text("") for _ in range(header_lines - 1 - len(lane.summary) - 1))
        parts.append(Text("─" * 200, style="dim", overflow="crop"))
        start, end = self._visible_cards(index, room)
        if start:
            parts.append(Text(f"↑ {start} above", style="dim"))
        for i in range(start, end):
            card = lane.cards[i]
            current = index == self.lane_index and i == self.card_index
            style = "reverse" if current and self.has_focus else ("underline" if current else "")
            title = Text(card.title, style=f"bold {style}".strip(), no_wrap=True)
            if card.flagged:
                title = Text.assemble(("● ", "bold yellow"), title)
            parts.append(title)
            parts.append(Text(card.detail, style=style, no_wrap=True, overflow="ellipsis"))
            parts.append(Text(card.note, style=style or "dim", no_wrap=True, overflow="ellipsis"))
        hidden = len(lane.cards) - end + lane.more
        if hidden:
            parts.append(Text(f"+{hidden:,} more", style="italic dim"))
        if not lane.cards:
            parts.append(Text(lane.note or "no deals", style="italic dim"))
        return parts


def lane_title(lane: KanbanLane, width: int, style: str) -> Text:
    """The lane's title cut to `width` with "…", its tail kept whole ("Negoti… 75%")."""
    title = Text(lane.title, style=style, no_wrap=True, overflow="ellipsis")
    if not lane.tail:
        return title
    room = width - len(lane.tail) - 1
    if room < 2:
        # Too narrow for both: the tail alone says less than a cut title would.
        title.append(f" {lane.tail}")
        return title
    title.truncate(room, overflow="ellipsis")
    title.append(f" {lane.tail}")
    return title
