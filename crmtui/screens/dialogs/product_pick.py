"""Add a product line to a deal: type-ahead over the catalogue, quantity and discount.

Typing in the product field lists matching active products (SKU or name, as `crm
product find` does) with their price for this deal (its currency, account and date,
the same rule `crm deal line add` uses); Up/Down choose, Enter adds the line through
the deal-lines service in one undoable write. Escape closes without writing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.prompts import SavingForm
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.store.journal import WriteTx

HITS = 8


@dataclass(frozen=True)
class DealForLines:
    """What the picker needs of the deal: who, in which currency, priced on which day."""

    id: str
    name: str
    currency: str
    account_id: str | None
    price_day: date


@dataclass(frozen=True)
class ProductHit:
    """A product the typed words match, with its price for the deal (None: no price)."""

    id: str
    sku: str
    name: str
    unit: str
    price_minor: int | None
    why: str


@dataclass(frozen=True)
class LineAdded:
    """What was added, for the card's notification."""

    summary: str


def find_products(db: sqlite3.Connection, words: str, deal: DealForLines) -> list[ProductHit]:
    """Active products whose SKU or name holds every typed word, SKU matches first."""
    from crmtui.domain.text import fold
    from crmtui.services.sales.price_lookup import price_for

    terms = [fold(w) for w in words.split() if w.strip()]
    rows = db.execute(
        "SELECT id, sku, name, unit FROM product WHERE deleted_at IS NULL AND active"
        " ORDER BY sku, id"
    ).fetchall()
    hits: list[tuple[int, ProductHit]] = []
    for product_id, sku, name, unit in rows:
        hay = f"{fold(sku)} {fold(name)}"
        if not all(t in hay for t in terms):
            continue
        found = price_for(
            db, product_id=product_id, currency=deal.currency, day=deal.price_day,
            quantity_milli=1_000, account_id=deal.account_id,
        )  # fmt: skip
        price = found.unit_price_minor if found is not None else None
        why = found.price_list.name if found is not None else f"no {deal.currency} price"
        rank = 0 if terms and fold(sku).startswith(terms[0]) else 1
        hits.append((rank, ProductHit(product_id, sku, name, unit, price, why)))
        if len(hits) >= 200:
            break
    hits.sort(key=lambda pair: pair[0])
    return [hit for _, hit in hits[:HITS]]


def hit_text(hit: ProductHit, currency: str) -> Text:
    """One product row: SKU, name, and its price for the deal (or why there is none)."""
    from crmtui.domain.money import format_money

    price = (
        Text(f"{format_money(hit.price_minor, currency)} / {hit.unit}", style="green")
        if hit.price_minor is not None
        else Text(hit.why, style="dim")
    )
    return Text.assemble((f"{hit.sku:<10} ", "bold"), hit.name, "  ", price)


class ProductPickScreen(UsesDaily, SavingForm[LineAdded | None]):
    """Find a product as you type, give quantity and discount; Enter adds the line."""

    STATUS_ID = "product-status"
    WHAT = "Adding the line"
    DEFAULT_CSS = """
    ProductPickScreen {
        align: center middle;
        background: $background 60%;
    }
    ProductPickScreen > #form {
        width: 84;
        max-width: 100%;
        max-height: 100%;
        height: auto;
        padding: 1 2;
        border: round $border;
        background: $surface;
    }
    ProductPickScreen #form-title {
        text-style: bold;
        margin: 0 0 1 0;
    }
    ProductPickScreen .row {
        height: auto;
        margin: 0 0 1 0;
    }
    ProductPickScreen .row > Label {
        width: 12;
        padding: 0 1 0 0;
        color: $text-muted;
    }
    ProductPickScreen .row > Input {
        width: 1fr;
    }
    ProductPickScreen #products {
        height: auto;
        max-height: 8;
        margin: 0 0 1 12;
        border: none;
        padding: 0;
    }
    ProductPickScreen #product-status {
        color: $text-muted;
    }
    ProductPickScreen #product-status.-error {
        color: $text-error;
    }
    """
    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="product_pick.cancel", tooltip="Close, add nothing"
        ),
        Binding("enter", "save", "Add", id="product_pick.save", tooltip="Add the chosen product"),
        Binding("down", "hit(1)", "Next", show=False, priority=True, id="product_pick.down"),
        Binding("up", "hit(-1)", "Previous", show=False, priority=True, id="product_pick.up"),
    ]

    class Added(Message):
        """The line was written."""

        def __init__(self, result: LineAdded) -> None:
            super().__init__()
            self.result = result

    def __init__(self, db: sqlite3.Connection, deal: DealForLines) -> None:
        super().__init__()
        self._db = db
        self.deal = deal
        self.hits: list[ProductHit] = []
        self.saving = False

    def compose(self) -> ComposeResult:
        """Product search, its matches, quantity, discount, the keys."""
        with Vertical(id="form"):
            yield Label(Text(f"Add a product to {self.deal.name}", no_wrap=True,
                             overflow="ellipsis"), id="form-title")  # fmt: skip
            with Horizontal(classes="row"):
                yield Label("Product")
                yield FieldInput(placeholder="SKU or name…", id="product", compact=True)
            yield OptionList(id="products")
            with Horizontal(classes="row"):
                yield Label("Quantity")
                yield FieldInput(value="1", id="quantity", compact=True)
            with Horizontal(classes="row"):
                yield Label("Discount %")
                yield FieldInput(value="0", id="discount", compact=True)
            yield Static(
                "Type to find · ↑/↓ choose · Enter adds · Tab moves · Esc cancels",
                id="product-status",
            )

    def on_mount(self) -> None:
        """The product field has the focus, every product listed."""
        # Up/Down choose from the product field; Tab goes on to the quantity.
        self.query_one("#products", OptionList).can_focus = False
        self._find("")
        self.query_one("#product", Input).focus()

    @on(Input.Changed, "#product")
    def _typed(self, event: Input.Changed) -> None:
        self._find(event.value)

    def _find(self, words: str) -> None:
        # The catalogue is small (reference data): read on the spot, so every key
        # typed shows its matches before the next one.
        self.hits = find_products(self._db, words, self.deal)
        hits = self.query_one("#products", OptionList)
        hits.clear_options()
        # The box is 84 cells at most; its border and padding and the list's margin take 18.
        width = min(84, self.app.size.width) - 19
        for hit in self.hits:
            row = hit_text(hit, self.deal.currency)
            row.truncate(max(width, 20), overflow="ellipsis")
            hits.add_option(Option(row, id=hit.id))
        hits.display = bool(self.hits)
        if self.hits:
            hits.highlighted = 0
        elif words.strip():
            self._status(f"No active product matches {words.strip()!r}", error=True)
            return
        self._status("Type to find · ↑/↓ choose · Enter adds · Tab moves · Esc cancels")

    def action_hit(self, step: int) -> None:
        """Move the highlight among the matches."""
        hits = self.query_one("#products", OptionList)
        if not self.hits:
            return
        current = hits.highlighted if hits.highlighted is not None else -1
        hits.highlighted = max(0, min(len(self.hits) - 1, current + step))

    @on(OptionList.OptionSelected, "#products")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_save()

    def chosen(self) -> ProductHit | None:
        """The highlighted product."""
        index = self.query_one("#products", OptionList).highlighted
        return self.hits[index] if index is not None and 0 <= index < len(self.hits) else None

    def save_values(self) -> None:
        """Check what was typed, then add the line in a worker."""
        from crmtui.domain.lines import parse_percent_bp
        from crmtui.domain.pricing import BadQuantity, parse_quantity

        hit = self.chosen()
        if hit is None:
            self.saving = False
            self._status("Choose a product first (type part of its SKU or name)", error=True)
            return
        try:
            quantity = parse_quantity(self.query_one("#quantity", Input).value or "1")
            discount = parse_percent_bp(self.query_one("#discount", Input).value or "0")
        except (BadQuantity, ValueError) as exc:
            self.saving = False
            self._status(str(exc), error=True)
            return
        self._add(hit, quantity, discount)

    @work(thread=True, exit_on_error=False, group="product-pick-save")
    def _add(self, hit: ProductHit, quantity_milli: int, discount_bp: int) -> None:
        from crmtui.domain.lines import format_percent
        from crmtui.domain.pricing import format_quantity
        from crmtui.domain.validate import InvalidInput
        from crmtui.services.sales.deal_lines import LineInput, add_line

        today = self.daily.now().date()

        def action(tx: WriteTx) -> str:
            data = LineInput(self.deal.id, hit.id, quantity_milli, discount_bp=discount_bp)
            line, _source = add_line(tx=tx, data=data, today=today)
            return line.description

        label = f"Add {format_quantity(quantity_milli)} × {hit.sku} to {self.deal.name}"
        try:
            self.daily.write_undoable(label, action)
        except InvalidInput as exc:
            self.app.call_from_thread(self._refused, f"{exc.field}: {exc.message}")
            return
        off = f", {format_percent(discount_bp)} off" if discount_bp else ""
        self.post_message(self.Added(LineAdded(f"{label}{off}")))

    def _refused(self, problem: str) -> None:
        self.saving = False
        self._status(problem, error=True)

    @on(Added)
    def _added(self, event: Added) -> None:
        self.dismiss(event.result)
