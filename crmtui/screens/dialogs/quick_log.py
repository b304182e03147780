"""Quick log: a modal to log a call, meeting or note, with an optional next touch.

Enter saves, Escape cancels without writing anything. The contact is the one
selected where the modal was opened, or one found with the search field. The
write (and the consent check) runs in a thread worker through the app's
`DailyContext`; a consent refusal asks before logging anyway as an override.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.domain.date_style import in_full
from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.plan_enrol import plan_clock_of
from crmtui.screens.dialogs.prompts import ConfirmOverride, SavingForm
from crmtui.search.lookup import ContactHit, search_contacts
from crmtui.widgets.choice_bar import ChoiceBar
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

KINDS = (
    ("call", "Call"),
    ("meeting", "Meeting"),
    ("note", "Note"),
    ("email", "Email"),
    ("visit", "Visit"),
)
NO_OUTCOME = ""
# The outcomes that make sense per kind; the same words as models.ACTIVITY_OUTCOMES
# (a test checks), repeated here so opening the modal never loads SQLModel. A call's
# are in the order of the call list's digits (F6: 1 connected ... 8 call back), so a
# digit means the same outcome in both.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "call": (
        "connected",
        "no-answer",
        "voicemail",
        "busy",
        "meeting-booked",
        "wrong-number",
        "not-interested",
        "callback-requested",
    ),
    "meeting": ("held", "cancelled"),
    "visit": ("held", "cancelled"),
    "email": ("sent", "replied"),
    "note": (),
}
SEARCH_HITS = 6
DEFAULT_NEXT_TEXT = "Follow up"


@dataclass(frozen=True)
class Chosen:
    """The contact an activity is logged against."""

    id: str
    name: str
    detail: str = ""


@dataclass(frozen=True)
class QuickLogResult:
    """What was written, for the caller's notification."""

    contact_id: str
    summary: str


def outcome_choices(kind: str) -> list[tuple[str, str]]:
    """The outcome bar's choices for a kind ("no outcome" first), each with its digit."""
    return [(NO_OUTCOME, "0 none")] + [
        (o, f"{n} {o.replace('-', ' ')}") for n, o in enumerate(OUTCOMES[kind], start=1)
    ]


def describe_logged(kind: str, outcome: str | None, name: str, next_due: datetime | None) -> str:
    """One line saying what was logged: "Call · no answer · Carla Rossi; next Tue 10 Mar 09:00"."""
    text = f"{kind.capitalize()}{' · ' + outcome.replace('-', ' ') if outcome else ''} · {name}"
    if next_due is not None:
        text += f"; next touch {in_full(next_due)}"
    return text


class QuickLogScreen(UsesDaily, SavingForm[QuickLogResult | None]):
    """Log an activity against one contact; Enter saves, Escape cancels."""

    STATUS_ID = "log-status"
    WHAT = "Quick log"

    DEFAULT_CSS = """
    QuickLogScreen {
        align: center middle;
        background: $background 60%;
    }
    QuickLogScreen > #form {
        width: 84;
        max-width: 100%;
        max-height: 100%;
        height: auto;
        padding: 1 2;
        border: round $border;
        background: $surface;
    }
    QuickLogScreen #form-title {
        text-style: bold;
        margin: 0 0 1 0;
    }
    QuickLogScreen .row {
        height: auto;
        margin: 0 0 1 0;
    }
    QuickLogScreen .row > Label {
        width: 12;
        padding: 0 1 0 0;
        color: $text-muted;
    }
    QuickLogScreen .row > Input {
        width: 1fr;
    }
    QuickLogScreen #hits {
        height: auto;
        max-height: 8;
        margin: 0 0 0 12;
    }
    QuickLogScreen #next-reading {
        margin: -1 0 1 12;
        color: $text-success;
    }
    QuickLogScreen #next-reading.-error {
        color: $text-error;
    }
    QuickLogScreen #deal, QuickLogScreen #duration {
        margin: 0 0 1 12;
    }
    QuickLogScreen #chosen {
        margin: 0 0 1 12;
        color: $text-success;
    }
    QuickLogScreen #chosen.-none {
        color: $text-warning;
    }
    QuickLogScreen #log-status {
        margin: 1 0 0 0;
        color: $text-muted;
    }
    QuickLogScreen #log-status.-error {
        color: $text-error;
    }
    /* At 24 rows the form fills the screen; the call's length and the next touch's
       reading would push the status line (where "Not saved: ..." is said) off it. */
    QuickLogScreen.-short > #form {
        padding: 0 2;
    }
    QuickLogScreen.-short #form-title, QuickLogScreen.-short #log-status {
        margin: 0;
    }
    """

    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="quick_log.cancel", tooltip="Close without logging"
        ),
        Binding(
            "enter", "save", "Save", id="quick_log.save", tooltip="Log it (and the next touch)"
        ),
        Binding("down", "hit(1)", "Next match", show=False, priority=True, id="quick_log.hit_down"),
        Binding(
            "up", "hit(-1)", "Previous match", show=False, priority=True, id="quick_log.hit_up"
        ),
        # Not priority: in a text field a digit is typed, as it should be.
        *(
            Binding(
                str(n),
                f"pick_outcome({n})",
                "Outcome",
                show=False,
                key_display="0-9",
                id=f"quick_log.outcome_{n}",
                tooltip="Pick the outcome with that number (0: no outcome)",
            )
            for n in range(10)
        ),
    ]

    class HitsFound(Message):
        """Search results for the contact field."""

        def __init__(self, generation: int, hits: list[ContactHit]) -> None:
            super().__init__()
            self.generation = generation
            self.hits = hits

    class Saved(Message):
        """The activity (and its follow-up) were written."""

        def __init__(self, result: QuickLogResult) -> None:
            super().__init__()
            self.result = result

    class Refused(Message):
        """Consent rules refused the activity; `reasons` say why."""

        def __init__(self, reasons: list[str]) -> None:
            super().__init__()
            self.reasons = reasons

    class Invalid(Message):
        """The input cannot be logged as it is; `problem` says why."""

        def __init__(self, problem: str) -> None:
            super().__init__()
            self.problem = problem

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        contact: Chosen | None = None,
        deal: Chosen | None = None,
        kind: str = "call",
        outcome: str = NO_OUTCOME,
        duration_s: int | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self.duration_s = duration_s
        """The call's length from the call timer (crmtui/screens/call_timer.py), if it ran."""
        self.contact = contact
        self.deal = deal
        """The deal the activity is logged on (opened from a deal card), else None."""
        self._day_time: time | None = None
        self._kind = kind
        self._outcome = outcome
        self._generation = 0
        self._hits: list[ContactHit] = []
        self.saving = False

    def compose(self) -> ComposeResult:
        """Contact, kind, outcome, text, next touch."""
        with Vertical(id="form"):
            yield Label("Log an activity", id="form-title")
            with Horizontal(classes="row"):
                yield Label("Contact")
                yield FieldInput(
                    placeholder="Search a contact by name, company, phone…",
                    id="search",
                    compact=True,
                )
            yield OptionList(id="hits")
            yield Static(id="chosen")
            if self.duration_s is not None:
                from crmtui.domain.dialling import call_length

                yield Static(
                    Text.assemble(
                        ("Length  ", "dim"), call_length(self.duration_s), " (call timer)"
                    ),
                    id="duration",
                )
            if self.deal is not None:
                yield Static(Text.assemble(("Deal  ", "dim"), (self.deal.name, "bold")), id="deal")
            with Horizontal(classes="row"):
                yield Label("Kind")
                yield ChoiceBar(KINDS, value=self._kind, id="kind")
            with Horizontal(classes="row"):
                yield Label("Outcome")
                yield ChoiceBar(outcome_choices(self._kind), value=self._outcome, id="outcome")
            with Horizontal(classes="row"):
                yield Label("Notes")
                yield FieldInput(placeholder="What was said (optional)", id="text", compact=True)
            with Horizontal(classes="row -next"):
                yield Label("Next touch")
                yield FieldInput(
                    placeholder='optional: "in 2 days", "tomorrow 9am"',
                    id="next-when",
                    compact=True,
                )
            yield Static("", id="next-reading")
            with Horizontal(classes="row"):
                yield Label("About")
                yield FieldInput(placeholder=DEFAULT_NEXT_TEXT, id="next-text", compact=True)
            yield Static(
                "Enter saves · Esc cancels · Tab moves · ←/→ or 1-9 pick a choice", id="log-status"
            )

    SHORT_ROWS = 30
    """Below this many rows the form drops its padding (the status line stays on screen)."""

    def on_resize(self) -> None:
        """Denser on a short terminal."""
        self.set_class(self.size.height < self.SHORT_ROWS, "-short")

    def on_mount(self) -> None:
        """Start where the next keystroke is most likely to go."""
        self.set_class(self.app.size.height < self.SHORT_ROWS, "-short")
        self.query_one("#hits", OptionList).display = False
        self.query_one("#next-reading", Static).display = False
        self._show_chosen()
        self._read_working_time()
        if self.contact is None:
            self.query_one("#search", Input).focus()
        else:
            self.query_one("#kind", ChoiceBar).focus()

    # ----------------------------------------------------------------- next touch

    @work(thread=True, exit_on_error=False, group="quick-log-clock")
    def _read_working_time(self) -> None:
        """The settings are read off the UI thread; the preview waits for them."""
        day_time = self.daily.working_time()
        self.daily.zone()
        self.app.call_from_thread(self._clock_ready, day_time)

    def _clock_ready(self, day_time: time) -> None:
        self._day_time = day_time
        self._show_next_reading(self.query_one("#next-when", Input).value)

    @on(Input.Changed, "#next-when")
    def _next_changed(self, event: Input.Changed) -> None:
        self._show_next_reading(event.value)

    def _show_next_reading(self, text: str) -> None:
        """What the next touch's words mean, as the reminder will be due: "→ Tue 08 Dec 09:00"."""
        from crmtui.domain.when import BadWhen, parse_when

        reading = self.query_one("#next-reading", Static)
        if not text.strip() or self._day_time is None:
            reading.display = False
            return
        reading.display = True
        try:
            # The settings are in memory by now (read by _read_working_time).
            due = parse_when(text, now=self.daily.now(), day_time=self._day_time)
        except BadWhen as exc:
            reading.set_class(True, "-error")
            reading.update(Text(str(exc)))
            return
        reading.set_class(False, "-error")
        reading.update(Text(f"→ {in_full(due)}"))

    # ----------------------------------------------------------------- contact

    def _show_chosen(self) -> None:
        chosen = self.query_one("#chosen", Static)
        chosen.set_class(self.contact is None, "-none")
        if self.contact is None:
            chosen.update("No contact chosen yet: type to search, Enter picks the highlighted one")
        else:
            label = Text(f"✓ {self.contact.name}", style="bold")
            if self.contact.detail:
                label.append(f" · {self.contact.detail}")
            chosen.update(label)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._generation += 1
        if len(event.value.strip()) < 2:
            self._show_hits(self._generation, [])
            return
        self.find_contacts(event.value, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="quick-log-search")
    def find_contacts(self, query: str, generation: int) -> None:
        """Search off the UI thread."""
        self.post_message(
            self.HitsFound(generation, search_contacts(self._db, query, limit=SEARCH_HITS))
        )

    @on(HitsFound)
    def _hits_found(self, event: HitsFound) -> None:
        self._show_hits(event.generation, event.hits)

    def _show_hits(self, generation: int, hits: list[ContactHit]) -> None:
        if generation != self._generation:
            return  # an older search answered late
        self._hits = hits
        options = self.query_one("#hits", OptionList)
        options.set_options(
            Option(Text.assemble((h.name, "bold"), f"  {h.company or ''}  {h.city or ''}"), id=h.id)
            for h in hits
        )
        options.display = bool(hits)
        if hits:
            options.highlighted = 0

    def action_hit(self, delta: int) -> None:
        """Move the highlighted search result while typing."""
        options = self.query_one("#hits", OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + delta))

    def _choose_highlighted(self) -> bool:
        options = self.query_one("#hits", OptionList)
        if not options.display or options.highlighted is None or not self._hits:
            return False
        hit = self._hits[options.highlighted]
        self._choose(hit)
        return True

    def _choose(self, hit: ContactHit) -> None:
        self.contact = Chosen(hit.id, hit.name, " · ".join(x for x in (hit.company, hit.city) if x))
        self._show_chosen()
        search = self.query_one("#search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        self._generation += 1
        self._show_hits(self._generation, [])
        self.query_one("#kind", ChoiceBar).focus()

    @on(OptionList.OptionSelected, "#hits")
    def _hit_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(self._hits[event.option_index])

    # ----------------------------------------------------------------- choices

    @on(ChoiceBar.Changed, "#kind")
    def _kind_changed(self, event: ChoiceBar.Changed) -> None:
        self._kind = event.value
        self.query_one("#outcome", ChoiceBar).set_choices(
            outcome_choices(event.value), self._outcome
        )

    @on(ChoiceBar.Changed, "#outcome")
    def _outcome_changed(self, event: ChoiceBar.Changed) -> None:
        self._outcome = event.value

    def action_pick_outcome(self, number: int) -> None:
        """A digit picks the outcome with that number (0 none); typed into a text field it is text."""
        choices = outcome_choices(self._kind)
        if number < len(choices):
            self.query_one("#outcome", ChoiceBar).select(choices[number][0])

    # ----------------------------------------------------------------- saving

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Arrows pick a search result only while the search field has results."""
        if action == "hit":
            return self.query_one("#search", Input).has_focus and bool(self._hits)
        return True

    def action_save(self) -> None:
        """Enter: pick the highlighted contact first if needed, else write."""
        if self.saving:
            return
        if self.query_one("#search", Input).has_focus and self._choose_highlighted():
            return
        if self.contact is None:
            self._status("Choose a contact first: type a name in the Contact field.", error=True)
            self.query_one("#search", Input).focus()
            return
        self.start_save(force=False)

    def start_save(self, *, force: bool) -> None:
        """Write in a worker; the modal stays open until it is done."""
        assert self.contact is not None
        self.saving = True
        self._status("Saving…")
        self.save(
            contact=self.contact,
            deal=self.deal,
            kind=self._kind,
            outcome=self._outcome or None,
            text=self.query_one("#text", Input).value.strip() or None,
            next_when=self.query_one("#next-when", Input).value.strip(),
            next_text=self.query_one("#next-text", Input).value.strip() or DEFAULT_NEXT_TEXT,
            force=force,
            duration_s=self.duration_s,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="quick-log-save")
    def save(
        self,
        *,
        contact: Chosen,
        deal: Chosen | None,
        kind: str,
        outcome: str | None,
        text: str | None,
        next_when: str,
        next_text: str,
        force: bool,
        duration_s: int | None = None,
    ) -> None:
        """Read the next touch, then log the activity and its follow-up in one transaction."""
        from crmtui.domain.validate import InvalidInput
        from crmtui.domain.when import BadWhen, parse_when
        from crmtui.services.consent import ConsentRefused
        from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
        from crmtui.services.follow_ups.ticklers import TicklerCreate

        daily = self.daily
        due: datetime | None = None
        if next_when:
            try:
                due = parse_when(next_when, now=daily.now(), day_time=daily.working_time())
            except BadWhen as exc:
                self.post_message(self.Invalid(f"Next touch: {exc}"))
                return
        cap = daily.cap()
        clock = plan_clock_of(daily)

        rep_name = daily.settings().rep_name

        def write(tx: WriteTx) -> None:
            follow = TicklerCreate(text=next_text, due_at=due) if due is not None else None
            log_activity(
                tx=tx,
                data=ActivityCreate(
                    kind=kind,
                    contact_id=contact.id,
                    deal_id=deal.id if deal is not None else None,
                    outcome=outcome,
                    text=text,
                    # A call over a day (a timer left running) is not a length to keep.
                    duration_s=duration_s
                    if duration_s is not None and duration_s <= 86_400
                    else None,
                ),
                cap=cap,
                force=force,
                follow_up=follow,
                rep_name=rep_name,
                plan_clock=clock,
            )

        label = f"Log {kind}: {contact.name}"
        try:
            daily.write_undoable(label, write)
        except ConsentRefused as exc:
            self.post_message(self.Refused(exc.reasons))
            return
        except InvalidInput as exc:
            self.post_message(self.Invalid(str(exc)))
            return
        summary = describe_logged(kind, outcome, contact.name, due)
        if force:
            summary += " (consent override recorded)"
        self.post_message(self.Saved(QuickLogResult(contact.id, summary)))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self.dismiss(event.result)

    @on(Invalid)
    def _invalid(self, event: Invalid) -> None:
        self.saving = False
        self._status(event.problem, error=True)

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        def answered(log_anyway: bool | None) -> None:
            if log_anyway:
                self.start_save(force=True)
            else:
                self.saving = False
                self._status("Not logged (consent).", error=True)

        self.app.push_screen(ConfirmOverride(event.reasons), answered)

    def action_cancel(self) -> None:
        """Escape: close, writing nothing."""
        self.dismiss(None)
