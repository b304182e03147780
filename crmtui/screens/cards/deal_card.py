"""The deal card: its fields, the stage history with time in each stage, activities, reminders.

`e` edits the deal (name, amount, close date, probability, stage); a won or lost
deal is reopened from here (`o`), through the same service as `crm deal reopen`:
back in the open stage it left. Both are undoable (ctrl+z). `g` and `c` open its
account and contact; reminders and activities have the shared card keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from rich.console import RenderableType
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

from crmtui.domain.date_style import stored_day
from crmtui.domain.money import format_money
from crmtui.reports.deal_board import DealWork, deal_work
from crmtui.reports.deal_history import DealCard, deal_card
from crmtui.screens.cards.card_keys import CardKeys, Subject, shared_bindings
from crmtui.screens.cards.contact_card import activity_line, format_when, tickler_line
from crmtui.screens.daily_context import DailyApp
from crmtui.widgets.card_section import CardSection
from crmtui.widgets.footer import SteadyFooter

if TYPE_CHECKING:
    from crmtui.screens.dialogs.quick_log import Chosen


def deal_fields(card: DealCard, tz: tzinfo | None) -> Table:
    """The label/value grid of a deal's own fields."""
    d = card.deal
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    amount = "no amount" if d.amount_minor is None else format_money(d.amount_minor, d.currency)
    status = d.status + (f" — {d.lost_reason}" if d.lost_reason else "")
    if d.closed_at:
        status += f" on {format_when(d.closed_at, tz)}"
    rows = [
        ("Status", status),
        ("Stage", d.stage_name),
        ("Amount", amount),
        (
            "Probability",
            f"{d.probability}% ({'this deal' if d.probability_source == 'deal' else 'stage default'})",
        ),
        ("Expected close", stored_day(d.expected_close) or None),
        ("Owner", d.owner_name),
        ("Territory", d.territory_name),
        ("Account", d.account_name),
        ("Contact", d.contact_name),
    ]
    for label, value in rows:
        grid.add_row(label, Text(value or "—"))
    return grid


def history_table(card: DealCard, tz: tzinfo | None, now: datetime | None = None) -> Table | None:
    """Every stage change: when, from, to, who, and the days spent in the stage entered."""
    if not card.history:
        return None
    table = Table(box=None, padding=(0, 2, 0, 0), show_edge=False)
    for name, justify in (
        ("When", "left"),
        ("From", "left"),
        ("To", "left"),
        ("By", "left"),
        ("Days", "right"),
    ):
        table.add_column(name, justify=justify, style="dim" if name == "When" else "")  # type: ignore[arg-type]
    for visit in card.history:
        table.add_row(
            format_when(visit.changed_at, tz, now),
            visit.from_stage or "(opened)",
            visit.to_stage,
            visit.changed_by or "—",
            f"{visit.days_in_stage:.1f}",
        )
    return table


@dataclass(frozen=True)
class DealLines:
    """A deal's live lines as the card shows them, and where its discounts stand."""

    rows: list[tuple[str, str, int, int, int, int]]
    """(sku, description, quantity in thousandths, unit price, discount bp, net)."""
    override: bool
    approval: str
    """One line from `approvals.explain`, or "" when no approval is needed."""


def deal_lines(db: sqlite3.Connection, deal_id: str) -> DealLines:
    """Read a deal's lines and its approval state (thread-safe: plain SQL)."""
    from crmtui.domain.approval import NOT_NEEDED
    from crmtui.domain.lines import LineValues, line_net
    from crmtui.services.sales.approvals import deal_state, explain

    rows = [
        (sku or "", text, qty, price, disc, line_net(LineValues(qty, price, disc)))
        for sku, text, qty, price, disc in db.execute(
            "SELECT p.sku, l.description, l.quantity_milli, l.unit_price_minor, l.discount_bp"
            " FROM deal_line l LEFT JOIN product p ON p.id = l.product_id"
            " WHERE l.deal_id = ? AND l.deleted_at IS NULL ORDER BY l.position, l.id",
            (deal_id,),
        )
    ]
    override = db.execute("SELECT amount_override FROM deal WHERE id = ?", (deal_id,)).fetchone()
    state = deal_state(db, deal_id)
    return DealLines(
        rows, bool(override and override[0]), "" if state.state == NOT_NEEDED else explain(state)
    )


def lines_view(lines: DealLines, currency: str, width: int) -> RenderableType | None:
    """The lines as a table (the product cut to fit, amounts whole), then the approval."""
    from rich.console import Group

    from crmtui.domain.lines import format_percent
    from crmtui.domain.pricing import format_quantity

    if not lines.rows:
        return None
    cells = [
        (
            format_quantity(qty),
            Text.assemble((f"{sku} " if sku else "", "bold"), text),
            format_money(price, currency),
            format_percent(disc) if disc else "",
            format_money(net, currency),
        )
        for sku, text, qty, price, disc, net in lines.rows
    ]
    # The numbers are never cut: each column is as wide as its widest cell; the
    # product (SKU and description) takes the `width` left and ends in an ellipsis.
    heads = ("Qty", "Product", "Price", "Disc.", "Net")
    widths = [max(len(heads[i]), *(len(str(row[i])) for row in cells)) for i in range(5)]
    room = width - sum(widths) + widths[1] - 2 * 5
    widths[1] = max(12, min(room, max(len(row[1]) for row in cells)))
    table = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, collapse_padding=True)
    for index, name in enumerate(heads):
        table.add_column(
            name, justify="left" if index == 1 else "right", no_wrap=True, width=widths[index]
        )
    for qty_text, product, price_text, disc_text, net_text in cells:
        product.truncate(widths[1], overflow="ellipsis")
        table.add_row(qty_text, product, price_text, Text(disc_text, style="yellow"), net_text)
    parts: list[RenderableType] = [table]
    if lines.override:
        parts.append(Text("The amount is typed over the lines' sum (override)", style="dim"))
    if lines.approval:
        needs = lines.approval.startswith(("needs", "refused"))
        parts.append(Text(f"Discount {lines.approval}", style="bold red" if needs else "green"))
    return Group(*parts)


DEAL_SHARED = ("add_reminder", "edit_reminder", "edit_activity", "go_account")


class DealCardScreen(CardKeys, Screen[None]):
    """One deal, loaded in a worker; Escape goes back to where it was opened."""

    TITLE = "Deal"
    SHARED_ACTIONS = DEAL_SHARED
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="deal_card.back", tooltip="Back"),
        Binding(
            "e",
            "edit",
            "Edit",
            id="deal_card.edit",
            tooltip="Edit name, amount, close date, probability, stage",
        ),
        Binding(
            "c",
            "go_contact",
            "Contact",
            id="deal_card.go_contact",
            show=False,
            tooltip="Open the deal's contact",
        ),
        *shared_bindings("deal_card", DEAL_SHARED),
        Binding(
            "p",
            "add_product",
            "Product",
            id="deal_card.add_product",
            tooltip="Add a product line (type-ahead over the catalogue, quantity, discount)",
        ),
        Binding("r", "reload", "Reload", id="deal_card.reload", tooltip="Read the deal again"),
        Binding(
            "o",
            "reopen",
            "Reopen",
            id="deal_card.reopen",
            tooltip="Reopen this won or lost deal, in the open stage it left",
        ),
    ]
    DEFAULT_CSS = """
    DealCardScreen #deal {
        padding: 1 2;
    }
    DealCardScreen #deal-name {
        text-style: bold;
        color: $text-primary;
    }
    """

    class CardLoaded(Message):
        """The deal came back from the database (None: it is gone)."""

        def __init__(
            self,
            card: DealCard | None,
            work: DealWork | None,
            *,
            now: datetime,
            tz: tzinfo | None,
            problem: str = "",
            links: tuple[str | None, str | None] = (None, None),
            read: int = 0,
            lines: DealLines | None = None,
        ) -> None:
            super().__init__()
            self.lines = lines
            self.read = read
            self.links = links
            self.card = card
            self.work = work
            self.now = now
            self.tz = tz
            self.problem = problem

    class DealReopened(Message):
        """The deal is open again, in `stage`."""

        def __init__(self, name: str, stage: str) -> None:
            super().__init__()
            self.name = name
            self.stage = stage

    def __init__(
        self,
        db: sqlite3.Connection,
        deal_id: str,
        *,
        now: Callable[[], datetime],
        tz: Callable[[], tzinfo] | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self.deal_id = deal_id
        self._now = now
        self._tz = tz
        self.card: DealCard | None = None
        self.links: tuple[str | None, str | None] = (None, None)
        """The deal's (account id, contact id)."""
        self._reads = 0
        self._lines: tuple[DealLines | None, str] = (None, "EUR")
        """The lines last read and the deal's currency (drawn again on a resize)."""
        """The number of the latest read started: only its result is shown."""

    def compose(self) -> ComposeResult:
        """Name on top, then fields, history, activities and reminders."""
        yield Header()
        with VerticalScroll(id="deal"):
            yield Static("Loading deal…", id="deal-name")
            yield CardSection("Details", id="details")
            yield CardSection("Lines", id="lines")
            yield CardSection("Stage history", id="history")
            yield CardSection("Activities", id="activities")
            yield CardSection("Open reminders", id="ticklers")
        yield SteadyFooter()

    def on_screen_resume(self) -> None:
        """Shown (first time, or back from elsewhere): read the deal again."""
        self.load_card()

    def action_reload(self) -> None:
        """Read the deal again."""
        self.load_card()

    def reload(self) -> None:
        """Read the deal again (after a form or an undo)."""
        self.load_card()

    def card_subject(self) -> Subject | None:
        """This deal, with its account and contact."""
        if self.card is None:
            return None
        d = self.card.deal
        return Subject("deal", d.id, d.name, self.links[0], self.links[1], d.currency)

    def action_edit(self) -> None:
        """The deal's edit form."""
        from crmtui.screens.cards.card_forms import edit_deal_form

        if self.card is not None:
            self.open_form(edit_deal_form(self.card.deal, now=self._card_now()))

    def action_go_contact(self) -> None:
        """Open the deal's contact."""
        from crmtui.screens.cards.contact_card import ContactCardScreen

        if self.links[1]:
            self.app.push_screen(ContactCardScreen(self._db, self.links[1]))

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """The deal's actions possible now, for the palette."""
        name = self.card.deal.name if self.card else "deal"
        out: list[tuple[str, str, Any]] = []
        for action, title, help in (
            ("edit", f"Edit {name}", "Name, amount, close date, probability, stage (e)"),
            ("reopen", f"Reopen {name}", "Back in the open stage it left (o)"),
            ("add_product", f"Add a product to {name}", "Type-ahead over the catalogue (p)"),
            ("go_contact", "Open the deal's contact", "Its contact's card (c)"),
        ):
            if self.check_action(action, ()):
                out.append((title, help, getattr(self, f"action_{action}")))
        return out + self.shared_palette()

    def load_card(self) -> None:
        """Read the card again; only the latest read is shown."""
        # As on the contact card: a read started earlier (on resume, as a form's write
        # starts) can finish later under load and would show the deal as it was.
        self._reads += 1
        self._read_card(self._reads)

    @work(thread=True, exclusive=True, exit_on_error=False, group="deal-card")
    def _read_card(self, read: int) -> None:
        """Read the card off the UI thread."""
        from crmtui.reports.deal_history import DealNotFound

        now = self._now()
        tz = self._tz() if self._tz else now.tzinfo
        try:
            card = deal_card(self._db, self.deal_id, now=now)
        except DealNotFound as exc:
            self.post_message(
                self.CardLoaded(None, None, now=now, tz=tz, problem=str(exc), read=read)
            )
            return
        work = deal_work(self._db, card.deal.id)
        links = self._db.execute(
            "SELECT account_id, contact_id FROM deal WHERE id = ?", (card.deal.id,)
        ).fetchone()
        lines = deal_lines(self._db, card.deal.id)
        self.post_message(
            self.CardLoaded(card, work, now=now, tz=tz, links=tuple(links), read=read, lines=lines)
        )

    def selected_contact(self) -> Chosen | None:
        """The deal's contact: `l` logs against it (and the deal)."""
        from crmtui.screens.dialogs.quick_log import Chosen

        deal = self.card.deal if self.card is not None else None
        if deal is None or deal.contact_id is None:
            return None
        return Chosen(deal.contact_id, deal.contact_name or "", deal.account_name or "")

    def selected_deal(self) -> Chosen | None:
        """The deal on screen: `l` logs the activity on it."""
        from crmtui.screens.dialogs.quick_log import Chosen

        if self.card is None:
            return None
        return Chosen(self.card.deal.id, self.card.deal.name, self.card.deal.stage_name)

    def action_add_product(self) -> None:
        """The product picker: type-ahead over the catalogue, quantity, discount."""
        from crmtui.screens.dialogs.product_pick import DealForLines, ProductPickScreen

        if self.card is None or self.card.deal.status != "open":
            return
        d = self.card.deal
        close = d.expected_close
        day = date.fromisoformat(str(close)[:10]) if close else self._card_now().date()
        deal = DealForLines(d.id, d.name, d.currency, self.links[0], day)

        def done(result: Any) -> None:
            if result is not None:
                self.notify(f"{result.summary} · ctrl+z undoes", title="Line added")
                self.load_card()

        self.app.push_screen(ProductPickScreen(self._db, deal), done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Reopen only a deal that is won or lost; the rest once the deal is loaded."""
        if action == "add_product":
            return self.card is not None and self.card.deal.status == "open"
        if action == "reopen":
            return self.card is not None and self.card.deal.status != "open"
        if action == "go_account":
            return self.card is not None and self.links[0] is not None
        if action == "go_contact":
            return self.card is not None and self.links[1] is not None
        if action in ("edit", *DEAL_SHARED):
            return self.card is not None
        return True

    def action_reopen(self) -> None:
        """Reopen the won or lost deal on screen."""
        if self.card is not None and self.card.deal.status != "open":
            self.reopen(self.card.deal.id)

    @work(thread=True, exit_on_error=False, group="deal-card-write")
    def reopen(self, deal_id: str) -> None:
        """Reopen the deal through the services, in one transaction."""
        daily = cast(DailyApp, self.app).daily
        rep_name = daily.settings().rep_name

        def action(tx: object) -> tuple[str, str]:
            from crmtui.services.sales.deals import reopen_deal
            from crmtui.services.territories import me_rep_id
            from crmtui.store.journal import WriteTx
            from crmtui.store.models import Stage

            assert isinstance(tx, WriteTx)
            deal = reopen_deal(tx=tx, deal_id=deal_id, by=me_rep_id(tx, rep_name))
            stage = tx.session.get(Stage, deal.stage_id)
            return deal.name, stage.name if stage is not None else ""

        label = f"Reopen {self.card.deal.name}" if self.card else "Reopen deal"
        name, stage = daily.write_undoable(label, action)
        self.post_message(self.DealReopened(name, stage))

    @on(DealReopened)
    def _reopened(self, event: DealReopened) -> None:
        self.notify(
            f"{event.name} is open again, in {event.stage} · ctrl+z undoes", title="Reopened"
        )
        self.load_card()

    @on(CardLoaded)
    def _show(self, event: CardLoaded) -> None:
        if event.read != self._reads:
            return  # a newer read is on its way
        self.card = event.card
        self.links = event.links
        self.refresh_bindings()
        name = self.query_one("#deal-name", Static)
        if event.card is None or event.work is None:
            name.update(Text(f"This deal no longer exists ({event.problem})."))
            return
        d = event.card.deal
        self.title = d.name
        title = Text(d.name)
        if d.status != "open":
            title.append(f"  {d.status.upper()}", style="bold")
        name.update(title)
        tz = event.tz
        self.query_one("#details", CardSection).show(deal_fields(event.card, tz))
        self._lines = (event.lines, d.currency)
        self._show_lines()
        self.query_one("#history", CardSection).show(history_table(event.card, tz, event.now))
        activities = []
        for a in event.work.activities:
            line = activity_line(a, tz, event.now)
            if a.get("contact_name"):
                line.append(f"  ({a['contact_name']})", style="dim")
            activities.append(line)
        self.query_one("#activities", CardSection).show_lines(activities)
        self.query_one("#ticklers", CardSection).show_lines(
            [tickler_line(t, tz, event.now) for t in event.work.ticklers]
        )

    def _show_lines(self) -> None:
        lines, currency = self._lines
        self.query_one("#lines", CardSection).show(
            # The section's padding and the scrollbar take 8 cells of the screen.
            lines_view(lines, currency, max(40, self.size.width - 8)) if lines else None
        )

    def on_resize(self) -> None:
        """The lines table is cut to the screen's width: draw it again at the new one."""
        if self._lines[0] is not None:
            self._show_lines()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Report a failed load on the card itself, a failed reopen as a notification."""
        if event.state is WorkerState.ERROR and event.worker.group == "deal-card-write":
            self.notify(str(event.worker.error), title="Not reopened", severity="error")
        elif event.state is WorkerState.ERROR:
            self.query_one("#deal-name", Static).update(
                Text(f"Cannot load this deal: {event.worker.error}")
            )
