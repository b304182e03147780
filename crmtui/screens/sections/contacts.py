"""The Contacts workflow: search as you type, a window of results, open a card.

Threading invariant: every SQLite call runs in a thread worker and reports back
with a message; handlers on the UI thread are the only code touching widgets.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from crmtui.reports.do_not_call import do_not_call_ids
from crmtui.search.lookup import ContactHit, search_contacts
from crmtui.search.recent import recent_contacts
from crmtui.widgets.contact_table import ContactRow, ContactTable
from crmtui.widgets.footer import SteadyFooter
from crmtui.widgets.text_fields import FieldInput

# Never load every row: DataTable measures each row it holds (TARGETS.md).
RESULT_WINDOW = 50


NO_CONTACTS = "No contacts yet — press ctrl+n to add one or run `crm import csv FILE`"


def describe_results(query: str, count: int, elapsed_ms: float | None) -> str:
    """The status line for one finished search."""
    query = query.strip()
    if not query:
        text = f"{count} most recently updated contacts" if count else NO_CONTACTS
    elif count == 0:
        text = f"No contact matches “{query}”"
    elif count >= RESULT_WINDOW:
        text = f"Best {count} matches for “{query}”"
    else:
        text = f"{count} {'match' if count == 1 else 'matches'} for “{query}”"
    if elapsed_ms is not None:
        text += f" · {elapsed_ms:.0f} ms"
    return text


def to_rows(hits: Sequence[ContactHit], flagged: set[str]) -> list[ContactRow]:
    """Turn store hits into the rows the table widget shows."""
    return [
        ContactRow(
            id=h.id,
            name=h.name,
            company=h.company,
            phone=h.phone,
            email=h.email,
            city=h.city,
            do_not_call=h.id in flagged,
            archived=h.archived,
        )
        for h in hits
    ]


class ContactsScreen(Screen[None]):
    """Search box over a result table; Enter opens the contact card."""

    TITLE = "Contacts"
    CSS_PATH = "contacts.tcss"
    BINDINGS = [
        Binding(
            "slash",
            "focus_search",
            "Search",
            # Kept out of the footer (the box is in plain sight) so every section key fits
            # in 120 columns; it is listed in the Keys panel.
            show=False,
            id="contacts.focus_search",
            tooltip="Type to search contacts",
        ),
        # ctrl+n, not a letter: the search box has the focus, so letters are the query.
        Binding(
            "ctrl+n",
            "app.new_contact",
            "New",
            id="contacts.new_contact",
            tooltip="Add a contact (probable duplicates are shown before it is saved)",
        ),
        Binding(
            "escape",
            "escape",
            "Back",
            id="contacts.back",
            tooltip="From the list: back to the search box; in the box: clear it",
        ),
        # ctrl, as for New: letters typed here are the query.
        Binding(
            "ctrl+o",
            "open_account",
            "Account",
            show=False,
            id="contacts.open_account",
            tooltip="Open the highlighted contact's account",
        ),
        # Arrows move the highlight while the cursor stays in the box (as in fzf), so
        # keys typed quickly never race a focus change; Enter opens the highlight.
        # Priority, because Input binds the arrows to scrolling; check_action turns
        # them off when the list itself has focus.
        # Not in the footer: arrows need no saying there, and at 120 columns the
        # section keys then fit whole ("f7 Duplicates"); `?` lists them.
        Binding(
            "down",
            "move(1)",
            "Move",
            key_display="↑↓",
            show=False,
            priority=True,
            id="contacts.down",
        ),
        Binding("up", "move(-1)", "Move", show=False, priority=True, id="contacts.up"),
        Binding("pagedown", "move(10)", "Page", show=False, priority=True, id="contacts.page_down"),
        Binding("pageup", "move(-10)", "Page", show=False, priority=True, id="contacts.page_up"),
    ]

    class SearchFinished(Message):
        """A search (or the recent list, for an empty query) came back from the database."""

        def __init__(
            self, query: str, generation: int, rows: list[ContactRow], elapsed_ms: float
        ) -> None:
            super().__init__()
            self.query = query
            self.generation = generation
            self.rows = rows
            self.elapsed_ms = elapsed_ms

    def __init__(self, db: sqlite3.Connection, *, show_timings: bool = True) -> None:
        super().__init__()
        self._db = db
        self._show_timings = show_timings
        # Bumped on every keystroke; a result from an older generation is stale.
        self._generation = 0
        self._shown_generation = 0
        # Keys typed ahead of the results (a fast typist's "smyth ↓ ↓ Enter") are
        # kept and applied to the rows they were meant for, not to the old ones.
        self._pending_move = 0
        self._open_when_shown = False
        self._last_query = ""

    def compose(self) -> ComposeResult:
        """Search box, results, status line."""
        yield Header()
        yield FieldInput(
            placeholder="Search name, company, email, phone, city or tag…",
            id="search",
        )
        yield ContactTable(id="results")
        yield Static("Loading contacts…", id="status")
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Start on the search box with the recent contacts listed."""
        self.search_box.focus()
        self.start_search("")

    @property
    def search_box(self) -> Input:
        """The query input."""
        return self.query_one("#search", Input)

    @property
    def results(self) -> ContactTable:
        """The result table."""
        return self.query_one("#results", ContactTable)

    # ----------------------------------------------------------------- searching

    @property
    def search_pending(self) -> bool:
        """True while the rows on screen are not yet those of the current query."""
        return self._shown_generation != self._generation

    def start_search(self, query: str) -> None:
        """Run a search for `query`; any search still running becomes stale."""
        self._generation += 1
        self._pending_move = 0
        self._open_when_shown = False
        self._last_query = query
        self.run_search(query, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contacts-search")
    def run_search(self, query: str, generation: int) -> None:
        """Query the database off the UI thread and post the rows back."""
        started = time.perf_counter()
        if query.strip():
            hits = search_contacts(self._db, query, limit=RESULT_WINDOW)
        else:
            hits = recent_contacts(self._db, limit=RESULT_WINDOW)
        rows = to_rows(hits, do_not_call_ids(self._db, [h.id for h in hits]))
        elapsed_ms = (time.perf_counter() - started) * 1000
        if not get_current_worker().is_cancelled:
            self.post_message(self.SearchFinished(query, generation, rows, elapsed_ms))

    @on(Input.Changed, "#search")
    def _query_changed(self, event: Input.Changed) -> None:
        self.start_search(event.value)
        self.refresh_bindings()  # Escape (clear) appears and disappears with the text

    @on(SearchFinished)
    def _show_results(self, event: SearchFinished) -> None:
        # exclusive=True cancels older workers, but a thread cannot be stopped
        # mid-query: the generation check is what keeps stale rows off screen.
        if event.generation != self._generation:
            return
        self._shown_generation = event.generation
        self.results.show_contacts(event.rows)
        self.query_one("#status", Static).update(
            describe_results(
                event.query, len(event.rows), event.elapsed_ms if self._show_timings else None
            )
        )
        if self._pending_move:
            self.action_move(self._pending_move)
            self._pending_move = 0
        if self._open_when_shown:
            self._open_when_shown = False
            self._open_best()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed database call on this screen is reported."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self._pending_move, self._open_when_shown = 0, False
            self.query_one("#status", Static).update(f"Search failed: {error}")
            self.notify(f"Search failed: {error}", severity="error")

    # ----------------------------------------------------------------- opening

    @on(Input.Submitted, "#search")
    def _open_best(self) -> None:
        if self.search_pending:
            self._open_when_shown = True
            return
        chosen = self.results.highlighted_contact
        if chosen is not None:
            self.open_contact(chosen.id)

    @on(ContactTable.ContactChosen, "#results")
    def _open_chosen(self, event: ContactTable.ContactChosen) -> None:
        self.open_contact(event.contact_id)

    def open_contact(self, contact_id: str) -> None:
        """Show one contact's card on top of this screen."""
        # Imported on first use: the card and its quick-log form are ~16 ms of imports
        # that start-up need not pay (Startup.after_start_up loads them soon after).
        from crmtui.screens.cards.contact_card import ContactCardScreen

        self.app.push_screen(ContactCardScreen(self._db, contact_id))

    # ----------------------------------------------------------------- keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer Back only where it does something, and Move only from the box."""
        if action == "escape":
            return self.results.has_focus or bool(self.search_box.value)
        if action == "move":
            # In the list itself the table's own arrow keys apply.
            return self.search_box.has_focus
        return True

    def action_open_account(self) -> None:
        """Open the account of the highlighted contact (read in a worker)."""
        chosen = self.results.highlighted_contact
        if chosen is not None:
            self.find_account(chosen.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contacts-account")
    def find_account(self, contact_id: str) -> None:
        """The contact's account id, then its card (or a word when there is none)."""
        row = self._db.execute(
            "SELECT account_id FROM contact WHERE id = ?", (contact_id,)
        ).fetchone()
        if row is None or row[0] is None:
            self.app.call_from_thread(self.notify, "This contact has no account.", title="Account")
            return
        opener: Any = self.app
        self.app.call_from_thread(opener.open_account, row[0])

    def action_focus_search(self) -> None:
        """Put the cursor in the search box."""
        self.search_box.focus()

    def action_move(self, rows: int) -> None:
        """Move the highlighted result without leaving the search box."""
        if self.search_pending:
            self._pending_move += rows
            return
        table = self.results
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + rows)))

    def action_escape(self) -> None:
        """From the list, go back to the box; in the box, clear the query."""
        if self.results.has_focus:
            self.search_box.focus()
        else:
            self.search_box.clear()
