"""The agenda: overdue, today, upcoming and stay-in-touch, with keys to act on each.

Threading invariant: the agenda is read and every change is written in thread
workers (through the app's `DailyContext`); handlers on the UI thread update the
widgets. The list is read again after each change and whenever the screen is shown,
unless nothing was committed since the last read and it is less than a minute old.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import in_full, in_list
from crmtui.domain.when import defer_target, parse_when
from crmtui.reports.agenda import Agenda, AgendaItem, StayInTouch, load_agenda
from crmtui.reports.cache import report_cache
from crmtui.screens.cards.contact_card import ContactCardScreen
from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.prompts import WhenPrompt
from crmtui.screens.dialogs.quick_log import Chosen
from crmtui.widgets.agenda_list import AgendaList, AgendaRow
from crmtui.widgets.footer import SteadyFooter

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

UPCOMING_DAYS = 7
# The buckets (overdue, today) move with the clock: a list read longer ago than this
# is read again on the next visit even when nothing was committed.
FRESH_S = 60.0
AGENDA_KEY = ("agenda", UPCOMING_DAYS)
"""The agenda's entry in the app's report cache."""
EMPTY = {
    "overdue": "nothing overdue",
    "today": "nothing else due today",
    "upcoming": f"nothing in the next {UPCOMING_DAYS} days",
    "stay_in_touch": "everyone with a cadence was touched in time",
}


def item_row(item: AgendaItem, bucket: str, now: datetime) -> AgendaRow:
    """An agenda reminder as a list row."""
    was_snoozed = item.snoozed_until is not None and item.snoozed_until <= now
    return AgendaRow(
        key=item.tickler_id,
        bucket=bucket,
        when=in_list(item.due_at, now),
        about=item.about,
        text=item.text,
        phone=item.contact_phone,
        contact_id=item.contact_id,
        tickler_id=item.tickler_id,
        do_not_call=item.do_not_call,
        recurring=item.recurring,
        snoozed=in_list(item.snoozed_until, now) if was_snoozed and item.snoozed_until else None,
    )


def stay_row(person: StayInTouch, now: datetime) -> AgendaRow:
    """A contact owed a touch as a list row."""
    if person.last_touched is None:
        last = "never touched"
    else:
        last = f"last touched {(now.date() - person.last_touched.date()).days} days ago"
    return AgendaRow(
        key=f"contact:{person.contact_id}",
        bucket="stay_in_touch",
        when=f"every {person.cadence_days}d",
        about=person.name + (f" ({person.company})" if person.company else ""),
        text=last,
        phone=person.phone,
        contact_id=person.contact_id,
        do_not_call=person.do_not_call,
    )


def agenda_rows(agenda: Agenda) -> list[AgendaRow]:
    """Every line of the agenda, bucket by bucket."""
    now = agenda.now
    rows = [item_row(i, "overdue", now) for i in agenda.overdue]
    rows += [item_row(i, "today", now) for i in agenda.today]
    rows += [item_row(i, "upcoming", now) for i in agenda.upcoming]
    rows += [stay_row(p, now) for p in agenda.stay_in_touch]
    return rows


def agenda_counts(agenda: Agenda) -> Text:
    """The header line: how much is in each bucket."""
    error = "bold red" if agenda.overdue else "bold"
    line = Text()
    line.append(f"{len(agenda.overdue)} overdue", style=error)
    line.append(f"  ·  {len(agenda.today)} today", style="bold")
    line.append(f"  ·  {len(agenda.upcoming)} upcoming")
    line.append(f"  ·  {len(agenda.stay_in_touch)} to stay in touch with")
    line.append(f"      {in_full(agenda.now)}", style="dim")
    return line


class AgendaScreen(UsesDaily, Screen[None]):
    """What needs doing, and the keys to do it."""

    TITLE = "Agenda"
    CSS_PATH = "agenda.tcss"
    BINDINGS = [
        # Priority: the list's own Enter would hide this one from the Footer.
        Binding(
            "enter",
            "open",
            "Open",
            priority=True,
            id="agenda.open",
            tooltip="Open the contact's card",
        ),
        Binding("o", "open", "Open", show=False, id="agenda.open_o"),
        Binding("d", "done", "Done", id="agenda.done", tooltip="Mark the reminder done"),
        Binding("s", "snooze", "Snooze", id="agenda.snooze", tooltip="Hide it until a moment"),
        Binding("m", "defer", "Defer", id="agenda.defer", tooltip="Move its due date"),
        Binding("r", "reload", "Refresh", show=False, id="agenda.reload", tooltip="Read it again"),
    ]

    class AgendaLoaded(Message):
        """The agenda came back from the database."""

        def __init__(self, agenda: Agenda, generation: int) -> None:
            super().__init__()
            self.agenda = agenda
            self.generation = generation

    class Changed(Message):
        """A reminder was changed; `summary` says how."""

        def __init__(self, summary: str) -> None:
            super().__init__()
            self.summary = summary

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._db = db
        self.agenda: Agenda | None = None
        self._generation = 0
        self._shown_generation = 0
        self.busy = False

    def compose(self) -> ComposeResult:
        """Counts on top, then the list."""
        yield Header()
        yield Static("Loading the agenda…", id="agenda-counts")
        yield AgendaList(id="agenda")
        yield SteadyFooter()

    @property
    def agenda_list(self) -> AgendaList:
        """The list widget."""
        return self.query_one("#agenda", AgendaList)

    @property
    def loading_agenda(self) -> bool:
        """True while the list on screen is not the one read last."""
        return self._shown_generation != self._generation

    def on_mount(self) -> None:
        """Focus the list; the first read happens on resume."""
        self.agenda_list.focus()

    def on_screen_resume(self) -> None:
        """Shown (first time, or back from a card or a modal): read the agenda again."""
        self.reload()

    # ----------------------------------------------------------------- reading

    def reload(self, *, force: bool = False) -> None:
        """Read the agenda in a worker (an older read still running becomes stale)."""
        self._generation += 1
        self.load(self._generation, force)

    @work(thread=True, exclusive=True, exit_on_error=False, group="agenda-load")
    def load(self, generation: int, force: bool = False) -> None:
        """Read the agenda off the UI thread, or take the one kept if nothing changed.

        At 1M contacts a read is ~0.5 s of a worker thread, much of it holding the
        GIL: done on every visit, it slowed the keys pressed meanwhile (leaving F2
        at once, bench/screens.py). The app's report cache keeps it while
        `data_version` (any commit to the file: this app, a shell command, a sync)
        is unchanged, for `FRESH_S` at most.
        """
        now = self.daily.now()

        def read(db: sqlite3.Connection) -> Agenda:
            return load_agenda(db, now=now, days=UPCOMING_DAYS)

        cache = report_cache(self.app)
        if cache is None:
            agenda = read(self._db)
        else:
            max_age = 0.0 if force else FRESH_S
            agenda = cache.read(AGENDA_KEY, self._db, read, max_age=max_age)
        self.post_message(self.AgendaLoaded(agenda, generation))

    @on(AgendaLoaded)
    def _show(self, event: AgendaLoaded) -> None:
        if event.generation != self._generation:
            return
        self._shown_generation = event.generation
        self.agenda = event.agenda
        self.query_one("#agenda-counts", Static).update(agenda_counts(event.agenda))
        self.agenda_list.show_rows(agenda_rows(event.agenda), empty=EMPTY)
        self.refresh_bindings()

    # ----------------------------------------------------------------- acting

    @property
    def current(self) -> AgendaRow | None:
        """The row under the cursor (None before the list is composed)."""
        # The footer asks check_action about bindings as soon as the screen is
        # installed, which on a fast section switch is before compose has run.
        found = self.query("#agenda").results(AgendaList)
        lst = next(found, None)
        return lst.current if lst is not None else None

    def selected_contact(self) -> Chosen | None:
        """The contact of the row under the cursor (the quick log's default)."""
        row = self.current
        if row is None or row.contact_id is None:
            return None
        return Chosen(row.contact_id, row.about)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Reminder keys only on a reminder, Open only where there is a contact."""
        row = self.current
        if action in ("done", "snooze", "defer"):
            return row is not None and row.tickler_id is not None and not self.busy
        if action == "open":
            return row is not None and row.contact_id is not None
        return True

    @on(AgendaList.Highlighted)
    def _moved(self) -> None:
        self.refresh_bindings()

    @on(AgendaList.Selected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Open the contact's card."""
        row = self.current
        if row is not None and row.contact_id is not None:
            self.app.push_screen(ContactCardScreen(self._db, row.contact_id))

    def action_reload(self) -> None:
        """Read the agenda again."""
        self.reload(force=True)

    def action_done(self) -> None:
        """Mark the reminder under the cursor done."""
        row = self.current
        if row is None or row.tickler_id is None:
            return
        self.busy = True
        self.mark_done(row.tickler_id, row.text)

    @work(thread=True, exit_on_error=False, group="agenda-write")
    def mark_done(self, tickler_id: str, text: str) -> None:
        """Complete the reminder (a series gets its next occurrence)."""
        from crmtui.screens.dialogs.plan_enrol import plan_clock_of
        from crmtui.services.follow_ups.ticklers import complete_tickler

        daily = self.daily
        tz, clock = daily.zone(), plan_clock_of(daily)
        _, nxt = daily.write_undoable(
            f"Done: {text}",
            lambda tx: complete_tickler(tx=tx, tickler_id=tickler_id, tz=tz, plan_clock=clock),
        )
        summary = f"Done: {text}"
        if nxt is not None:
            summary += f" · next {in_full(nxt.due_at.astimezone(tz))}"
        self.post_message(self.Changed(summary))

    def _ask_when(self, title: str, default: str, then: Callable[[datetime], None]) -> None:
        agenda = self.agenda
        if agenda is None:
            return
        now = agenda.now

        def read(text: str) -> datetime:
            return parse_when(text, now=now)

        def answered(moment: datetime | None) -> None:
            if moment is not None:
                then(moment)

        self.app.push_screen(WhenPrompt(title, read, default=default), answered)

    def action_snooze(self) -> None:
        """Ask until when, then hide the reminder until then (its due date stays)."""
        row = self.current
        if row is None or row.tickler_id is None:
            return
        tickler_id, text = row.tickler_id, row.text

        def snooze(until: datetime) -> None:
            self.busy = True
            self.snooze(tickler_id, text, until)

        self._ask_when(f"Snooze “{text}” until…", "2h", snooze)

    @work(thread=True, exit_on_error=False, group="agenda-write")
    def snooze(self, tickler_id: str, text: str, until: datetime) -> None:
        """Hide the reminder until a moment."""
        from crmtui.services.follow_ups.ticklers import snooze_tickler

        self.daily.write_undoable(
            f"Snooze: {text}", lambda tx: snooze_tickler(tx=tx, tickler_id=tickler_id, until=until)
        )
        self.post_message(self.Changed(f"Snoozed until {in_full(until)}: {text}"))

    def action_defer(self) -> None:
        """Ask for the new due date ("3d" keeps the time of day), then move the reminder."""
        row = self.current
        agenda = self.agenda
        if row is None or row.tickler_id is None or agenda is None:
            return
        tickler_id, text = row.tickler_id, row.text
        item = next(
            i
            for bucket in (agenda.overdue, agenda.today, agenda.upcoming)
            for i in bucket
            if i.tickler_id == tickler_id
        )
        now = agenda.now

        def read(words: str) -> datetime:
            return defer_target(words, now=now, due_at=item.due_at)

        def answered(moment: datetime | None) -> None:
            if moment is not None:
                self.busy = True
                self.defer(tickler_id, text, moment)

        self.app.push_screen(
            WhenPrompt(f"Defer “{text}” to…", read, default="tomorrow 9am"), answered
        )

    @work(thread=True, exit_on_error=False, group="agenda-write")
    def defer(self, tickler_id: str, text: str, due_at: datetime) -> None:
        """Move the reminder's due date."""
        from crmtui.services.follow_ups.ticklers import defer_tickler

        def write(tx: WriteTx) -> None:
            defer_tickler(tx=tx, tickler_id=tickler_id, due_at=due_at)

        self.daily.write_undoable(f"Defer: {text}", write)
        self.post_message(self.Changed(f"Due {in_full(due_at)}: {text}"))

    @on(Changed)
    def _changed(self, event: Changed) -> None:
        self.busy = False
        self.notify(f"{event.summary} · ctrl+z undoes", title="Agenda")
        self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failed reads and writes show as notifications; the list is read again."""
        if event.state is WorkerState.ERROR:
            self.busy = False
            self.notify(
                f"{event.worker.error}", title="Agenda: that did not work", severity="error"
            )
            if event.worker.group == "agenda-write":
                self.reload()
