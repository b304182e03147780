"""The account card: where the company is, who owns it, its people, deals, activities and reminders.

Opened from the palette ("Account: X"), from a contact or deal card (`g`) and from
the contact search (`ctrl+a` on a highlighted contact). `c` and `d` open one of its
contacts or deals; `e` edits it (territory by name, pinned; owner by rep name).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from crmtui.reports.account_card import AccountCard, account_card
from crmtui.reports.cross_sell import BoughtRow, Suggestion
from crmtui.screens.cards.card_keys import CardKeys, Subject, shared_bindings
from crmtui.screens.cards.contact_card import activity_line, deal_line, tickler_line
from crmtui.screens.daily_context import DailyApp
from crmtui.widgets.card_section import CardSection
from crmtui.widgets.footer import SteadyFooter

ACCOUNT_SHARED = ("add_reminder", "edit_reminder", "edit_activity", "add_deal")


def account_fields(card: AccountCard) -> Table:
    """The label/value grid of an account's own fields."""
    a = card.account
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    territory = a.get("territory_name")
    if territory and a.get("territory_pinned"):
        territory += " (placed by hand: rules leave it)"
    place = ", ".join(
        x for x in (a.get("street"), a.get("postcode"), a.get("city"), a.get("country")) if x
    )
    rows = [
        ("Domain", a.get("domain")),
        ("Website", a.get("website")),
        ("Phone", a.get("phone")),
        ("Address", place or None),
        ("Industry", a.get("industry")),
        ("Territory", territory),
        ("Owner", a.get("owner_name")),
    ]
    tags = a.get("tags")
    if tags and tags != "[]":
        import json

        rows.append(("Tags", "  ".join(f"#{t}" for t in json.loads(tags))))
    for label, value in rows:
        grid.add_row(label, Text(str(value) if value else "—"))
    return grid


def bought_row(row: BoughtRow) -> Text:
    """A product the account bought: SKU, name, how much, when last."""
    from crmtui.domain.pricing import format_quantity

    line = Text.assemble((f"{row.sku} ", "bold"), row.name)
    line.append(f" · {format_quantity(row.quantity_milli)} in {row.deals} deal(s)", style="dim")
    if row.last_won:
        line.append(f" · last {row.last_won[:10]}", style="dim")
    return line


def suggestion_row(row: Suggestion) -> Text:
    """A product similar accounts bought: SKU, name, how many of them."""
    return Text.assemble(
        (f"{row.sku} ", "bold"),
        row.name,
        (f" · {row.accounts} of {row.of} similar accounts", "dim"),
    )


def contact_row(contact: dict[str, Any]) -> Text:
    """One person at the account: name, title, how to reach them."""
    line = Text(contact.get("name") or "(no name)", style="bold")
    for part in (contact.get("title"), contact.get("email"), contact.get("phone")):
        if part:
            line.append(f" · {part}")
    if contact.get("do_not_call"):
        line.append("  do not call", style="italic")
    if contact.get("archived_at"):
        line.append("  archived", style="italic")
    return line


def account_deal_row(deal: dict[str, Any]) -> Text:
    """One deal of the account, its status when closed."""
    line = deal_line(deal)
    if deal.get("status") and deal["status"] != "open":
        line.append(f"  {deal['status'].upper()}", style="bold")
    return line


def one_per_line(lines: list[Text]) -> Group | None:
    """Rows that keep to one line each, cut with an ellipsis only when too long (None: none)."""
    if not lines:
        return None
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
    return Group(*lines)


class AccountCardScreen(CardKeys, Screen[None]):
    """One account, loaded in a worker; Escape goes back."""

    TITLE = "Account"
    SHARED_ACTIONS = ACCOUNT_SHARED
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="account_card.back", tooltip="Back"),
        Binding(
            "e",
            "edit",
            "Edit",
            id="account_card.edit",
            tooltip="Edit the account: name, domain, territory, owner…",
        ),
        Binding(
            "c",
            "open_contact",
            "Contact",
            show=False,
            id="account_card.open_contact",
            tooltip="Open one of its contacts",
        ),
        Binding(
            "d",
            "open_deal",
            "Deal",
            show=False,
            id="account_card.open_deal",
            tooltip="Open one of its deals",
        ),
        *shared_bindings("account_card", ACCOUNT_SHARED),
    ]
    DEFAULT_CSS = """
    AccountCardScreen #account {
        padding: 1 2;
    }
    AccountCardScreen #account-name {
        text-style: bold;
        color: $text-primary;
    }
    """

    class CardLoaded(Message):
        """The account came back from the database (None: it is gone)."""

        def __init__(
            self,
            card: AccountCard | None,
            tz: tzinfo,
            now: datetime,
            products: tuple[list[BoughtRow], list[Suggestion]] = ([], []),
        ) -> None:
            super().__init__()
            self.products = products
            self.card = card
            self.tz = tz
            self.now = now

    def __init__(self, db: sqlite3.Connection, account_id: str) -> None:
        super().__init__()
        self._db = db
        self.account_id = account_id
        self.card: AccountCard | None = None

    def compose(self) -> ComposeResult:
        """Name on top, then its fields, people, deals, activities and reminders."""
        yield Header()
        with VerticalScroll(id="account"):
            yield Static("Loading account…", id="account-name")
            yield CardSection("Details", id="details")
            yield CardSection("Contacts (c opens one)", id="contacts")
            yield CardSection("Deals (d opens one)", id="deals")
            yield CardSection("Products bought", id="bought")
            yield CardSection("Similar accounts also bought", id="suggested")
            yield CardSection("Recent activities", id="activities")
            yield CardSection("Open reminders", id="reminders")
        yield SteadyFooter()

    def on_screen_resume(self) -> None:
        """Shown (first time, or back from a contact or a form): read the account again."""
        self.reload()

    def reload(self) -> None:
        """Read the account again."""
        self.load_card()

    @work(thread=True, exclusive=True, exit_on_error=False, group="account-card")
    def load_card(self) -> None:
        """Read the card off the UI thread, with the user's zone and clock."""
        daily = cast(DailyApp, self.app).daily
        tz, now = daily.zone(), daily.now()
        from crmtui.reports.cross_sell import bought_by, similar_bought

        card = account_card(self._db, self.account_id)
        products = (bought_by(self._db, self.account_id), similar_bought(self._db, self.account_id))
        self.post_message(self.CardLoaded(card, tz, now, products))

    def card_subject(self) -> Subject | None:
        """This account."""
        if self.card is None:
            return None
        return Subject("account", self.account_id, self.card.account.get("name") or "account")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Everything but Back waits for the card; c and d need a contact or a deal."""
        if action == "open_contact":
            return self.card is not None and bool(self.card.contacts)
        if action == "open_deal":
            return self.card is not None and bool(self.card.deals)
        if action in ("edit", *ACCOUNT_SHARED):
            return self.card is not None
        return True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """The account's actions possible now, for the palette."""
        name = self.card.account.get("name") if self.card else "account"
        out: list[tuple[str, str, Any]] = []
        for action, title, help in (
            ("edit", f"Edit {name}", "Name, domain, territory, owner… (e)"),
            ("open_contact", f"Open a contact of {name}", "Choose one of its people (c)"),
            ("open_deal", f"Open a deal of {name}", "Choose one of its deals (d)"),
        ):
            if self.check_action(action, ()):
                out.append((title, help, getattr(self, f"action_{action}")))
        return out + self.shared_palette()

    def action_edit(self) -> None:
        """The account's edit form."""
        from crmtui.screens.cards.card_forms import edit_account_form

        if self.card is not None:
            self.open_form(edit_account_form(self.card.account))

    def action_open_contact(self) -> None:
        """Open one of the account's contacts (a list first when it has several)."""
        if self.card is None or not self.card.contacts:
            return
        rows = [(str(c["id"]), contact_row(c)) for c in self.card.contacts]
        self._open_one("Open which contact?", rows, "open_contact")

    def action_open_deal(self) -> None:
        """Open one of the account's deals (a list first when it has several)."""
        if self.card is None or not self.card.deals:
            return
        rows = [(str(d["id"]), account_deal_row(d)) for d in self.card.deals]
        self._open_one("Open which deal?", rows, "open_deal")

    def _open_one(self, title: str, rows: list[tuple[str, Text]], opener: str) -> None:
        from crmtui.screens.dialogs.pick import PickScreen

        def chosen(row_id: str | None) -> None:
            if row_id is not None:
                self._open_here(opener, row_id)

        if len(rows) == 1:
            self._open_here(opener, rows[0][0])
        else:
            self.app.push_screen(PickScreen(title, rows), chosen)

    def _open_here(self, opener: str, row_id: str) -> None:
        # Pushed over this card, in this section, so Escape comes back here.
        from crmtui.screens.cards.contact_card import ContactCardScreen
        from crmtui.screens.cards.deal_card import DealCardScreen

        if opener == "open_contact":
            self.app.push_screen(ContactCardScreen(self._db, row_id))
        else:
            daily = cast(DailyApp, self.app).daily
            self.app.push_screen(DealCardScreen(self._db, row_id, now=daily.now, tz=daily.zone))

    @on(CardLoaded)
    def _show(self, event: CardLoaded) -> None:
        self.card = event.card
        self.refresh_bindings()
        name = self.query_one("#account-name", Static)
        if event.card is None:
            name.update("This account no longer exists (deleted or merged).")
            for section in self.query(CardSection):
                section.display = False
            return
        a = event.card.account
        self.title = a.get("name") or "Account"
        title = Text(a.get("name") or "(no name)")
        where = " · ".join(x for x in (a.get("city"), a.get("territory_name")) if x)
        if where:
            title.append(f"  {where}", style="not bold dim")
        if a.get("archived_at"):
            title.append("  archived", style="italic")
        name.update(title)
        self.query_one("#details", CardSection).show(account_fields(event.card))
        self.query_one("#contacts", CardSection).show(
            one_per_line([contact_row(c) for c in event.card.contacts])
        )
        self.query_one("#deals", CardSection).show(
            one_per_line([account_deal_row(d) for d in event.card.deals])
        )
        bought, suggested = event.products
        # Without a catalogue (or sales of it) both are empty: the card stays as it was.
        for section_id, rows in (
            ("#bought", [bought_row(b) for b in bought]),
            ("#suggested", [suggestion_row(x) for x in suggested]),
        ):
            section = self.query_one(section_id, CardSection)
            section.display = bool(bought or suggested)
            section.show_lines(rows)
        activities = []
        for x in event.card.activities:
            line = activity_line(x, event.tz, event.now)
            if x.get("contact_name"):
                line.append(f"  ({x['contact_name']})", style="dim")
            activities.append(line)
        self.query_one("#activities", CardSection).show_lines(activities)
        self.query_one("#reminders", CardSection).show_lines(
            [tickler_line(t, event.tz, event.now) for t in event.card.reminders]
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed load is said on the card."""
        if event.state is WorkerState.ERROR and event.worker.group == "account-card":
            self.query_one("#account-name", Static).update(
                Text(f"Cannot load this account: {event.worker.error}")
            )
