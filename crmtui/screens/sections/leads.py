"""The Leads section: an inbox by status; add, work, qualify, disqualify and convert a lead.

Every write goes through `crmtui.services.sales.leads` (what `crm lead` uses) inside
`write_undoable`. Conversion never duplicates: the service's own matching runs
first in a transaction that is rolled back (nothing written), the form shows the
existing account and contact it found, and the user says reuse or new. After a
conversion the new (or reused) contact's card opens.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import short_day, stored_day
from crmtui.reports.lead_inbox import FILTERS, SORTS, Inbox, LeadRow, lead_inbox
from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.record_form import FieldProblem, FormField, RecordForm, Saved
from crmtui.widgets.footer import SteadyFooter

if TYPE_CHECKING:
    from crmtui.screens.daily_context import DailyContext
    from crmtui.store.journal import WriteTx

LEADS_HINT = (
    # 76 cells: whole at 80 columns.
    "⏎ card · o outcome · q qualify · x disqualify · w working · f status · s sort"
)
SHORT = {"qualified": "qual.", "disqualified": "disq.", "converted": "conv."}
"""Filter names on a narrow screen, so every count fits in 80 columns."""
COLUMNS = ("Score", "Name", "Company", "Email / phone", "Source", "Status", "Added")
REUSE_WORDS = {"reuse": True, "yes": True, "y": True, "new": False, "no": False, "n": False}


@dataclass(frozen=True)
class MatchSummary:
    """What converting a lead would reuse, in words (plain data: the probe is rolled back)."""

    account: str = ""
    contact: str = ""

    @property
    def any(self) -> bool:
        """Tell whether anything matched."""
        return bool(self.account or self.contact)


class _Probe(Exception):
    """Ends the matching probe's transaction (rolled back) carrying what was found."""

    def __init__(self, summary: MatchSummary) -> None:
        super().__init__("probe")
        self.summary = summary


def find_matches(daily: DailyContext, lead_id: str) -> MatchSummary:
    """The service's conversion matches for a lead, in words; writes nothing."""
    from crmtui.services.sales.leads import conversion_matches

    def probe(tx: WriteTx) -> None:
        found = conversion_matches(tx=tx, lead_id=lead_id)
        account = contact = ""
        if found.account is not None:
            a = found.account
            account = " · ".join(x for x in (a.name, a.city, a.domain) if x)
        if found.contact is not None:
            why = " and ".join(found.contact_reasons)
            contact = f"{found.contact.name} (same {why})"
        raise _Probe(MatchSummary(account, contact))

    try:
        daily.write(probe)
    except _Probe as found:
        return found.summary
    raise AssertionError("the probe always raises")


def add_lead_form() -> RecordForm:
    """A new lead: a name is enough."""
    fields = [
        FormField("name", "Name", placeholder="The person (required)"),
        FormField("company", "Company", placeholder="Their company"),
        FormField("email", "Email", placeholder="name@example.com"),
        FormField("phone", "Phone", placeholder="As you would dial it"),
        FormField("source", "Source", placeholder="web, fair, referral…"),
    ]

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.sales.leads import LeadCreate, create_lead
        from crmtui.services.territories import me_rep_id

        region = daily.settings().default_region
        rep_name = daily.settings().rep_name

        def write(tx: WriteTx) -> str:
            data = LeadCreate(
                name=v["name"],
                company=v["company"] or None,
                email=v["email"] or None,
                phone=v["phone"] or None,
                source=v["source"] or None,
                owner_id=me_rep_id(tx, rep_name),
            )
            return create_lead(tx=tx, data=data, region=region).id

        made = daily.write_undoable(f"New lead {v['name'].strip()}", write)
        return Saved(f"Lead {v['name'].strip()} added · ctrl+z undoes", made)

    return RecordForm("New lead", fields, save, button="Add")


def disqualify_form(lead: LeadRow) -> RecordForm:
    """Why the lead is disqualified."""
    fields = [FormField("reason", "Reason", placeholder="no budget, student, competitor…")]

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.sales.leads import disqualify_lead

        daily.write_undoable(
            f"Disqualify {lead.name}",
            lambda tx: disqualify_lead(tx=tx, lead_id=lead.id, reason=v["reason"]),
        )
        return Saved(f"{lead.name} disqualified · ctrl+z undoes", lead.id)

    return RecordForm(f"Disqualify {lead.name}", fields, save, button="Disqualify")


def _outcome_preview(text: str) -> str:
    from crmtui.store.models import ACTIVITY_OUTCOMES

    word = text.strip().lower()
    if word not in ACTIVITY_OUTCOMES:
        raise ValueError("connected, no-answer, voicemail, busy, meeting-booked, …")
    return f"→ {word}"


def call_form(lead: LeadRow) -> RecordForm:
    """A call to the lead and its outcome; on a plan, the outcome branches it (as a contact's)."""
    fields = [
        FormField(
            "outcome", "Outcome", "", "connected, no-answer, meeting-booked…", _outcome_preview
        ),
        FormField("text", "Note", "", "what was said (optional)"),
    ]

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.screens.dialogs.plan_enrol import plan_clock_of
        from crmtui.services.follow_ups.activities import ActivityCreate, log_activity

        outcome = v["outcome"].strip().lower()
        if not outcome:
            raise FieldProblem("outcome", "Outcome: say how the call went")
        cap, clock, rep_name = daily.cap(), plan_clock_of(daily), daily.settings().rep_name
        data = ActivityCreate(
            kind="call", lead_id=lead.id, outcome=outcome, text=v["text"].strip() or None
        )
        daily.write_undoable(
            f"Log call: {lead.name}",
            lambda tx: log_activity(tx=tx, data=data, cap=cap, rep_name=rep_name, plan_clock=clock),
        )
        return Saved(f"Call to {lead.name} logged ({outcome}) · ctrl+z undoes", lead.id)

    return RecordForm(f"Call {lead.name}", fields, save, button="Log call")


def convert_form(lead: LeadRow, matches: MatchSummary) -> RecordForm:
    """The deal a conversion opens, and (when something matches) reuse or new."""
    from crmtui.screens.cards.card_forms import amount_preview, read_amount

    default_name = f"{lead.company} – {lead.name}" if lead.company else lead.name
    fields = [
        FormField("deal", "Deal", default_name, "The deal it opens"),
        FormField("amount", "Amount", "", "12,500 (EUR) or 9,900 GBP", amount_preview("EUR")),
        FormField("close", "Closes", "", "2026-06-30 (blank: none)", aliases=("expected_close",)),
    ]
    about_lines = []
    if matches.any:
        about_lines.append("Already in the database:")
        if matches.account:
            about_lines.append(f"  account {matches.account}")
        if matches.contact:
            about_lines.append(f"  contact {matches.contact}")
        about_lines.append("reuse fills only what they lack; new makes new records.")
        fields.append(FormField("existing", "Existing", "reuse", "reuse or new", _reuse_preview))
    else:
        about_lines.append("Nothing matches: a new contact (and account) are made.")

    def save(daily: DailyContext, v: dict[str, str]) -> Saved:
        from crmtui.services.sales.leads import LeadConversion, convert_lead
        from crmtui.services.territories import me_rep_id

        minor, currency = read_amount(v["amount"], "EUR")
        close = None
        if v["close"].strip():
            try:
                close = date.fromisoformat(v["close"].strip())
            except ValueError:
                raise FieldProblem("close", "Closes: a date like 2026-06-30") from None
        reuse = _read_reuse(v["existing"]) if matches.any else None
        region = daily.settings().default_region
        rep_name = daily.settings().rep_name
        data = LeadConversion(
            deal_name=v["deal"].strip() or None,
            amount_minor=minor,
            currency=currency,
            expected_close=close,
            reuse=reuse,
        )

        def write(tx: WriteTx) -> tuple[str, str, bool]:
            done = convert_lead(
                tx=tx, lead_id=lead.id, data=data, region=region, by=me_rep_id(tx, rep_name)
            )
            return done.contact.id, done.deal.id, done.reused_contact

        contact_id, deal_id, reused = daily.write_undoable(f"Convert {lead.name}", write)
        how = "reused contact" if reused else "new contact"
        return Saved(
            f"{lead.name} converted ({how}, deal opened) · ctrl+z undoes",
            contact_id,
            {"deal_id": deal_id},
        )

    return RecordForm(
        f"Convert {lead.name}", fields, save, about="\n".join(about_lines), button="Convert"
    )


def _read_reuse(text: str) -> bool:
    word = text.strip().lower()
    if word not in REUSE_WORDS:
        raise FieldProblem("existing", "Existing: type reuse or new")
    return REUSE_WORDS[word]


def _reuse_preview(text: str) -> str:
    if text.strip().lower() not in REUSE_WORDS:
        raise ValueError("type reuse or new")
    return "→ reuse them" if REUSE_WORDS[text.strip().lower()] else "→ make new records"


def column_widths(width: int) -> tuple[int, ...]:
    """Cells per column for a screen `width`: Score, Source, Status and Added fixed, the rest
    shared."""
    fixed = (8, 10, 10) if width < 100 else (10, 12, 10)
    score = 7
    # Two cells of padding per column, and the scroll bar.
    rest = max(width - score - sum(fixed) - 2 * len(COLUMNS) - 2, 30)
    name, company = rest * 3 // 10, rest * 35 // 100
    return (score, name, company, rest - name - company, *fixed)


def lead_cells(lead: LeadRow) -> tuple[Text, ...]:
    """The table cells of one lead."""
    status = lead.status + (f": {lead.disqualify_reason}" if lead.disqualify_reason else "")
    score = "" if lead.score is None else f"{lead.score:.1f}"
    return (
        Text(score, justify="right", no_wrap=True),
        Text(lead.name, overflow="ellipsis", no_wrap=True),
        Text(lead.company or "", overflow="ellipsis", no_wrap=True),
        Text(lead.email or lead.phone or "", overflow="ellipsis", no_wrap=True),
        Text(lead.source or "", overflow="ellipsis", no_wrap=True),
        Text(status, overflow="ellipsis", no_wrap=True),
        Text(stored_day(lead.created_at, short_day), style="dim"),
    )


class LeadsScreen(UsesDaily, Screen[None]):
    """The inbox; `f` changes the status shown."""

    TITLE = "Leads"
    BINDINGS = [
        Binding("n", "add", "New", id="leads.add", tooltip="Add a lead"),
        Binding(
            "c",
            "convert",
            "Convert",
            id="leads.convert",
            tooltip="Convert into contact, account and deal (matches offered)",
        ),
        Binding(
            "q",
            "qualify",
            "Qualify",
            show=False,
            id="leads.qualify",
            tooltip="Mark the lead qualified",
        ),
        Binding(
            "x",
            "disqualify",
            "Disqualify",
            show=False,
            id="leads.disqualify",
            tooltip="Disqualify, with a reason",
        ),
        Binding(
            "w",
            "working",
            "Working",
            id="leads.working",
            show=False,
            tooltip="Mark the lead as being worked on",
        ),
        Binding(
            "f",
            "filter",
            "Status",
            show=False,
            id="leads.filter",
            tooltip="Show another status (open, new, … all)",
        ),
        Binding(
            "o",
            "call",
            "Call",
            show=False,
            id="leads.call",
            tooltip="Log a call to the lead and its outcome (moves its follow-up plan)",
        ),
        Binding(
            "s",
            "sort",
            "Sort",
            show=False,
            id="leads.sort",
            tooltip="Newest first, or highest score first (crm lead score --explain says why)",
        ),
        Binding(
            "enter",
            "open",
            "Open",
            id="leads.open",
            show=False,
            tooltip="The lead's card (its plans); a converted lead: its contact's card",
        ),
    ]
    DEFAULT_CSS = """
    LeadsScreen #leads-status {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    LeadsScreen #leads-hint {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    LeadsScreen DataTable {
        height: 1fr;
    }
    """

    class Loaded(Message):
        """The inbox was read."""

        def __init__(self, inbox: Inbox) -> None:
            super().__init__()
            self.inbox = inbox

    class Wrote(Message):
        """A write finished; say `summary`."""

        def __init__(self, summary: str) -> None:
            super().__init__()
            self.summary = summary

    class MatchesFound(Message):
        """The probe said what a conversion would reuse."""

        def __init__(self, lead: LeadRow, matches: MatchSummary) -> None:
            super().__init__()
            self.lead = lead
            self.matches = matches

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._db = db
        self.status = "open"
        self.sort = "newest"
        self._resorted = False
        self.inbox: Inbox | None = None
        self._width = 0

    def compose(self) -> ComposeResult:
        """The filter line and the table."""
        yield Header()
        yield Static("Loading leads…", id="leads-status")
        # The footer keeps room for the section keys; the inbox's other keys are said here.
        yield Static(LEADS_HINT, id="leads-hint")
        table: DataTable[Text] = DataTable(id="leads", cursor_type="row", zebra_stripes=True)
        yield table
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Columns sized to the screen."""
        self._columns(self.size.width)

    def on_resize(self, event: events.Resize) -> None:
        """Columns sized to the new width; the rows drawn again in them."""
        if event.size.width != self._width:
            self._columns(event.size.width)
            if self.inbox is not None:
                self._show(self.inbox)

    def _columns(self, width: int) -> None:
        self._width = width
        table = self.query_one("#leads", DataTable)
        table.clear(columns=True)
        # The column the rows are sorted by says so (the status line has no room at 80).
        sorted_by = "Score" if self.sort == "score" else "Added"
        for name, room in zip(COLUMNS, column_widths(width), strict=True):
            label = f"{name} ▾" if name == sorted_by else name
            table.add_column(label, width=room, key=name)

    def on_screen_resume(self) -> None:
        """Shown: read the inbox again."""
        self.reload()

    def reload(self) -> None:
        """Read the inbox again (after a write or an undo)."""
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="leads-load")
    def load(self) -> None:
        """Read the inbox off the UI thread."""
        self.post_message(self.Loaded(lead_inbox(self._db, self.status, self.sort)))

    @property
    def current(self) -> LeadRow | None:
        """The highlighted lead."""
        if self.inbox is None or not self.inbox.rows:
            return None
        row = self.query_one("#leads", DataTable).cursor_row
        return self.inbox.rows[row] if 0 <= row < len(self.inbox.rows) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Writes need a highlighted lead that is not converted; Enter any lead."""
        lead = self.current
        if action in ("convert", "qualify", "disqualify", "working", "call"):
            return lead is not None and lead.status != "converted"
        if action == "open":
            return lead is not None
        return True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """The inbox's actions possible now."""
        lead = self.current
        name = lead.name if lead else "lead"
        out: list[tuple[str, str, Any]] = [("New lead", "Add a lead (n)", self.action_add)]
        for action, title, help in (
            ("convert", f"Convert {name}", "Into contact, account and deal; matches offered (c)"),
            ("qualify", f"Qualify {name}", "Mark it qualified (q)"),
            ("disqualify", f"Disqualify {name}", "With a reason (x)"),
            ("working", f"Working on {name}", "Mark it as being worked (w)"),
            ("call", f"Call {name}", "Log the call's outcome; it moves the lead's plan (o)"),
        ):
            if self.check_action(action, ()):
                out.append((title, help, getattr(self, f"action_{action}")))
        out.append(("Lead status filter", "Show another status (f)", self.action_filter))
        out.append(("Sort leads", "Newest first or by score (s)", self.action_sort))
        return out

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._show(event.inbox)

    def _show(self, inbox: Inbox) -> None:
        # A new order starts at its top; a reload keeps the highlighted lead.
        keep = self.current.id if self.current and not self._resorted else None
        self._resorted = False
        self.inbox = inbox
        table = self.query_one("#leads", DataTable)
        table.clear()
        for lead in inbox.rows:
            table.add_row(*lead_cells(lead), key=lead.id)
        ids = [lead.id for lead in inbox.rows]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        counts = inbox.counts
        line = Text("Status:")
        narrow = self.size.width < 100
        for name in FILTERS:
            style = "bold reverse" if name == self.status else ""
            label = SHORT.get(name, name) if narrow else name
            line.append(f" {label} {counts.get(name, 0)} ", style=style)
        if not inbox.rows:
            line.append("  — none; n adds one", style="italic")
        self.query_one("#leads-status", Static).update(line)
        table.focus()
        self.refresh_bindings()

    def on_data_table_row_highlighted(self) -> None:
        """Which keys work depends on the lead."""
        self.refresh_bindings()

    def action_filter(self) -> None:
        """The next status filter."""
        self.status = FILTERS[(FILTERS.index(self.status) + 1) % len(FILTERS)]
        self.reload()

    def action_sort(self) -> None:
        """Newest first, or highest score first."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._resorted = True
        self._columns(self._width)
        self.reload()

    @on(DataTable.RowSelected, "#leads")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        # The table takes Enter before the screen's binding sees it.
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """The lead's card (plans, pause, leave); a converted lead: its contact's card."""
        lead = self.current
        if lead is None:
            return
        if lead.converted_contact_id:
            self._open_contact(lead.converted_contact_id)
            return
        from crmtui.screens.cards.lead_card import LeadCardScreen

        self.app.push_screen(LeadCardScreen(self._db, lead.id))

    def _open_contact(self, contact_id: str) -> None:
        from crmtui.screens.cards.contact_card import ContactCardScreen

        self.app.push_screen(ContactCardScreen(self._db, contact_id))

    def _form(self, form: RecordForm, then: Any = None) -> None:
        def done(result: Saved | None) -> None:
            if result is None:
                return
            self.notify(result.summary, title="Leads")
            self.reload()
            if then is not None:
                then(result)

        self.app.push_screen(form, done)

    def action_add(self) -> None:
        """The new-lead form."""
        self._form(add_lead_form())

    def action_disqualify(self) -> None:
        """Ask why, then disqualify."""
        lead = self.current
        if lead is not None and lead.status != "converted":
            self._form(disqualify_form(lead))

    def action_call(self) -> None:
        """Log a call to the lead and its outcome."""
        lead = self.current
        if lead is not None and lead.status != "converted":
            self._form(call_form(lead))

    def action_qualify(self) -> None:
        """Mark the lead qualified."""
        self._set_status("qualified")

    def action_working(self) -> None:
        """Mark the lead as being worked on."""
        self._set_status("working")

    def _set_status(self, status: str) -> None:
        lead = self.current
        if lead is not None and lead.status != "converted":
            self.set_status(lead, status)

    @work(thread=True, exit_on_error=False, group="leads-write")
    def set_status(self, lead: LeadRow, status: str) -> None:
        """Set the status through the lead service, as one undoable write."""
        from crmtui.services.sales.leads import set_lead_status

        self.daily.write_undoable(
            f"{lead.name}: {status}",
            lambda tx: set_lead_status(tx=tx, lead_id=lead.id, status=status),
        )
        self.post_message(self.Wrote(f"{lead.name} is {status} · ctrl+z undoes"))

    def action_convert(self) -> None:
        """Find what the conversion would reuse, then show the conversion form."""
        lead = self.current
        if lead is not None and lead.status != "converted":
            self.probe(lead)

    @work(thread=True, exit_on_error=False, group="leads-write")
    def probe(self, lead: LeadRow) -> None:
        """Run the service's matching (rolled back) off the UI thread."""
        matches = find_matches(self.daily, lead.id)
        self.post_message(self.MatchesFound(lead, matches))

    @on(MatchesFound)
    def _matches(self, event: MatchesFound) -> None:
        def converted(result: Saved) -> None:
            self._open_contact(result.record_id)

        self._form(convert_form(event.lead, event.matches), converted)

    @on(Wrote)
    def _wrote(self, event: Wrote) -> None:
        self.notify(event.summary, title="Leads")
        self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A refused write (a converted lead, a gone one) is said, not raised."""
        if event.state is WorkerState.ERROR and event.worker.group == "leads-write":
            self.notify(str(event.worker.error), title="Not done", severity="error")
        elif event.state is WorkerState.ERROR:
            self.query_one("#leads-status", Static).update(
                Text(f"Cannot read leads: {event.worker.error}")
            )
