"""The Textual app: sections as modes, global keys, the command palette. Thin on purpose.

Start-up does no I/O on the UI thread: the lookup connection (sqlite3 only, never
SQLModel, to keep cold start close to a bare Textual app) is opened in a thread
worker after mount, and the sections are registered once it is there. What
happens after that, and when (stylesheets, reads and sections built ahead, the
writer opened early, heap freezes), is `crmtui.startup`'s.
"""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen

from crmtui.reports.cache import ReportCache
from crmtui.screens.call_timer import CallTimer
from crmtui.screens.daily_context import Clock, DailyContext
from crmtui.screens.dialogs.database_problem import DatabaseProblemScreen
from crmtui.screens.sections.contacts import ContactsScreen
from crmtui.screens.sync_badge import SyncBadgeKeeper
from crmtui.search.lookup import LookupDatabaseError, connect
from crmtui.startup import Startup
from crmtui.terminal_watch import CHECK_EVERY_S, HANGUP_EXIT, TerminalWatch, terminal_fd
from crmtui.widgets.sync_indicator import SyncStateChanged

if TYPE_CHECKING:
    from datetime import datetime

    from textual.command import Provider
    from textual.notifications import SeverityLevel
    from textual.timer import Timer

    from crmtui.screens.dialogs.new_contact import NewContactResult
    from crmtui.screens.dialogs.quick_log import Chosen, QuickLogResult
    from crmtui.services.upkeep.undo import UndoStep

# Only the Contacts screen is needed for the first paint; every other screen and
# the palette's providers are imported when first used (cold start, TARGETS.md).


@dataclass(frozen=True)
class AppOptions:
    """Choices made when the app is built (by the CLI or by a test)."""

    db_path: Path
    show_timings: bool = True
    """Show search times in the status line (snapshot tests turn it off to stay stable)."""
    now: Clock | None = None
    """The clock (aware datetimes in the user's zone); tests fix it, None means the real one."""


ScreenFactory = Callable[[sqlite3.Connection, AppOptions], Screen[None]]


def _agenda(db: sqlite3.Connection) -> Screen[None]:
    from crmtui.screens.sections.agenda import AgendaScreen

    return AgendaScreen(db)


def _pipeline(db: sqlite3.Connection) -> Screen[None]:
    from crmtui.screens.sections.pipeline import PipelineScreen

    return PipelineScreen(db)


def _territory(db: sqlite3.Connection) -> Screen[None]:
    from crmtui.screens.sections.territory import TerritoryScreen

    return TerritoryScreen(db)


def _calls(db: sqlite3.Connection) -> Screen[None]:
    from crmtui.screens.sections.calls import CallListScreen

    return CallListScreen(db)


def _sync(db_path: Path) -> Screen[None]:
    from crmtui.screens.sections.sync import SyncScreen

    return SyncScreen(db_path)


def _leads(db: sqlite3.Connection) -> Screen[None]:
    from crmtui.screens.sections.leads import LeadsScreen

    return LeadsScreen(db)


def _duplicates(db: sqlite3.Connection, options: AppOptions) -> Screen[None]:
    from crmtui.screens.sections.duplicates import DuplicatesScreen

    return DuplicatesScreen(db, show_timings=options.show_timings)


def _contacts_provider() -> type[Provider]:
    from crmtui.palette import ContactsProvider

    return ContactsProvider


def _deals_provider() -> type[Provider]:
    from crmtui.palette import DealsProvider

    return DealsProvider


def _accounts_provider() -> type[Provider]:
    from crmtui.palette import AccountsProvider

    return AccountsProvider


def _leads_provider() -> type[Provider]:
    from crmtui.palette import LeadsProvider

    return LeadsProvider


@dataclass(frozen=True)
class Section:
    """One top-level workflow: a mode, its key, and how to build its first screen."""

    mode: str
    title: str
    key: str
    build: ScreenFactory


SECTIONS: tuple[Section, ...] = (
    Section(
        "contacts",
        "Contacts",
        "f1",
        lambda db, options: ContactsScreen(db, show_timings=options.show_timings),
    ),
    Section("agenda", "Agenda", "f2", lambda db, _options: _agenda(db)),
    Section("pipeline", "Pipeline", "f3", lambda db, _options: _pipeline(db)),
    Section("territories", "Territories", "f4", lambda db, _options: _territory(db)),
    Section("sync", "Sync", "f5", lambda _db, options: _sync(options.db_path)),
    Section("calls", "Calls", "f6", lambda db, _options: _calls(db)),
    Section("duplicates", "Duplicates", "f7", _duplicates),
    Section("leads", "Leads", "f8", lambda db, _options: _leads(db)),
)


class CrmApp(App[None]):
    """crmtui's full-screen app."""

    TITLE = "crm"
    COMMANDS = App.COMMANDS | {
        _contacts_provider,
        _deals_provider,
        _accounts_provider,
        _leads_provider,
    }
    # Log first: the Footer cuts from the right when the section keys do not fit.
    BINDINGS = [
        # The footer shows one key per action, the first that applies: "l" where no
        # text field has the cursor, and "^l" in one (the search box), where "l" is a
        # letter and Textual drops its binding.
        Binding(
            "l",
            "quick_log",
            "Log",
            id="app.quick_log",
            tooltip="Log a call, meeting or note (for the selected contact)",
        ),
        Binding(
            "ctrl+l",
            "quick_log",
            "Log",
            id="app.quick_log_anywhere",
            tooltip="Log a call, meeting or note (ctrl+l works in a text field too)",
        ),
        # Not in the footer (it is full at 80 columns): `?` and the palette list it.
        Binding(
            "c",
            "dial",
            "Call",
            show=False,
            id="app.dial",
            tooltip="Dial the selected contact; c again ends the call and logs it",
        ),
        Binding(
            "ctrl+z",
            "undo",
            "Undo",
            show=False,
            id="app.undo",
            tooltip="Undo the most recent change made in the app",
        ),
        # In an empty text field (the Contacts search box has the focus) Textual hides
        # this binding, as it does every printable key: on_event opens the help there.
        Binding(
            "question_mark",
            "help",
            "Keys",
            show=False,
            id="app.help",
            tooltip="The keys of this screen and the global ones",
        ),
        *(
            Binding(
                s.key,
                f"switch_section('{s.mode}')",
                s.title,
                id=f"app.section.{s.mode}",
                tooltip=f"Go to {s.title}",
            )
            for s in SECTIONS
        ),
    ]

    class DatabaseOpened(Message):
        """The lookup connection is open and at the expected schema."""

        def __init__(self, db: sqlite3.Connection) -> None:
            super().__init__()
            self.db = db

    class DatabaseFailed(Message):
        """The database could not be opened; `reason` says why, `hint` what to do."""

        def __init__(self, reason: str, hint: str) -> None:
            super().__init__()
            self.reason = reason
            self.hint = hint

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        self.db: sqlite3.Connection | None = None
        self.sub_title = options.db_path.name
        # No I/O here: the writer opens its Store on the first write, in a worker.
        self.daily = DailyContext(options.db_path, options.now)
        self.sync_badges: SyncBadgeKeeper | None = None
        """Keeps the sync indicator in every header current, once the database is open."""
        self.call_timer = CallTimer(self._show_call)
        """The call being timed, started by `c` (crmtui/screens/call_timer.py)."""
        self._call_ticks: Timer | None = None
        self.report_cache = ReportCache()
        """The board and the summary, read ahead after start-up and kept while unchanged."""
        self.startup = Startup(
            self,
            daily=self.daily,
            cache=self.report_cache,
            db_path=options.db_path,
            first_mode=SECTIONS[0].mode,
        )
        """What is done after the first screen, and when (crmtui/startup.py)."""

    # ----------------------------------------------------------------- database

    def on_mount(self) -> None:
        """Open the database off the UI thread; end the app if its terminal goes away."""
        self.open_database()
        fd = None if self.is_headless else terminal_fd()
        if fd is not None:
            watch = TerminalWatch(partial(self.exit, return_code=HANGUP_EXIT), fd)
            watch.install(asyncio.get_running_loop())
            self.set_interval(CHECK_EVERY_S, watch.check, name="terminal watch")

    @work(thread=True, exit_on_error=False, group="database")
    def open_database(self) -> None:
        """Connect for lookups and report the outcome as a message."""
        path = self.options.db_path
        try:
            db = connect(path)
        except LookupDatabaseError as exc:
            quoted = shlex.quote(str(path))
            if not path.exists():
                reason = f"No database at {path}"
                hint = (
                    f"Run `crm demo --db {quoted}` to make one with demo data, "
                    "or pass --db (or set CRMTUI_DB) to open another file."
                )
            else:
                reason = str(exc)
                hint = f"Check the file, or run `crm db upgrade --db {quoted}` if it is behind."
            self.post_message(self.DatabaseFailed(reason, hint))
            return
        self.post_message(self.DatabaseOpened(db))

    @on(DatabaseOpened)
    def _database_opened(self, event: DatabaseOpened) -> None:
        self.db = event.db
        # Before the first screen is shown, so its header gets the indicator too.
        self.sync_badges = SyncBadgeKeeper(self, event.db, self.daily)
        self.sync_badges.start()
        self.daily.after_write = self._wrote
        for section in SECTIONS:
            self.add_mode(section.mode, partial(self._build_section, section, event.db))
        self.switch_mode(SECTIONS[0].mode)
        self.startup.begin(event.db)
        self._restore_theme()

    @work(thread=True, exit_on_error=False, group="theme")
    def _restore_theme(self) -> None:
        """The theme last chosen (kept in the config); from then on a change is kept."""
        from crmtui.config import ConfigError

        try:
            saved = self.daily.settings().theme
        except ConfigError:
            saved = None  # said where the settings are used; the default theme meanwhile
        self.call_from_thread(self._apply_theme, saved)

    def _apply_theme(self, saved: str | None) -> None:
        if saved and saved in self.available_themes:
            self.theme = saved
        self.watch(self, "theme", self._theme_changed, init=False)

    def _theme_changed(self, theme: str) -> None:
        self.run_worker(
            partial(self.daily.remember, "theme", theme),
            thread=True,
            group="theme",
            exit_on_error=False,
        )

    def _wrote(self) -> None:
        """After each write (in its worker thread): the sync badge; after the first, a freeze."""
        if self.sync_badges is not None:
            self.sync_badges.wrote()
        self.startup.wrote()

    @on(SyncStateChanged)
    def _sync_state_changed(self) -> None:
        if self.sync_badges is not None:
            self.sync_badges.refresh()

    @on(DatabaseFailed)
    def _database_failed(self, event: DatabaseFailed) -> None:
        self.push_screen(DatabaseProblemScreen(event.reason, event.hint))

    def on_unmount(self) -> None:
        """Stop any query still running; the connection closes when its last user lets go."""
        if self.db is not None:
            # Closing a sqlite3 connection while a worker thread is inside a query
            # crashes the process (seen on quit during a slow query); interrupt() is
            # the thread-safe way to stop that query. The read-only connection is
            # then closed by reference counting once the workers and screens are gone.
            self.db.interrupt()
            self.db = None
        self.report_cache.close()
        self.daily.close()
        self.startup.end()

    # ----------------------------------------------------------------- sections

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Sections exist only once the database is open."""
        if action in ("switch_section", "search_contacts"):
            return self.db is not None
        if action == "help":
            return not isinstance(self.screen, ModalScreen) and not _typing(self.focused)
        if action in ("quick_log", "new_contact", "undo", "recent_actions", "dial"):
            # Not over a modal (the quick log itself, a prompt, a confirmation).
            return self.db is not None and not isinstance(self.screen, ModalScreen)
        return True

    def action_switch_section(self, mode: str) -> None:
        """Show a section where it was left; from a card, close the card on the way.

        The key of the section on screen goes back to its first screen (from a card or
        a drill-down): a section key always does something.
        """
        if self.db is None:
            return
        from crmtui.screens.cards.account_card import AccountCardScreen
        from crmtui.screens.cards.contact_card import ContactCardScreen
        from crmtui.screens.cards.deal_card import DealCardScreen

        if self.current_mode == mode:
            # pop_screen takes the screen off the stack at once (the rest is scheduled),
            # so this stays a plain method the palette's commands can call.
            while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
                self.pop_screen()
            return
        # A card is a look at one record: leaving its section by key closes it, so the
        # section's own screen is there when the user comes back.
        while len(self.screen_stack) > 1 and isinstance(
            self.screen, (ContactCardScreen, DealCardScreen, AccountCardScreen)
        ):
            self.pop_screen()
        self.switch_mode(mode)
        self.startup.shown(mode)

    def _build_section(self, section: Section, db: sqlite3.Connection) -> Screen[None]:
        """A section's first screen, marked as styled with the stylesheet as it is now.

        Textual restyles the whole app (`refresh_css`, twice: ~200 ms on the 2-core VM)
        for a screen whose style count lags the app's, and a new screen's always does.
        It needs no restyle: its widgets take their styles as they mount, and every
        screen's CSS file is already read (`crmtui.startup.SCREEN_CSS`).
        """
        screen = section.build(db, self.options)
        screen._css_update_count = self._css_update_count
        return screen

    async def on_event(self, event: events.Event) -> None:
        """Note when the user last pressed a key or clicked (sections are built when idle)."""
        if isinstance(event, (events.Key, events.MouseDown)):
            self.startup.note_input()
        if (
            isinstance(event, events.Key)
            and event.key == "question_mark"
            and self.db is not None
            and _empty_field(self.focused)
            and not isinstance(self.screen, ModalScreen)
        ):
            # "?" in an empty search box is a question, not a search: the help.
            event.prevent_default()
            event.stop()
            self.action_help()
            return
        await super().on_event(event)

    async def action_search_contacts(self) -> None:
        """Go to Contacts, back to its list, with the cursor in the search box."""
        if self.db is None:
            return
        if self.current_mode != "contacts":
            await self.switch_mode("contacts")
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        if isinstance(self.screen, ContactsScreen):
            self.screen.action_focus_search()

    def open_contact(self, contact_id: str) -> None:
        """Show a contact's card in the Contacts section (the palette's jump target)."""
        if self.db is None:
            return
        if self.current_mode != "contacts":
            self.switch_mode("contacts")
        from crmtui.screens.cards.contact_card import ContactCardScreen

        self.push_screen(ContactCardScreen(self.db, contact_id))

    def open_deal(self, deal_id: str) -> None:
        """Show a deal's card in the Pipeline section (the palette's jump target)."""
        if self.db is None:
            return
        if self.current_mode != "pipeline":
            self.switch_mode("pipeline")
        from crmtui.screens.cards.deal_card import DealCardScreen

        self.push_screen(DealCardScreen(self.db, deal_id, now=self.daily.now, tz=self.daily.zone))

    def open_account(self, account_id: str) -> None:
        """Show an account's card over the screen on top (Escape comes back to it)."""
        if self.db is None:
            return
        from crmtui.screens.cards.account_card import AccountCardScreen

        self.push_screen(AccountCardScreen(self.db, account_id))

    def open_lead(self, lead_id: str) -> None:
        """Show a lead's card (its follow-up plans) over the screen on top."""
        if self.db is None:
            return
        from crmtui.screens.cards.lead_card import LeadCardScreen

        self.push_screen(LeadCardScreen(self.db, lead_id))

    def action_help(self) -> None:
        """Show the keys of the screen on top, and the global ones."""
        if isinstance(self.screen, ModalScreen):
            return
        from crmtui.screens.dialogs.help import HelpScreen, key_rows

        screen = self.screen
        screen_rows, global_rows = key_rows(self, screen.active_bindings)
        title = screen.title or screen.TITLE or self.current_mode.capitalize()
        self.push_screen(HelpScreen(title, screen_rows, global_rows))

    def action_quick_log(self) -> None:
        """Open the quick log for the contact selected on screen, if there is one."""
        if self.db is None or isinstance(self.screen, ModalScreen):
            return
        chosen = self._selected_contact()
        deal = getattr(self.screen, "selected_deal", None)
        on_deal = deal() if callable(deal) else None

        def logged(result: QuickLogResult | None) -> None:
            # The screen below reads its data again when it resumes.
            if result is not None:
                self.notify(result.summary, title="Logged")

        from crmtui.screens.dialogs.quick_log import QuickLogScreen

        self.push_screen(QuickLogScreen(self.db, contact=chosen, deal=on_deal), logged)

    # ----------------------------------------------------------------- dialling

    def action_dial(self) -> None:
        """Dial the selected contact and time the call; during a call, end it and log it."""
        if self.db is None or isinstance(self.screen, ModalScreen):
            return
        if self.call_timer.running is not None:
            self._end_call()
            return
        if self.call_timer.ended is not None:
            self._ended_call_choice()
            return
        chosen = self._selected_contact()
        if chosen is None:
            # The call list's lead rows (a web lead not converted yet) dial the lead's phone.
            from crmtui.screens.dialogs.quick_log import Chosen

            selected = getattr(self.screen, "selected_lead", None)
            lead = selected() if callable(selected) else None
            if isinstance(lead, Chosen):
                self._dial(lead, lead=True)
                return
            self.notify("Select a contact to call first.", title="Call", severity="warning")
            return
        self._dial(chosen)

    @work(thread=True, exit_on_error=False, group="dial")
    def _dial(self, chosen: Chosen, *, lead: bool = False) -> None:
        """Check the number, the consent and the command; run it; start the timer.

        `lead`: `chosen` is a lead not converted yet (its own phone, the lead's cap);
        its call is timed under `lead:ID`, as the call list keys the lead's row.
        """
        from crmtui.config import ConfigError
        from crmtui.domain.dialling import DialError, dial_argv
        from crmtui.services.consent import blockers, lead_blockers

        db = self.db
        assert db is not None
        try:
            command = self.daily.settings().dial_command
        except ConfigError as exc:
            self._say(str(exc), "error")
            return
        if not command:
            self._say(
                'Set dial_command in the config to dial with c, e.g. dial_command = "xdg-open {uri}"'
                " (README: Dialling).",
                "warning",
            )
            return
        if lead:
            row = db.execute(
                "SELECT phone, phone_e164, NULL FROM lead WHERE id = ? AND phone IS NOT NULL",
                (chosen.id,),
            ).fetchone()
        else:
            row = db.execute(
                "SELECT number, e164, extension FROM contact_phone WHERE contact_id = ? "
                "AND is_primary AND deleted_at IS NULL ORDER BY id DESC LIMIT 1",
                (chosen.id,),
            ).fetchone()
        if row is None:
            self._say(f"{chosen.name} has no phone to dial.", "warning")
            return
        check = lead_blockers if lead else blockers
        reasons = check(db, chosen.id, "call", now=self.daily.now(), cap=self.daily.cap())
        if reasons:
            self._say(f"Not dialled: {'; '.join(reasons)}.", "error")
            return
        number = row[1] or row[0]
        try:
            argv = dial_argv(command, number, row[2])
        except DialError as exc:
            self._say(f"Not dialled: {exc}.", "error")
            return
        import subprocess

        try:
            # No shell, its own session: the command outlives nothing of ours, and a
            # number from an imported file can never become a second command.
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self._say(f"Cannot run the dial command {argv[0]!r}: {exc.strerror or exc}.", "error")
            return
        timed = replace(chosen, id=f"lead:{chosen.id}") if lead else chosen
        self.call_from_thread(self._call_started, timed, number)
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return  # a softphone that stays up for the call; the system reaps it later
        if code != 0:
            self.call_from_thread(self._dial_failed, timed, argv[0], code)

    def _say(self, message: str, severity: SeverityLevel) -> None:
        """A notification from a worker thread (text, never markup)."""
        self.call_from_thread(
            self.notify,
            message,
            title="Call",
            severity=severity,
            markup=False,
        )

    def _call_started(self, chosen: Chosen, number: str) -> None:
        self.call_timer.start(chosen.id, chosen.name, number)
        if self._call_ticks is None:
            self._call_ticks = self.set_interval(1.0, self.call_timer.tick, name="call timer")
        self.notify(
            f"Dialling {chosen.name} at {number}. c ends the call and logs it with its length.",
            title="Call",
            markup=False,
        )

    def _dial_failed(self, chosen: Chosen, program: str, code: int) -> None:
        if self.call_timer.stop(chosen.id) is not None:
            self._stop_call_ticks()
        self.notify(
            f"The dial command {program!r} exited with {code}: no call was started.",
            title="Call",
            severity="error",
            markup=False,
        )

    def _stop_call_ticks(self) -> None:
        if self._call_ticks is not None:
            self._call_ticks.stop()
            self._call_ticks = None

    def _show_call(self, text: str | None) -> None:
        """The header's subtitle: the running call, else the database's name."""
        self.sub_title = text or self.options.db_path.name

    def _end_call(self) -> None:
        """The rep says the call ended: the quick log opens with the contact and the length.

        Closed unsaved, the call stays "ended, not logged" (header, `c`): see call_timer.
        """
        self._stop_call_ticks()
        if self.call_timer.end() is None or self.db is None:
            return
        self._log_ended_call()

    def _log_ended_call(self) -> None:
        """The quick log for the ended call, with its length; saved, the call is let go."""
        from crmtui.domain.dialling import call_length
        from crmtui.screens.dialogs.quick_log import Chosen, QuickLogScreen

        ended = self.call_timer.ended
        if ended is None or self.db is None:
            return
        call, seconds = ended
        if call.contact_id.startswith("lead:"):
            # A lead's call is logged with its outcome key on the call list (the quick
            # log takes contacts), which keeps the length for it.
            keep = getattr(self.screen, "keep_call_length", None)
            kept = callable(keep) and keep(call.contact_id, seconds)
            self.notify(
                f"Call with {call.name} ended after {call_length(seconds)}; log its outcome"
                + (
                    " with 1-8 (its length is kept for it)."
                    if kept
                    else f" on the call list (1-8), or `crm log call {call.contact_id}`."
                ),
                title="Call",
                markup=False,
            )
            return

        def logged(result: QuickLogResult | None) -> None:
            if result is not None:
                self.call_timer.stop(call.contact_id)
                self.notify(result.summary, title="Logged")
            else:
                self.notify(
                    f"Call with {call.name} ended after {call_length(seconds)}; not logged yet."
                    " c logs it (or forgets it).",
                    title="Call",
                    markup=False,
                )

        self.push_screen(
            QuickLogScreen(self.db, contact=Chosen(call.contact_id, call.name), duration_s=seconds),
            logged,
        )

    def _ended_call_choice(self) -> None:
        """`c` with an ended call not logged: log it (with its length) or forget it."""
        from crmtui.domain.dialling import call_length
        from crmtui.screens.dialogs.pick import PickScreen

        ended = self.call_timer.ended
        if ended is None:
            return
        call, seconds = ended
        length = call_length(seconds)

        def chosen(choice: str | None) -> None:
            if choice == "log":
                self._log_ended_call()
            elif choice == "forget":
                self.call_timer.forget()
                self.notify(
                    f"Call with {call.name} ({length}) not logged.", title="Call", markup=False
                )

        self.push_screen(
            PickScreen(
                f"The call with {call.name} ended after {length}, not logged",
                [("log", f"Log it ({length})"), ("forget", "Forget it: no log")],
            ),
            chosen,
        )

    def action_new_contact(self) -> None:
        """Open the new-contact form; once saved, the new contact's card."""
        if self.db is None or isinstance(self.screen, ModalScreen):
            return

        def done(result: NewContactResult | None) -> None:
            if result is None:
                return
            if not result.existing:
                self.notify(result.name, title="Contact added")
            self.open_contact(result.contact_id)

        from crmtui.screens.dialogs.new_contact import NewContactScreen

        self.push_screen(NewContactScreen(self.db), done)

    def action_undo(self) -> None:
        """Undo the most recent change this app made (in a worker); says what it undid.

        When the app made none, the device's most recent (from a `crm` command).
        """
        if self.db is None or isinstance(self.screen, ModalScreen):
            return
        self._undo(None)

    def action_recent_actions(self) -> None:
        """List the device's undoable changes (the app's and `crm`'s); Enter undoes one."""
        if self.db is None or isinstance(self.screen, ModalScreen):
            return
        self.run_worker(
            self._recent_in_thread, thread=True, group="recent", exclusive=True, exit_on_error=False
        )

    def _recent_in_thread(self) -> None:
        steps = self.daily.kept()
        self.call_from_thread(self._show_recent, steps, self.daily.now())

    def _show_recent(self, steps: list[UndoStep], now: datetime) -> None:
        from crmtui.screens.dialogs.recent_actions import RecentActionsScreen

        if isinstance(self.screen, ModalScreen):
            return  # something else opened meanwhile: no list over it

        def chosen(step: UndoStep | None) -> None:
            if step is not None:
                self._undo(step)

        self.push_screen(RecentActionsScreen(steps, now), chosen)

    def _undo(self, step: UndoStep | None) -> None:
        self.run_worker(
            partial(self._undo_in_thread, step), thread=True, group="undo", exit_on_error=False
        )

    def _undo_in_thread(self, step: UndoStep | None) -> None:
        from crmtui.domain.validate import InvalidInput

        try:
            done = self.daily.undo(step)
        except InvalidInput as exc:
            self.call_from_thread(self.notify, exc.message, title="Not undone", severity="error")
            return
        self.call_from_thread(self._undone, done)

    def _undone(self, step: UndoStep) -> None:
        self.notify(step.label, title="Undone")
        reload = getattr(self.screen, "reload", None)
        if callable(reload):
            reload()

    def _selected_contact(self) -> Chosen | None:
        """The contact the current screen has selected (card, agenda row, queue, list)."""
        from crmtui.screens.dialogs.quick_log import Chosen

        screen = self.screen
        selected = getattr(screen, "selected_contact", None)
        if callable(selected):
            found = selected()
            return found if isinstance(found, Chosen) else None
        if isinstance(screen, ContactsScreen):
            row = screen.results.highlighted_contact
            if row is not None:
                return Chosen(row.id, row.name, " · ".join(x for x in (row.company, row.city) if x))
        return None

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette's commands: Textual's own, plus sections and search, each action once.

        A command that runs the same action as a key ("Edit Anna", "Go to Pipeline",
        Textual's "Quit") and that key's entry are one entry: the command's words
        (they name the record) with the key after them, "Edit Anna (e)".
        """
        keyed = list(self._key_commands(screen))
        by_action = {_action_id(c.callback): n for n, c in enumerate(keyed)}
        named: dict[int, str] = {}
        for command in self._other_commands(screen):
            at = by_action.get(_action_id(command.callback))
            if at is None:
                yield command
            else:
                named.setdefault(at, command.title)
        for n, key_command in enumerate(keyed):
            if n in named:
                keys = key_command.title.rsplit(" (", 1)[1]
                yield key_command._replace(title=f"{named[n]} ({keys}")
            else:
                yield key_command

    def _other_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's commands, the app's and the screen's own (no key listed with them)."""
        yield from super().get_system_commands(screen)
        if self.db is None:
            return
        yield SystemCommand(
            "Search contacts", "Go to the contact search box (/)", self.action_search_contacts
        )
        yield SystemCommand(
            "Log an activity", "Log a call, meeting or note (l)", self.action_quick_log
        )
        yield SystemCommand(
            "Keys of this screen",
            "Every key of the screen you are on, and the global ones (?)",
            self.action_help,
        )
        yield SystemCommand(
            "New contact",
            "Add a contact; probable duplicates are shown first (ctrl+n on Contacts)",
            self.action_new_contact,
        )
        screen_commands = getattr(screen, "palette_commands", None)
        if callable(screen_commands):
            for title, help, callback in screen_commands():
                yield SystemCommand(title, help, callback)
        yield SystemCommand(
            "Recent actions",
            "Changes made here or by crm commands, most recent first: Enter undoes one",
            self.action_recent_actions,
        )
        for s in SECTIONS:
            yield SystemCommand(
                f"Go to {s.title}",
                f"Switch to the {s.title} section ({s.key.upper()})",
                partial(self.action_switch_section, s.mode),
            )
        if self.daily.recent:
            yield SystemCommand(
                f"Undo: {self.daily.recent[-1].label}",
                "Undo the most recent change made in the app (ctrl+z)",
                self.action_undo,
            )

    def _key_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every key of the screen and every global key, as a command with its key.

        Read from the bindings that apply where the palette was opened (as `?` reads
        them), so the palette cannot miss a key nor drift from one.
        """
        from textual.actions import parse as parse_action

        from crmtui.screens.dialogs.help import key_actions

        for found in key_actions(self, screen.active_bindings):
            if found.action == "command_palette":
                continue  # "palette (^p)" in the palette itself opens nothing new
            row = found.row
            where = (
                "Everywhere"
                if found.is_global
                else (screen.title or self.current_mode.capitalize())
            )
            words = row.tooltip if row.tooltip and row.tooltip != row.description else ""
            target, name, params = parse_action(found.action)
            node = {"app": self, "screen": screen}.get(target, found.node)
            yield SystemCommand(
                f"{row.description} ({row.keys})",
                f"{where}: {words}" if words else where,
                _KeyAction(partial(self.run_action, found.action, found.node), node, name, params),
            )


class _KeyAction:
    """A key's palette callback that says which action it runs (to leave out its twins)."""

    def __init__(
        self, run: Callable[[], object], node: object, name: str, params: tuple[object, ...]
    ) -> None:
        self.run, self.node, self.name, self.params = run, node, name, params

    def __call__(self) -> object:
        """Run the key's action where the key is bound."""
        return self.run()


def _action_id(callback: object) -> tuple[int, str, tuple[object, ...]] | None:
    """(node, action, arguments) a palette callback runs, or None when it is no action.

    Knows the shapes the palette's commands use: a key's `_KeyAction`, a bound
    `action_*` method, and a `partial` of one.
    """
    if isinstance(callback, _KeyAction):
        return id(callback.node), callback.name, tuple(callback.params)
    args: tuple[object, ...] = ()
    method: object = callback
    if isinstance(callback, partial):
        method, args = callback.func, tuple(callback.args)
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if owner is None or not name.startswith("action_"):
        return None
    return id(owner), name.removeprefix("action_"), args


def _empty_field(focused: object) -> bool:
    """True when the focus is in a one-line text field with nothing typed in it yet."""
    from textual.widgets import Input

    return isinstance(focused, Input) and not focused.value


def _typing(focused: object) -> bool:
    """True when the focus is in a text field that holds text (a "?" there is a letter)."""
    from textual.widgets import Input, TextArea

    if isinstance(focused, Input):
        return bool(focused.value)
    return isinstance(focused, TextArea)


def make_app(*, db_path: Path, show_timings: bool = True, now: Clock | None = None) -> CrmApp:
    """Build the app for the CLI and for tests alike; nothing is opened until it runs."""
    return CrmApp(
        AppOptions(db_path=Path(db_path).expanduser(), show_timings=show_timings, now=now)
    )
