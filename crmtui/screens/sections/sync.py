"""The Sync section: pending changes, the last sync, conflicts to settle, and a sync key.

Threading invariant: every read, write and network call runs in a thread worker
that opens its own `Store` (SQLModel and httpx are imported there, never at app
start-up) and posts messages; only the handlers on the UI thread touch widgets.
The logic is the one behind `crm sync status`, `crm sync` and `crm conflicts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import in_full
from crmtui.screens.daily_context import DailyApp
from crmtui.widgets.footer import SteadyFooter
from crmtui.widgets.sync_indicator import SyncStateChanged

if TYPE_CHECKING:
    import httpx

    from crmtui.store.database import Store
    from crmtui.sync.client import SyncReport
    from crmtui.sync.conflicts import ConflictRow

HttpFactory = Callable[[str, str], "httpx.Client"]
"""Builds the HTTP client for (server URL, token); tests swap in an in-process one."""

NOT_ENROLLED = "not enrolled: run `crm sync login --server URL --token T`"
SET_UP = (
    "No sync server is set up for this database. Ask your admin for a token "
    "(`crm server issue-token REP --device NAME`), then run "
    "`crm sync login --server URL --token TOKEN` and press s again."
)
UNREACHABLE = "server unreachable, everything stays pending"
REPORT_FIELDS = ("pushed", "pulled", "superseded", "conflicts", "rejected")
MAX_REASONS = 5


@dataclass(frozen=True)
class SyncStatus:
    """What the screen shows about this database's sync state."""

    server: str | None
    enrolled: bool
    last_sync: str
    pending: dict[str, int]
    """Records with pending changes, per entity (one new contact is one, whatever its fields)."""
    conflicts: list[ConflictRow] = field(default_factory=list)
    demo: str | None = None
    """Why this database may not sync (a generated demo), or None."""

    @property
    def pending_total(self) -> int:
        """Every record with pending changes, all entities together."""
        return sum(self.pending.values())


def default_http(server: str, token: str) -> httpx.Client:
    """The real HTTP client, as `crm sync` builds it."""
    import httpx

    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@contextmanager
def _open(db_path: Path) -> Iterator[Store]:
    from crmtui.store.database import open_store

    # The app checked the schema when it opened the file; no migration from here.
    store = open_store(db_path, migrate=False)
    try:
        yield store
    finally:
        store.close()


def _meta(store: Store, key: str) -> str | None:
    from crmtui.sync.apply_remote import get_meta

    with store.engine.connect() as conn:
        return get_meta(conn.connection.driver_connection, key)  # type: ignore[arg-type]


def _credentials(store: Store) -> tuple[str | None, str | None]:
    """The server and this device's token (either may be missing)."""
    from crmtui.sync.credentials import load_token

    device = _meta(store, "device_id")
    return _meta(store, "sync_server"), load_token(device) if device else None


def read_status(db_path: Path, tz: tzinfo | None = None) -> SyncStatus:
    """Read the sync state of the database at `db_path` (from a thread worker); times in `tz`."""
    from datetime import UTC, datetime

    from crmtui.domain.hlc import HLC
    from crmtui.sync.client import DemoDatabase, check_syncable
    from crmtui.sync.conflicts import list_conflicts
    from crmtui.sync.sync_summary import pending_records

    with _open(db_path) as store:
        server, token = _credentials(store)
        last = _meta(store, "sync_last")
        when = "never"
        if last:
            moment = datetime.fromtimestamp(HLC.decode(last).millis / 1000, UTC)
            when = in_full(moment.astimezone(tz))
        demo = None
        try:
            check_syncable(store)
        except DemoDatabase as exc:
            demo = str(exc)
        # Counted in SQL: building every pending op of a 100k-row import took seconds.
        with store.engine.connect() as conn:
            pending = pending_records(conn.connection.driver_connection)  # type: ignore[arg-type]
        return SyncStatus(
            server=server,
            enrolled=bool(server and token),
            last_sync=when,
            pending=pending,
            conflicts=list_conflicts(store),
            demo=demo,
        )


def show_value(raw: str | None) -> str:
    """A journal value (JSON) as a person reads it: text without quotes, empty for none."""
    import json

    if raw is None:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw  # not JSON: show it exactly as stored
    return "" if value is None else str(value)


def status_text(status: SyncStatus) -> Text:
    """The server, last sync and pending lines."""
    text = Text()
    if status.demo:
        text.append(f"{status.demo}\n", style="bold red")
    if status.enrolled:
        text.append("server     ", style="dim")
        text.append(f"{status.server}\n")
    else:
        text.append(f"{NOT_ENROLLED}\n", style="bold yellow")
    text.append("last sync  ", style="dim")
    text.append(f"{status.last_sync}\n")
    from crmtui.sync.sync_summary import record_words

    text.append("pending    ", style="dim")
    total = status.pending_total
    text.append(f"{total:,} record{'' if total == 1 else 's'}", style="bold")
    if status.pending:
        words = (record_words(e, n) for e, n in status.pending.items())
        text.append("  (" + " · ".join(words) + ")")
    return text


def idle_hint(status: SyncStatus) -> str:
    """What the `s` key would do now, before any sync in this session."""
    if status.demo:
        return "This database will not sync (it is a generated demo)."
    if not status.enrolled:
        return "Enrol this database first (see above); then press s to sync."
    return "Press s to sync now."


def report_text(report: SyncReport) -> Text:
    """The summary of one sync, and why any op was rejected."""
    text = Text("synced: ", style="bold green")
    text.append("  ".join(f"{name} {getattr(report, name)}" for name in REPORT_FIELDS))
    # A few reasons say what kind of refusal it was; all of them would push the
    # conflicts off the screen.
    for reason in report.reasons[:MAX_REASONS]:
        text.append(f"\nrejected: {reason}", style="red")
    if len(report.reasons) > MAX_REASONS:
        text.append(f"\n… and {len(report.reasons) - MAX_REASONS} more rejected", style="red")
    return text


class SyncScreen(Screen[None]):
    """Pending changes, last sync, conflicts with both values, and `s` to sync now."""

    TITLE = "Sync"
    CSS_PATH = "sync.tcss"
    BINDINGS = [
        Binding("s", "sync", "Sync now", id="sync.run", tooltip="Push and pull with the server"),
        Binding("m", "keep('mine')", "Keep mine", id="sync.keep_mine"),
        Binding("t", "keep('theirs')", "Keep theirs", id="sync.keep_theirs"),
        Binding("r", "reload", "Refresh", show=False, id="sync.reload"),
    ]

    class StatusLoaded(Message):
        """The sync state came back from the database."""

        def __init__(self, status: SyncStatus) -> None:
            super().__init__()
            self.status = status

    class Progress(Message):
        """A sync in progress moved on."""

        def __init__(self, phase: str, done: int, total: int) -> None:
            super().__init__()
            self.phase = phase
            self.done = done
            self.total = total

    class Finished(Message):
        """A sync ended: a report, or an error said plainly."""

        def __init__(self, report: SyncReport | None, error: str | None = None) -> None:
            super().__init__()
            self.report = report
            self.error = error

    class Resolved(Message):
        """A conflict was settled (or could not be: `error`)."""

        def __init__(self, summary: str, error: bool = False) -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    def __init__(self, db_path: Path, http_factory: HttpFactory = default_http) -> None:
        super().__init__()
        self.db_path = db_path
        self.http_factory = http_factory
        self.status: SyncStatus | None = None
        self.busy = False
        self._outcome_shown = False
        """True once a sync has started: its progress or outcome stays until the next one."""

    def compose(self) -> ComposeResult:
        """Status on top, the last sync's outcome, then the open conflicts."""
        yield Header()
        yield Static("Reading the sync state…", id="sync-status")
        yield Static("", id="sync-outcome")
        yield Static("Open conflicts", id="sync-conflicts-title")
        table: DataTable[str] = DataTable(id="sync-conflicts", cursor_type="row")
        table.add_columns("kind", "record", "field", "mine", "theirs")
        yield table
        yield SteadyFooter()

    @property
    def conflicts_table(self) -> DataTable[str]:
        """The table of open conflicts."""
        return self.query_one("#sync-conflicts", DataTable)

    def on_screen_resume(self) -> None:
        """Shown (first time or again): read the state, other sections may have written."""
        self.reload()

    # ----------------------------------------------------------------- reading

    def action_reload(self) -> None:
        """Read the state again."""
        self.reload()

    def reload(self) -> None:
        """Read the sync state in a worker."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync-load")
    def _load(self) -> None:
        zone = cast(DailyApp, self.app).daily.zone()
        self.post_message(self.StatusLoaded(read_status(self.db_path, zone)))

    @on(StatusLoaded)
    def _show_status(self, event: StatusLoaded) -> None:
        from crmtui.sync.sync_summary import record_noun

        self.status = event.status
        self.query_one("#sync-status", Static).update(status_text(event.status))
        table = self.conflicts_table
        table.clear()
        for c in event.status.conflicts:
            table.add_row(
                c.kind,
                f"{record_noun(c.entity)} {c.row_id[:8]}",
                c.field,
                show_value(c.mine),
                show_value(c.theirs),
                key=c.id,
            )
        title = (
            f"Open conflicts: {len(event.status.conflicts)}"
            if event.status.conflicts
            else ("No open conflicts")
        )
        self.query_one("#sync-conflicts-title", Static).update(title)
        if not self._outcome_shown:
            self.query_one("#sync-outcome", Static).update(idle_hint(event.status))
        self.refresh_bindings()

    # ----------------------------------------------------------------- acting

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Sync only when enrolled and idle; keep mine/theirs only on a conflict row.

        None (not False) keeps the key in the Footer, dimmed: the key is part of
        what this screen offers even while it cannot be used.
        """
        if action == "sync":
            # Without a server the key still answers: it says how to set one up.
            return True if self.status is not None and not self.busy else None
        if action == "keep":
            return True if self.current_conflict() is not None and not self.busy else None
        return True

    def current_conflict(self) -> ConflictRow | None:
        """The conflict under the cursor."""
        if self.status is None or not self.status.conflicts:
            return None
        row = self.conflicts_table.cursor_row
        if 0 <= row < len(self.status.conflicts):
            return self.status.conflicts[row]
        return None

    @on(DataTable.RowHighlighted)
    def _moved(self, _event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def action_sync(self) -> None:
        """Push and pull in a worker, showing progress as it goes."""
        if self.busy or self.status is None:
            return
        if self.status.demo or not self.status.enrolled:
            words = self.status.demo or SET_UP
            self._outcome_shown = True
            self.query_one("#sync-outcome", Static).update(Text(words, style="bold yellow"))
            self.notify(words, title="Not synced", severity="warning")
            return
        self.busy = True
        self._outcome_shown = True
        self.refresh_bindings()
        self.query_one("#sync-outcome", Static).update("Syncing…")
        self._sync()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync-run")
    def _sync(self) -> None:
        from crmtui.sync.client import NetworkError, SyncClient, SyncError, UnknownDevice

        def progress(phase: str, done: int, total: int) -> None:
            self.post_message(self.Progress(phase, done, total))

        try:
            with _open(self.db_path) as store:
                server, token = _credentials(store)
                if not server or not token:
                    self.post_message(self.Finished(None, NOT_ENROLLED))
                    return
                with self.http_factory(server, token) as http:
                    report = SyncClient(store, http).sync(progress)
        except NetworkError as exc:
            self.post_message(self.Finished(None, f"{UNREACHABLE} ({exc})"))
        except UnknownDevice as exc:
            self.post_message(
                self.Finished(
                    None,
                    f"{exc}; nothing was discarded — run `crm sync` in a terminal to save "
                    "the pending changes to a rescue file",
                )
            )
        except SyncError as exc:  # the demo refusal and server errors: said as they are
            self.post_message(self.Finished(None, str(exc)))
        else:
            self.post_message(self.Finished(report))

    @on(Progress)
    def _show_progress(self, event: Progress) -> None:
        self.query_one("#sync-outcome", Static).update(
            f"Syncing… {event.phase} {event.done}/{event.total}"
        )

    @on(Finished)
    def _finished(self, event: Finished) -> None:
        self.busy = False
        outcome = self.query_one("#sync-outcome", Static)
        if event.report is not None:
            outcome.update(report_text(event.report))
        else:
            outcome.update(Text(event.error or "sync failed", style="bold red"))
        self.reload()
        self.post_message(SyncStateChanged())  # the header's indicator reads the numbers again

    def action_keep(self, keep: str) -> None:
        """Settle the conflict under the cursor with one of its two values."""
        conflict = self.current_conflict()
        if conflict is None or self.busy:
            return
        self.busy = True
        self.refresh_bindings()
        self._resolve(conflict.id, keep)

    @work(thread=True, exit_on_error=False, group="sync-resolve")
    def _resolve(self, conflict_id: str, keep: str) -> None:
        from crmtui.sync.conflicts import ConflictError, resolve

        try:
            with _open(self.db_path) as store:
                row = resolve(store, conflict_id, keep)
        except ConflictError as exc:
            self.post_message(self.Resolved(str(exc), error=True))
        else:
            self.post_message(self.Resolved(f"{row.entity} {row.field}: kept {keep}"))

    @on(Resolved)
    def _resolved(self, event: Resolved) -> None:
        self.busy = False
        self.notify(event.summary, severity="error" if event.error else "information")
        self.reload()
        self.post_message(SyncStateChanged())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected failure (a locked file, a bug) is shown, and the keys come back."""
        if event.state is not WorkerState.ERROR:
            return
        self.busy = False
        message = f"{type(event.worker.error).__name__}: {event.worker.error}"
        if event.worker.group == "sync-run":
            self.query_one("#sync-outcome", Static).update(
                Text(f"sync failed: {message}", style="bold red")
            )
        else:
            self.notify(message, title="Sync: that did not work", severity="error")
        self.refresh_bindings()
