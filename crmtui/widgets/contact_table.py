"""A table of contacts: one window of search results, do-not-call rows marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from crmtui.widgets.steady_table import SteadyDataTable

# (key, label, share of the width, minimum width): columns are sized to the
# table so a long company name is cut short instead of pushing City off screen.
# The name is what an agent reads first: at 80 columns it keeps 16 cells (most
# "First Last" names whole); a phone keeps 17 ("+33 1 42 68 53 00"), as a number
# cut short cannot be dialled.
COLUMNS = (
    ("name", "Name", 0.22, 16),
    ("company", "Company", 0.21, 10),
    ("phone", "Phone", 0.14, 17),
    ("email", "Email", 0.28, 10),
    ("city", "City", 0.15, 6),
)
DNC_BADGE = "DNC"


@dataclass(frozen=True)
class ContactRow:
    """What the table shows of one contact; the screen builds these from the store."""

    id: str
    name: str
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    do_not_call: bool = False
    archived: bool = False


def _cell(value: str | None, style: str = "") -> Text:
    """A one-line cell that ends in an ellipsis when the column is too narrow."""
    return Text(value or "", style=style, no_wrap=True, overflow="ellipsis")


def _cell_fit(text: Text) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class ContactTable(SteadyDataTable[Text]):
    """Rows of contacts; posts `ContactChosen` when one is opened (Enter or click).

    A SteadyDataTable: coming back to Contacts does not redraw every visible cell.
    """

    DEFAULT_CSS = """
    ContactTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding(
            "enter", "select_cursor", "Open", id="contacts.open", tooltip="Open the contact card"
        ),
    ]

    class ContactChosen(Message):
        """The user opened the contact under the cursor."""

        def __init__(self, table: ContactTable, contact_id: str) -> None:
            super().__init__()
            self.table = table
            self.contact_id = contact_id

        @property
        def control(self) -> ContactTable:
            """The table the contact was chosen in."""
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id, classes=classes, cursor_type="row", zebra_stripes=True, show_row_labels=False
        )
        self._rows: list[ContactRow] = []

    def on_mount(self) -> None:
        """Declare the columns; rows come and go with each search."""
        self._add_columns(self.size.width)

    def on_resize(self) -> None:
        """Share the new width between the columns."""
        if self._column_widths(self.size.width) != [c.width for c in self.columns.values()]:
            self._rebuild()

    def _column_widths(self, total: int) -> list[int]:
        # Each cell has one column of padding on either side; keep one for the scrollbar.
        usable = max(0, total - 2 * len(COLUMNS) - 2)
        widths = [max(minimum, int(usable * share)) for _, _, share, minimum in COLUMNS]
        minimums = [minimum for *_, minimum in COLUMNS]
        # Minimums can add up to more than the room there is: take the excess back
        # from whichever column has the most to spare.
        while sum(widths) > usable:
            spare = [w - m for w, m in zip(widths, minimums, strict=True)]
            widest = max(range(len(widths)), key=spare.__getitem__)
            if spare[widest] <= 0:
                break
            widths[widest] -= 1
        return widths

    def _add_columns(self, total: int) -> None:
        for (key, label, _, _), width in zip(COLUMNS, self._column_widths(total), strict=True):
            self.add_column(label, key=key, width=width)

    def _rebuild(self) -> None:
        row = self.cursor_row
        self.clear(columns=True)
        self._add_columns(self.size.width)
        self._add_rows()
        if self._rows:
            self.move_cursor(row=min(row, len(self._rows) - 1), scroll=True)

    @property
    def contacts(self) -> Sequence[ContactRow]:
        """The rows currently shown, in display order."""
        return tuple(self._rows)

    @property
    def highlighted_contact(self) -> ContactRow | None:
        """The row under the cursor, if any."""
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def show_contacts(self, rows: Sequence[ContactRow]) -> None:
        """Replace the rows; the cursor goes back to the best match."""
        self._rows = list(rows)
        self.clear()
        self._add_rows()
        if self._rows:
            self.move_cursor(row=0, scroll=True)

    def _add_rows(self) -> None:
        error = self.app.current_theme.error or "red"
        muted = "dim"
        for row in self._rows:
            # Cells are Text, never str: DataTable would read "[...]" in a name as markup.
            name = _cell(row.name)
            if row.do_not_call:
                name = Text.assemble((f"{DNC_BADGE} ", f"bold {error}"), name)
            if row.archived:
                name.append(" (archived)", style=muted)
            phone = _cell(row.phone, style=f"strike {error}" if row.do_not_call else "")
            self.add_row(
                _cell_fit(name),
                _cell(row.company),
                phone,
                _cell(row.email),
                _cell(row.city),
                key=row.id,
            )

    def on_click(self, event: events.Click) -> None:
        """One click on a row opens it (DataTable alone would only highlight it)."""
        row = event.style.meta.get("row")
        # A click on the highlighted row is already a selection for DataTable;
        # runs before DataTable's own handler, so the cursor has not moved yet.
        if isinstance(row, int) and 0 <= row < len(self._rows) and row != self.cursor_row:
            self.post_message(self.ContactChosen(self, self._rows[row].id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Turn the table's generic selection into a message about a contact."""
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.ContactChosen(self, event.row_key.value))
