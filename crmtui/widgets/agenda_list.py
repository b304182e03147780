"""The agenda as one list: a heading per bucket, one line per reminder or contact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist


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


class AgendaList(OptionList):
    """Headings are disabled options, so the cursor only ever rests on an item."""

    DEFAULT_CSS = """
    AgendaList {
        height: 1fr;
        border: none;
    }
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="agenda.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="agenda.up"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: dict[str, AgendaRow] = {}

    @property
    def rows(self) -> list[AgendaRow]:
        """The items shown, in display order (headings left out)."""
        return list(self._rows.values())

    @property
    def current(self) -> AgendaRow | None:
        """The item under the cursor, if any."""
        if self.highlighted is None:
            return None
        option = self.get_option_at_index(self.highlighted)
        return self._rows.get(option.id or "")

    def show_rows(self, rows: Sequence[AgendaRow], *, empty: dict[str, str]) -> None:
        """Replace the list; the cursor stays on the same item, else at the same place."""
        keep_key = self.current.key if self.current else None
        keep_index = self.highlighted or 0
        self._rows = {row.key: row for row in rows}
        options: list[Option] = []
        for bucket, title in BUCKET_TITLES.items():
            items = [r for r in rows if r.bucket == bucket]
            heading = Text(f"{title} ({len(items)})", style="bold")
            options.append(Option(heading, id=f"{HEADING}{bucket}", disabled=True))
            if not items and bucket in empty:
                options.append(
                    Option(Text(f"   {empty[bucket]}", style="dim italic"), disabled=True)
                )
            options.extend(Option(self._line(r), id=r.key) for r in items)
        self.set_options(options)
        target = self._index_of(keep_key) if keep_key else None
        if target is None:
            target = self._first_enabled_from(min(keep_index, self.option_count - 1))
        self.highlighted = target

    def _index_of(self, key: str) -> int | None:
        try:
            return self.get_option_index(key)
        except OptionDoesNotExist:  # the item is gone (done, deferred out of range)
            return None

    def _first_enabled_from(self, start: int) -> int | None:
        count = self.option_count
        for index in [*range(max(start, 0), count), *range(min(start, count) - 1, -1, -1)]:
            if not self.get_option_at_index(index).disabled:
                return index
        return None

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
        if row.phone and not row.do_not_call:
            line.append(f"   {row.phone}", style="dim")
        line.no_wrap = True
        line.overflow = "ellipsis"
        return line
