"""A lead's card: who it is, where it came from, and its follow-up plans (leave and pause keys)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from crmtui.screens.cards.card_plans import CardPlans, plan_bindings, plan_lines, read_plans
from crmtui.screens.daily_context import DailyApp
from crmtui.widgets.card_section import CardSection
from crmtui.widgets.footer import SteadyFooter

if TYPE_CHECKING:
    from crmtui.services.plan_progress import EnrolmentState

_FIELDS = (
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("source", "Source"),
    ("status", "Status"),
    ("owner", "Owner"),
    ("territory", "Territory"),
)


def read_lead(db: sqlite3.Connection, lead_id: str) -> dict[str, Any] | None:
    """The lead's fields as the card shows them (None when it is gone)."""
    row = db.execute(
        "SELECT l.name, l.company, l.email, l.phone, l.source, l.status, l.disqualify_reason,"
        " r.name, t.name FROM lead l LEFT JOIN rep r ON r.id = l.owner_id"
        " LEFT JOIN territory t ON t.id = l.territory_id WHERE l.id = ? AND l.deleted_at IS NULL",
        (lead_id,),
    ).fetchone()
    if row is None:
        return None
    status = row[5] + (f" ({row[6]})" if row[6] else "")
    keys = ("name", "company", "email", "phone", "source", "status", "reason", "owner")
    return dict(zip(keys, row[:8], strict=True)) | {"status": status, "territory": row[8]}


class LeadCardScreen(CardPlans, Screen[None]):
    """One lead, loaded in a worker; Escape goes back."""

    TITLE = "Lead"
    DEFAULT_CSS = """
    LeadCardScreen #lead-card { padding: 1 2; }
    LeadCardScreen #lead-name { text-style: bold; color: $text-primary; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="lead_card.back", tooltip="Back"),
        *plan_bindings("lead_card"),
    ]

    class Loaded(Message):
        """The lead and its plans came back (None: the lead is gone)."""

        def __init__(
            self,
            lead: dict[str, Any] | None,
            plans: list[EnrolmentState],
            tz: tzinfo,
            now: datetime,
        ) -> None:
            super().__init__()
            self.lead = lead
            self.plans = plans
            self.tz = tz
            self.now = now

    def __init__(self, db: sqlite3.Connection, lead_id: str) -> None:
        super().__init__()
        self._db = db
        self.lead_id = lead_id
        self.lead: dict[str, Any] | None = None
        self.plan_states: list[EnrolmentState] = []

    def compose(self) -> ComposeResult:
        """Name, fields and the plans."""
        yield Header()
        with VerticalScroll(id="lead-card"):
            yield Static("Loading…", id="lead-name")
            yield CardSection("Details", id="lead-details")
            yield CardSection("Follow-up plans", id="lead-plans")
        yield SteadyFooter()

    def on_screen_resume(self) -> None:
        """Shown: read the lead."""
        self.reload()

    def reload(self) -> None:
        """Read the lead and its plans again (after a plan key)."""
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="lead-card")
    def _read(self) -> None:
        daily = cast(DailyApp, self.app).daily
        lead = read_lead(self._db, self.lead_id)
        plans = read_plans(self._db, lead_id=self.lead_id) if lead is not None else []
        self.post_message(self.Loaded(lead, plans, daily.zone(), daily.now()))

    def plan_who(self) -> str:
        """The lead's name (the plan keys' messages)."""
        return f"lead {self.lead['name']}" if self.lead else "this lead"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The plan keys only while a plan runs."""
        if action in ("leave_plan", "pause_plan"):
            return bool(self.running_plans())
        return True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Leave or pause a plan."""
        return self.plans_palette()

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.lead, self.plan_states = event.lead, event.plans
        self.refresh_bindings()
        name = self.query_one("#lead-name", Static)
        if event.lead is None:
            name.update("This lead no longer exists.")
            return
        self.title = event.lead["name"]
        name.update(Text(f"{event.lead['name']}  (lead)"))
        self.query_one("#lead-details", CardSection).show_lines(
            [
                Text.assemble((f"{label:<10} ", "dim"), str(event.lead[key]))
                for key, label in _FIELDS
                if event.lead.get(key)
            ]
        )
        self.query_one("#lead-plans", CardSection).show_lines(
            plan_lines(event.plans, event.tz, event.now)
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed read or plan write shows as a notification."""
        if event.state is WorkerState.ERROR:
            self.notify(f"{event.worker.error}", title="Lead card", severity="error")
