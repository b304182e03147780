"""Call list mode for telesales: the next contact, their notes, and one key per outcome.

The queue comes from `reports.calls.call_queue` (due reminders first, then the
saved filter); do-not-call and capped contacts are never in it. A digit logs the
call's outcome and schedules the default next touch in one write (the reminder
that put the contact in the queue is marked done in the same transaction), and
the queue moves on at once: the write runs in a worker while the agent dials.

Threading invariant: reads and writes run in thread workers; handlers on the UI
thread update widgets. A contact whose call is being written stays out of the
queue on screen until the queue has been read again after that write.

The queue is read on a connection of this screen's own, one read at a time. On
the app's shared connection a read that started after a write could still see the
database as it was before it: SQLite keeps a connection's snapshot while any of
its statements is running, and another worker's (or an older queue read's) query
keeps it open. That brought a just-called contact back with its done reminder.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import in_full, in_list
from crmtui.domain.when import BadWhen, parse_duration, parse_when
from crmtui.reports.calls import (
    CONNECT_OUTCOMES,
    CallFilter,
    CallItem,
    CallStats,
    call_queue,
    call_stats,
)
from crmtui.screens.cards.contact_card import ContactCardScreen, format_amount
from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.plan_enrol import PlanEnrolKeys, enrol_binding, plan_clock_of
from crmtui.screens.dialogs.prompts import PROMPT_CSS, ConfirmOverride, WhenPrompt
from crmtui.screens.dialogs.quick_log import Chosen
from crmtui.screens.dialogs.script_answer import ScriptAnswerPrompt
from crmtui.widgets.card_section import CardSection
from crmtui.widgets.footer import SteadyFooter
from crmtui.widgets.outcome_keys import OutcomeHint, OutcomeKeys
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.services.follow_ups.call_scripts import StoredScript
    from crmtui.store.journal import WriteTx

QUEUE_LIMIT = 200
CLAIM_BATCH = 10
"""Contacts the `c` key claims at once (team calling), for CLAIM_HOURS."""
CLAIM_HOURS = 4.0


@dataclass(frozen=True)
class OutcomeKey:
    """One key of the call list: the outcome it logs and the next touch it schedules."""

    key: str
    outcome: str
    label: str
    next_when: str | None  # plain words read at the moment of logging; None: no next touch
    next_text: str | None
    next_label: str
    ask: bool = False  # ask when (the default pre-filled) instead of using it directly


OUTCOME_KEYS: tuple[OutcomeKey, ...] = (
    OutcomeKey("1", "connected", "Connected", "in 7 days", "Follow up on the call", "in a week"),
    OutcomeKey("2", "no-answer", "No answer", "in 1 day", "Call again (no answer)", "tomorrow"),
    OutcomeKey(
        "3", "voicemail", "Voicemail", "in 2 days", "Call again (left a voicemail)", "in 2 days"
    ),
    OutcomeKey("4", "busy", "Busy", "in 2h", "Call again (line was busy)", "in 2 hours"),
    OutcomeKey("5", "meeting-booked", "Meeting set", "in 1 day", "Confirm the meeting", "tomorrow"),
    OutcomeKey("6", "wrong-number", "Wrong number", None, None, "none"),
    OutcomeKey("7", "not-interested", "Not interested", None, None, "none"),
    OutcomeKey(
        "8",
        "callback-requested",
        "Call back",
        "tomorrow 10am",
        "Call back as asked",
        "ask when",
        ask=True,
    ),
)
OUTCOME_BY_KEY = {k.key: k for k in OUTCOME_KEYS}


def describe_filter(flt: CallFilter, names: dict[str, str]) -> str:
    """The saved filter in words ("tag trial · untouched 30d"), or "due reminders only"."""
    parts = []
    if flt.territory_id:
        parts.append(f"territory {names.get('territory', flt.territory_id)}")
    if flt.tag:
        parts.append(f"tag {flt.tag}")
    if flt.stage_id:
        parts.append(f"stage {names.get('stage', flt.stage_id)}")
    if flt.untouched_days:
        parts.append(f"untouched {flt.untouched_days}d")
    return " · ".join(parts) if parts else "due reminders only"


def why_line(item: CallItem, now: datetime) -> Text:
    """Why this contact is in the queue."""
    line = Text()
    if item.reason == "list":
        line.append("From the list", style="bold")
    else:
        style = "bold red" if item.reason == "overdue" else "bold"
        due = in_list(item.due_at, now) if item.due_at else ""
        line.append(f"{item.reason.capitalize()}: due {due}", style=style)
        if item.tickler_text:
            line.append(f" — {item.tickler_text}")
    if item.last_touched is None:
        line.append("  ·  never touched", style="dim")
    else:
        days = (now.date() - item.last_touched.date()).days
        ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
        line.append(f"  ·  last touched {ago}", style="dim")
    return line


@dataclass(frozen=True)
class FilterWords:
    """The call list filter as typed: names and plain words, resolved in a worker."""

    territory: str = ""
    tag: str = ""
    stage: str = ""
    untouched: str = ""


class FilterPrompt(ModalScreen[FilterWords | None]):
    """The saved filter: territory, tag, stage, not touched in N days (all optional)."""

    DEFAULT_CSS = (
        PROMPT_CSS.format(name="FilterPrompt")
        + """
    FilterPrompt Horizontal { height: auto; }
    FilterPrompt Horizontal > Label { width: 14; padding: 1 1 0 0; color: $text-muted; }
    FilterPrompt Horizontal > Input { width: 1fr; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel")]

    def __init__(self, current: FilterWords) -> None:
        super().__init__()
        self._current = current

    def compose(self) -> ComposeResult:
        """Four optional fields."""
        with Vertical():
            yield Label("Call list filter (besides due reminders)", classes="prompt--title")
            for field, label, hint in (
                ("territory", "Territory", "name, e.g. Berlin (includes sub-territories)"),
                ("tag", "Tag", "e.g. trial"),
                ("stage", "Deal stage", "e.g. Proposal"),
                ("untouched", "Untouched for", "e.g. 30d (days without a call or visit)"),
            ):
                with Horizontal():
                    yield Label(label)
                    yield FieldInput(getattr(self._current, field), placeholder=hint, id=field)
            yield Static(
                "Enter applies · empty fields are ignored · Esc cancels", classes="prompt--hint"
            )

    def on_mount(self) -> None:
        """Cursor in the first field."""
        self.query_one("#territory", Input).focus()

    @on(Input.Submitted)
    def _apply(self) -> None:
        values = {i.id: i.value.strip() for i in self.query(Input) if i.id}
        self.dismiss(FilterWords(**values))

    def action_cancel(self) -> None:
        """Keep the filter as it was."""
        self.dismiss(None)


def resolve_filter(db: sqlite3.Connection, words: FilterWords) -> tuple[CallFilter, dict[str, str]]:
    """The filter's names as ids (raises ValueError with a clear message)."""
    from crmtui.reports.scope import ScopeError, resolve_territory

    names: dict[str, str] = {}
    territory_id = stage_id = None
    if words.territory:
        try:
            territory_id, names["territory"] = resolve_territory(db, words.territory)
        except ScopeError as exc:
            raise ValueError(str(exc)) from exc
    if words.stage:
        rows = db.execute(
            "SELECT id, name FROM stage WHERE deleted_at IS NULL AND lower(name) = lower(?)",
            (words.stage.strip(),),
        ).fetchall()
        if len(rows) != 1:
            raise ValueError(
                f"several stages are called {words.stage!r}"
                if rows
                else f"no stage {words.stage!r}"
            )
        stage_id, names["stage"] = rows[0]
    untouched = None
    if words.untouched:
        text = words.untouched.strip()
        span = timedelta(days=int(text)) if text.isdigit() else parse_duration(text)
        if span < timedelta(days=1):
            raise BadWhen(f"untouched for {text!r}: give whole days, e.g. 30d")
        untouched = span.days
    tag = words.tag.strip().lower().lstrip("#") or None
    return CallFilter(territory_id, tag, stage_id, untouched), names


class CallListScreen(PlanEnrolKeys, UsesDaily, Screen[None]):
    """The queue on the left, the contact on the right, the outcome keys below."""

    TITLE = "Call list"
    CSS_PATH = "calls.tcss"
    BINDINGS = [
        *(
            Binding(
                k.key,
                f"outcome('{k.key}')",
                k.label,
                show=False,
                id=f"calls.outcome.{k.outcome}",
                tooltip=f"Log: {k.label}; next touch {k.next_label}",
            )
            for k in OUTCOME_KEYS
        ),
        Binding("s", "skip", "Skip", id="calls.skip", tooltip="Call later: move to the end"),
        # Priority: the queue list's own Enter would hide this one from the Footer.
        Binding(
            "enter",
            "card",
            "Card",
            priority=True,
            id="calls.card",
            tooltip="Open the full contact card",
        ),
        Binding(
            "f", "filter", "Filter", id="calls.filter", tooltip="Territory, tag, stage, untouched"
        ),
        Binding("r", "reload", "Refresh", show=False, id="calls.reload", tooltip="Read it again"),
        enrol_binding("calls"),
        Binding(
            "C",
            "claim",
            "Claim",
            show=False,
            id="calls.claim",
            tooltip=f"Claim the next {CLAIM_BATCH} for {CLAIM_HOURS:g} h: others skip them",
        ),
        Binding(
            "a",
            "answer",
            "Answer",
            id="calls.script.answer",
            tooltip="Answer the call script's current question",
        ),
        Binding(
            "b",
            "unanswer",
            "Back",
            show=False,
            id="calls.script.back",
            tooltip="Take back the call script's last answer",
        ),
    ]

    class QueueLoaded(Message):
        """The queue and today's counters came back from the database."""

        def __init__(
            self,
            generation: int,
            now: datetime,
            queue: list[CallItem],
            stats: CallStats,
            lost: list[str] | None = None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.now = now
            self.queue = queue
            self.stats = stats
            self.lost = lost or []
            """Lines about this rep's claims another rep's earlier claim beat."""

    class CallLogged(Message):
        """A call's outcome (and next touch) were written."""

        def __init__(self, key: str, summary: str, outcome: str) -> None:
            super().__init__()
            self.key = key
            """The row's key (`CallItem.key`: a contact's id, or `lead:` and a lead's)."""
            self.summary = summary
            self.outcome = outcome

    class CallRefused(Message):
        """Consent refused the call; asking before logging it anyway."""

        def __init__(
            self, item: CallItem, key: str, due: datetime | None, reasons: list[str]
        ) -> None:
            super().__init__()
            self.item = item
            self.key = key
            self.due = due
            self.reasons = reasons

    class ScriptLoaded(Message):
        """The call script of a contact or lead (None: no script applies) came back."""

        def __init__(self, key: str, script: StoredScript | None) -> None:
            super().__init__()
            self.key = key
            self.script = script

    class FilterResolved(Message):
        """The typed filter was read into ids."""

        def __init__(self, words: FilterWords, flt: CallFilter, names: dict[str, str]) -> None:
            super().__init__()
            self.words = words
            self.flt = flt
            self.names = names

    def __init__(self, db: sqlite3.Connection, *, call_filter: CallFilter | None = None) -> None:
        super().__init__()
        self._db = db
        self.call_filter = call_filter or CallFilter()
        self._filter_words = FilterWords()
        self._filter_names: dict[str, str] = {}
        self._generation = 0
        self._loaded: list[CallItem] = []
        self.queue: list[CallItem] = []
        self.stats = CallStats(0, 0)
        self._now: datetime | None = None
        self._day_time: time | None = None
        self._skipped: list[str] = []  # contact ids, in the order they were skipped
        self._in_flight: set[str] = set()
        self._more = False  # the database holds more than the window read
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        # The call script per contact (read for the highlighted one) and the answers typed
        # so far; they are written with the call's outcome and forgotten after it.
        self._scripts: dict[str, StoredScript | None] = {}
        self._answers: dict[str, dict[str, str]] = {}
        self._told: set[str] = set()  # lost claims already notified
        self._call_lengths: dict[str, int] = {}  # a lead's ended call, until its outcome

    def compose(self) -> ComposeResult:
        """Counters, queue and card, keymap."""
        yield Header()
        yield Static("Loading the call list…", id="call-counters")
        with Horizontal(id="call-body"):
            yield OptionList(id="call-queue")
            with Horizontal(id="call-main"):
                with VerticalScroll(id="call-card"):
                    yield Static(id="call-name")
                    yield Static(id="call-phone")
                    yield Static(id="call-why")
                    yield CardSection("Last notes", id="call-recent")
                    yield CardSection("Open deals", id="call-deals")
                with VerticalScroll(id="call-script"):
                    yield Static(id="call-script-body")
        yield OutcomeKeys(id="call-keys")
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Show the keymap; the queue is read on resume."""
        self.query_one(OutcomeKeys).show_hints(
            [OutcomeHint(k.key, k.label, k.next_label) for k in OUTCOME_KEYS]
        )
        self.query_one("#call-queue", OptionList).focus()

    def on_screen_resume(self) -> None:
        """Shown again: read the queue and the counters."""
        self.reload()

    def on_resize(self) -> None:
        """Below 110 columns the script goes under the card instead of beside it."""
        narrow = self.size.width < 110
        if narrow != self.has_class("-narrow"):
            self.set_class(narrow, "-narrow")
            self._show_script()

    # ----------------------------------------------------------------- reading

    def reload(self) -> None:
        """Read the queue in a worker; an older read still running becomes stale."""
        self._generation += 1
        self.load(self._generation, self.call_filter)

    @work(thread=True, exclusive=True, exit_on_error=False, group="calls-load")
    def load(self, generation: int, flt: CallFilter) -> None:
        """The queue and today's counters, off the UI thread."""
        from crmtui.domain.calling_hours import parse_hours
        from crmtui.services.follow_ups.call_claims import claim_name, lost_claims, me_on

        daily = self.daily
        now = daily.now()
        # Read here, off the UI thread: the call-back prompt's dates land at this hour.
        self._day_time = daily.working_time()
        # One read at a time on the screen's own connection: each starts from a fresh
        # snapshot, so a read asked for after a write sees it.
        with self._read_lock:
            db = self._queue_reader()
            settings = daily.settings()
            me = me_on(db, settings.rep_name)
            hours = parse_hours(settings.calling_hours) if settings.calling_hours else None
            # One more than shown: whether there are more is known, not guessed.
            queue = call_queue(
                db,
                now=now,
                cap=daily.cap(),
                filter=flt,
                limit=QUEUE_LIMIT + 1,
                me=me,
                hours=hours,
            )
            stats = call_stats(db, now=now)
            lost = [
                f"{claim_name(db, mine.contact_id)} is {_rep_name(db, winner.rep_id)}'s"
                for mine, winner in lost_claims(db, me, now)
                if mine.id not in self._told
            ]
            self._told |= {mine.id for mine, _ in lost_claims(db, me, now)}
        self.post_message(self.QueueLoaded(generation, now, queue, stats, lost))

    def _queue_reader(self) -> sqlite3.Connection:
        """This screen's read connection (called with the read lock held, in a worker)."""
        if self._reader is None:
            from crmtui.search.lookup import connect

            self._reader = connect(self.daily.db_path)
        return self._reader

    def on_unmount(self) -> None:
        """Stop a queue read still running; the connection closes when its worker lets go."""
        if self._reader is not None:
            # As the app does with its own: close() under a running query crashes.
            self._reader.interrupt()
            self._reader = None

    @on(QueueLoaded)
    def _loaded_queue(self, event: QueueLoaded) -> None:
        if event.lost:
            self.notify(
                "; ".join(event.lost) + " (claimed first): left out of your list",
                title="Claims lost",
                severity="warning",
            )
        if event.generation != self._generation:
            return
        self._now = event.now
        self._more = len(event.queue) > QUEUE_LIMIT
        self._loaded = event.queue
        self.stats = event.stats
        present = {i.key for i in event.queue}
        self._skipped = [c for c in self._skipped if c in present]
        # A logged call may have moved a plan to a step with another script: read again.
        self._scripts = {}
        self._answers = {c: a for c, a in self._answers.items() if c in present}
        self._show_queue()

    def _show_queue(self, keep: str | None = None) -> None:
        """Order the loaded queue for display: in-flight calls out, skipped ones last."""
        skipped = {c: n for n, c in enumerate(self._skipped)}
        live = [i for i in self._loaded if i.key not in self._in_flight][:QUEUE_LIMIT]
        self.queue = [i for i in live if i.key not in skipped] + sorted(
            (i for i in live if i.key in skipped), key=lambda i: skipped[i.key]
        )
        options = self.query_one("#call-queue", OptionList)
        current = keep or (self.current.key if self.current else None)
        options.set_options(self._queue_option(i) for i in self.queue)
        ids = [i.key for i in self.queue]
        if self.queue:
            options.highlighted = ids.index(current) if current in ids else 0
        self._show_counters()
        self._show_current()
        self.refresh_bindings()

    def _queue_option(self, item: CallItem) -> Option:
        line = Text(item.name, style="bold")
        tag = {"overdue": ("overdue", "red"), "today": ("today", ""), "list": ("list", "dim")}[
            item.reason
        ]
        line.append(f"  {tag[0]}", style=tag[1] or "dim")
        if item.lead_id is not None:
            line.append("  lead", style="bold cyan")
        if item.claimed:
            line.append("  mine", style="bold")
        if item.key in self._skipped:
            line.append("  skipped", style="dim italic")
        line.no_wrap = True
        line.overflow = "ellipsis"
        return Option(line, id=item.key)

    def _show_counters(self) -> None:
        line = Text()
        line.append(f"Calls today {self.stats.calls_today}", style="bold")
        line.append(f"  ·  Connects {self.stats.connects_today}", style="bold")
        # The queue is read a window at a time, one more than shown: "200+" while there
        # are more, the same before and after a call (the next one fills the window).
        more = "+" if self._more else ""
        line.append(f"  ·  Remaining {len(self.queue)}{more}", style="bold")
        line.append(f"      Filter: {describe_filter(self.call_filter, self._filter_names)}")
        self.query_one("#call-counters", Static).update(line)

    def plan_contact(self) -> tuple[str, str] | None:
        """The highlighted contact (the `p` key's subject; a lead is enrolled from its card)."""
        item = self.current
        return (item.contact_id, item.name) if item is not None and item.contact_id else None

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Put the highlighted contact on a plan."""
        return self.enrol_palette()

    @property
    def current(self) -> CallItem | None:
        """The contact to call now (the highlighted one)."""
        options = self.query_one("#call-queue", OptionList)
        if options.highlighted is None or not 0 <= options.highlighted < len(self.queue):
            return None
        return self.queue[options.highlighted]

    def _show_current(self) -> None:
        item = self.current
        name = self.query_one("#call-name", Static)
        if item is None:
            name.update(
                Text("Nobody left to call. ", style="bold").append(
                    "Press f to widen the list, or r to read it again.", style="not bold"
                )
            )
            for widget_id in ("#call-phone", "#call-why"):
                self.query_one(widget_id, Static).update("")
            self.query_one("#call-recent", CardSection).show_lines([])
            self.query_one("#call-deals", CardSection).show_lines([])
            self._show_script()
            return
        now = self._now or datetime.now().astimezone()
        title = Text(item.name, style="bold")
        if item.company:
            title.append(f"  ·  {item.company}", style="not bold")
        if item.lead_id is not None:
            # Not a contact yet: Enter opens the lead card; outcomes log on the lead.
            title.append("  ·  lead", style="bold cyan")
        name.update(title)
        self.query_one("#call-phone", Static).update(Text(f"☎  {item.phone}", style="bold"))
        self.query_one("#call-why", Static).update(why_line(item, now))
        self.query_one("#call-recent", CardSection).show_lines(
            [
                Text.assemble(
                    (in_list(a.occurred_at, now), "dim"),
                    (f"  {a.kind}", "bold"),
                    f" · {a.outcome.replace('-', ' ')}" if a.outcome else "",
                    f" — {a.text}" if a.text else "",
                )
                for a in item.recent
            ]
        )
        self.query_one("#call-deals", CardSection).show_lines(
            [
                Text.assemble(
                    (d.name, "bold"),
                    f" · {format_amount(d.amount_minor, d.currency)}",
                    f" · {d.stage}" if d.stage else "",
                )
                for d in item.deals
            ]
        )
        self._show_script()

    # ----------------------------------------------------------------- script

    def _show_script(self) -> None:
        """The current contact's script: answered questions, the one to ask, its choices."""
        item = self.current
        pane = self.query_one("#call-script", VerticalScroll)
        body = self.query_one("#call-script-body", Static)
        if item is None:
            pane.display = False
            return
        if item.key not in self._scripts:
            pane.display = False
            self.load_script(item)
            return
        stored = self._scripts[item.key]
        pane.display = stored is not None
        if stored is None:
            return
        body.update(
            script_view(stored, self._answers.get(item.key, {}), compact=self.has_class("-narrow"))
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="calls-script")
    def load_script(self, item: CallItem) -> None:
        """The script a call to this row follows (its plan step's, else the campaign's)."""
        from crmtui.services.follow_ups.call_scripts import script_for_contact, script_for_lead

        campaign = self.daily.settings().call_script
        with self._read_lock:
            db = self._queue_reader()
            found = (
                script_for_contact(db, item.contact_id, campaign=campaign)
                if item.contact_id
                else script_for_lead(db, item.lead_id or "", campaign=campaign)
            )
        self.post_message(self.ScriptLoaded(item.key, found))

    @on(ScriptLoaded)
    def _script_loaded(self, event: ScriptLoaded) -> None:
        self._scripts[event.key] = event.script
        if self.current is not None and self.current.key == event.key:
            self._show_script()
            self.refresh_bindings()

    def _script_walk(self) -> tuple[CallItem, StoredScript, Any] | None:
        from crmtui.domain.call_scripts import walk

        item = self.current
        stored = self._scripts.get(item.key) if item is not None else None
        if item is None or stored is None:
            return None
        return item, stored, walk(stored.script, self._answers.get(item.key, {}))

    def action_answer(self) -> None:
        """Ask the script's current question; the answer moves the script along."""
        found = self._script_walk()
        if found is None or found[2].current is None:
            return
        item, stored, result = found
        question = result.current
        number = len(result.answered) + 1

        def answered(answer: str | None) -> None:
            if answer is None:
                return
            self._answers.setdefault(item.key, {})[question.key] = answer
            self._show_script()
            self.refresh_bindings()

        self.app.push_screen(
            ScriptAnswerPrompt(question, title=f"{stored.name} · question {number}"), answered
        )

    def action_unanswer(self) -> None:
        """Take back the last answer given."""
        found = self._script_walk()
        if found is None or not found[2].answered:
            return
        item, _, result = found
        last = result.answered[-1][0].key
        self._answers.get(item.key, {}).pop(last, None)
        self._show_script()
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#call-queue")
    def _moved(self) -> None:
        self._show_current()
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#call-queue")
    def _chosen(self) -> None:
        self.action_card()

    # ----------------------------------------------------------------- keys

    def selected_contact(self) -> Chosen | None:
        """The contact on screen (the quick log's default; none on a lead's row)."""
        item = self.current
        if item is None or item.contact_id is None:
            return None
        return Chosen(item.contact_id, item.name, item.company or "")

    def selected_lead(self) -> Chosen | None:
        """The lead on screen (the `c` key dials its phone); None on a contact's row."""
        item = self.current
        if item is None or item.lead_id is None:
            return None
        return Chosen(item.lead_id, item.name, item.company or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Outcome, skip, card and claim keys with someone to call; script keys with a script."""
        if action in ("outcome", "skip", "card", "claim"):
            return self.current is not None
        if action in ("answer", "unanswer"):
            found = self._script_walk()
            if found is None:
                return False
            return not found[2].done if action == "answer" else bool(found[2].answered)
        return True

    def action_card(self) -> None:
        """Open the full contact card (a lead's row: the lead card)."""
        item = self.current
        if item is None:
            return
        if item.contact_id is not None:
            self.app.push_screen(ContactCardScreen(self._db, item.contact_id))
        elif item.lead_id is not None:
            open_lead = getattr(self.app, "open_lead", None)
            if callable(open_lead):
                open_lead(item.lead_id)

    def action_skip(self) -> None:
        """Call this one later: it goes to the end of the queue."""
        item = self.current
        if item is None:
            return
        if item.key in self._skipped:
            self._skipped.remove(item.key)
        self._skipped.append(item.key)
        nxt = next((i.key for i in self.queue if i.key not in self._skipped), None)
        self._show_queue(keep=nxt)

    def action_reload(self) -> None:
        """Read the queue again."""
        self.reload()

    def action_claim(self) -> None:
        """Claim the next contacts of the list, so the team's others skip them until they expire."""
        ids = [i.key for i in self.queue if not i.claimed][:CLAIM_BATCH]
        if ids:
            self.claim(ids)

    @work(thread=True, exit_on_error=False, group="calls-write")
    def claim(self, contact_ids: list[str]) -> None:
        """Write the claims (one undoable write); a lead's row is claimed by its `lead:` key."""
        from crmtui.services.follow_ups.call_claims import claim_contacts, me_on

        daily = self.daily
        with self._read_lock:
            me = me_on(self._queue_reader(), daily.settings().rep_name)
        mine, taken = daily.write_undoable(
            f"Claim {len(contact_ids)} to call",
            lambda tx: claim_contacts(tx=tx, contact_ids=contact_ids, me=me, hours=CLAIM_HOURS),
        )
        summary = f"Claimed {len(mine)} for {CLAIM_HOURS:g} h"
        if taken:
            summary += f"; {len(taken)} another rep claimed first"
        self.app.call_from_thread(self.notify, summary + " · ctrl+z undoes", title="Claims")
        self.app.call_from_thread(self.reload)

    def action_outcome(self, key: str) -> None:
        """Log the outcome for the contact on screen and schedule its default next touch."""
        item = self.current
        spec = OUTCOME_BY_KEY.get(key)
        if item is None or spec is None:
            return
        if spec.ask and spec.next_when:
            now = self._now or datetime.now().astimezone()

            def read(text: str) -> datetime:
                return parse_when(text, now=now, day_time=self._day_time)

            def answered(due: datetime | None) -> None:
                if due is not None:
                    self._start_log(item, spec.key, due)

            self.app.push_screen(
                WhenPrompt(
                    f"{item.name} asked to be called back… when?", read, default=spec.next_when
                ),
                answered,
            )
            return
        self._start_log(item, spec.key, None)

    def _start_log(
        self, item: CallItem, key: str, due: datetime | None, *, force: bool = False
    ) -> None:
        self._in_flight.add(item.key)
        nxt = self._next_after(item.key)
        self._show_queue(keep=nxt)
        # An outcome for the contact being called ends the call timer: its length is logged.
        timer = getattr(self.app, "call_timer", None)
        ended = timer.stop(item.key) if timer is not None else None
        # A lead's call ended with `c` first: its length was kept for this outcome.
        kept = self._call_lengths.pop(item.key, None)
        self.log_call(
            item,
            key,
            due,
            force,
            script=self._script_answers(item.key),
            duration_s=ended[1] if ended else kept,
        )

    def keep_call_length(self, key: str, seconds: int) -> bool:
        """Keep an ended call's length for the row's outcome key (a lead: no quick log)."""
        if key not in {i.key for i in self.queue}:
            return False
        self._call_lengths[key] = seconds
        return True

    def _script_answers(self, contact_id: str) -> tuple[StoredScript, dict[str, str]] | None:
        """The script shown for this contact and the answers typed, when there are any."""
        stored = self._scripts.get(contact_id)
        answers = self._answers.get(contact_id)
        return (stored, dict(answers)) if stored is not None and answers else None

    def _next_after(self, contact_id: str) -> str | None:
        ids = [i.key for i in self.queue]
        if contact_id not in ids:
            return None
        at = ids.index(contact_id)
        rest = ids[at + 1 :] + ids[:at]
        return rest[0] if rest else None

    @work(thread=True, exit_on_error=False, group="calls-write")
    def log_call(
        self,
        item: CallItem,
        key: str,
        due: datetime | None,
        force: bool,
        script: tuple[StoredScript, dict[str, str]] | None = None,
        duration_s: int | None = None,
    ) -> None:
        """Write the outcome (with the script's answers) and the next touch; close the reminder."""
        from crmtui.services.consent import ConsentRefused
        from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
        from crmtui.services.follow_ups.call_scripts import answers_for
        from crmtui.services.follow_ups.ticklers import TicklerCreate, complete_tickler
        from crmtui.services.plan_progress import on_running_plan

        spec = OUTCOME_BY_KEY[key]
        daily = self.daily
        now, tz, cap = daily.now(), daily.zone(), daily.cap()
        if due is None and spec.next_when:
            due = parse_when(spec.next_when, now=now, day_time=daily.working_time())

        rep_name = daily.settings().rep_name

        clock = plan_clock_of(daily)

        planned = False
        # The answers were checked as they were typed: matched and on the script's path.
        answered = answers_for(*script)[0] if script is not None else None

        def write(tx: WriteTx) -> None:
            # A contact on a follow-up plan gets its next touch from the plan's branch.
            nonlocal planned
            planned = on_running_plan(tx.db, item.contact_id, item.lead_id)
            if item.tickler_id is not None:
                complete_tickler(tx=tx, tickler_id=item.tickler_id, tz=tz, plan_clock=clock)
            follow = (
                TicklerCreate(text=spec.next_text or "Follow up", due_at=due)
                if due is not None and not planned
                else None
            )
            log_activity(
                tx=tx,
                data=ActivityCreate(
                    kind="call",
                    contact_id=item.contact_id,
                    # A lead's row logs on the lead, as `crm log call lead:ID` does.
                    lead_id=item.lead_id,
                    outcome=spec.outcome,
                    duration_s=duration_s
                    if duration_s is not None and duration_s <= 86_400
                    else None,
                ),
                cap=cap,
                force=force,
                follow_up=follow,
                rep_name=rep_name,
                plan_clock=clock,
                script=answered,
            )

        try:
            daily.write_undoable(f"{spec.label}: {item.name}", write)
        except ConsentRefused as exc:
            self.post_message(self.CallRefused(item, key, due, exc.reasons))
            return
        summary = f"{spec.label}: {item.name}"
        if planned:
            summary += " · next touch from the follow-up plan"
        else:
            summary += f" · next touch {in_full(due)}" if due else " · no next touch"
        if force:
            summary += " (consent override recorded)"
        if answered is not None:
            summary += f" · {len(answered.answers)} script answer(s) kept"
        self.post_message(self.CallLogged(item.key, summary, spec.outcome))

    @on(CallLogged)
    def _logged(self, event: CallLogged) -> None:
        # Short-lived: an agent logs a call a minute and the card must stay readable.
        self.notify(event.summary, title="Call logged", timeout=3)
        self._in_flight.discard(event.key)
        self._answers.pop(event.key, None)
        # The counters move with the write; the read that follows confirms them.
        self.stats = CallStats(
            self.stats.calls_today + 1,
            self.stats.connects_today + (event.outcome in CONNECT_OUTCOMES),
        )
        self._show_counters()
        self.reload()

    @on(CallRefused)
    def _refused(self, event: CallRefused) -> None:
        def answered(log_anyway: bool | None) -> None:
            if log_anyway:
                self.log_call(
                    event.item,
                    event.key,
                    event.due,
                    True,
                    script=self._script_answers(event.item.key),
                )
            else:
                self._in_flight.discard(event.item.key)
                self.notify(f"Not logged: {event.item.name}", severity="warning")
                self.reload()

        self.app.push_screen(ConfirmOverride(event.reasons), answered)

    # ----------------------------------------------------------------- filter

    def action_filter(self) -> None:
        """Ask for the saved filter."""

        def answered(words: FilterWords | None) -> None:
            if words is not None:
                self.apply_filter(words)

        self.app.push_screen(FilterPrompt(self._filter_words), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="calls-filter")
    def apply_filter(self, words: FilterWords) -> None:
        """Read the typed names into ids off the UI thread."""
        flt, names = resolve_filter(self._db, words)
        self.post_message(self.FilterResolved(words, flt, names))

    @on(FilterResolved)
    def _filter_resolved(self, event: FilterResolved) -> None:
        self._filter_words, self.call_filter, self._filter_names = (
            event.words,
            event.flt,
            event.names,
        )
        self._skipped = []
        self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failed reads and writes show as notifications; the queue is read again after a write."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group == "calls-filter":
            self.notify(f"Filter not applied: {error}", severity="error")
            return
        self.notify(f"{error}", title="Call list: that did not work", severity="error")
        if event.worker.group == "calls-write":
            self._in_flight.clear()
            self.reload()


def _rep_name(db: sqlite3.Connection, rep_id: str | None) -> str:
    row = db.execute("SELECT name FROM rep WHERE id = ?", (rep_id,)).fetchone()
    return str(row[0]) if row else "another rep"


def script_view(stored: StoredScript, answers: dict[str, str], *, compact: bool = False) -> Text:
    """The script pane: its name, the answers given, the question to ask now and its choices.

    `compact` (a narrow terminal, the pane under the card): the answers on one line and
    the choices on the question's line, so the question fits in a few rows.
    """
    from crmtui.domain.call_scripts import walk

    result = walk(stored.script, answers)
    out = Text()
    out.append(f"{stored.name}", style="bold")
    out.append(f"  v{stored.version}", style="dim")
    if stored.why:
        out.append(f" · {stored.why}" if compact else f"\n{stored.why}", style="dim")
    if compact and result.answered:
        out.append("\n✓ ", style="green")
        out.append(" · ".join(answer for _, answer in result.answered), style="bold")
    elif not compact:
        for question, answer in result.answered:
            out.append("\n✓ ", style="green")
            out.append(question.text, style="dim")
            out.append(f"  {answer}", style="bold")
    gap = "\n" if compact else "\n\n"
    if result.current is None:
        out.append(f"{gap}Script done: log the outcome (1-8)", style="italic")
        if result.answered:
            out.append(
                " · b takes back the last" if compact else "\nb takes back the last answer",
                style="dim",
            )
        return out
    question = result.current
    out.append(f"{gap}▶ {question.text}", style="bold")
    if question.answers:
        for number, choice in enumerate(question.answers, 1):
            out.append("  " if compact else "\n  ")
            out.append(f"{number} ", style="bold")
            out.append(choice)
    else:
        out.append("  (free text)" if compact else "\n  (free text)", style="dim")
    out.append("\na answers" if compact else "\n\na answers", style="dim")
    if result.answered:
        out.append(" · b takes back the last", style="dim")
    return out


def outcome_words() -> Sequence[str]:
    """Every outcome the keymap can log (checked against the store's list by a test)."""
    return [k.outcome for k in OUTCOME_KEYS]
