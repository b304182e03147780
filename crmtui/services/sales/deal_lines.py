"""A deal's lines: add, remove, and the deal's amount derived from them.

Each line is a synced record of its own. The deal's amount is *derived*: the sum of
its live lines' nets (`crmtui.domain.lines`), written without a journal op on every
replica (here after each change of lines, and by the sync applier after a pull
touched a deal or its lines). So two laptops that edit lines offline never write
competing amounts (the amount is a high-stakes field and would become a conflict):
they exchange lines, and each derives the same sum from the same lines. A typed
amount on a deal with lines is an override (`deal.amount_override`), journaled like
any edit, and shown as such.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from crmtui.domain.lines import BP, LineValues, line_net
from crmtui.domain.validate import InvalidInput, require_text
from crmtui.services.sales.catalogue import find_product, tax_class
from crmtui.services.sales.price_lookup import price_for
from crmtui.store.journal import WriteTx
from crmtui.store.models import Deal, DealLine
from crmtui.store.resolve import get_live


def derived_amounts(db: sqlite3.Connection, deal_ids: Iterable[str]) -> dict[str, int]:
    """Per deal that has line rows (live or not) and no override, the sum of its live lines."""
    ids = sorted(set(deal_ids))
    out: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for deal_id, qty, price, discount, dead in db.execute(
            "SELECT l.deal_id, l.quantity_milli, l.unit_price_minor, l.discount_bp,"
            " l.deleted_at IS NOT NULL FROM deal_line l JOIN deal d ON d.id = l.deal_id"
            f" WHERE NOT d.amount_override AND l.deal_id IN ({marks})",
            chunk,
        ):
            out.setdefault(deal_id, 0)
            if not dead:
                out[deal_id] += line_net(LineValues(qty, price, discount))
    return out


def write_derived_amounts(db: sqlite3.Connection, deal_ids: Iterable[str]) -> int:
    """Set each deal's amount to its lines' sum (no journal op: every replica derives it)."""
    amounts = derived_amounts(db, deal_ids)
    db.executemany(
        "UPDATE deal SET amount_minor = ? WHERE id = ? AND amount_minor IS NOT ?",
        [(v, k, v) for k, v in amounts.items()],
    )
    return len(amounts)


def _rederive(tx: WriteTx, deal: Deal) -> None:
    tx.flush()
    write_derived_amounts(tx.db, [deal.id])
    tx.session.expire(deal)


@dataclass(frozen=True)
class LineInput:
    """A line as the user gives it; the price comes from the price list when not typed."""

    deal_ref: str
    product_ref: str | None
    quantity_milli: int
    description: str | None = None
    unit_price_minor: int | None = None
    discount_bp: int = 0
    tax_class: str | None = None


def price_day(deal: Deal, today: date) -> date:
    """The day a deal's lines are priced on: its expected close, else today."""
    return deal.expected_close or today


def add_line(*, tx: WriteTx, data: LineInput, today: date) -> tuple[DealLine, str]:
    """Add a line to an open deal; returns it and where its price came from."""
    deal = get_live(tx, Deal, data.deal_ref)
    if deal.status != "open":
        raise InvalidInput("deal", f"this deal is {deal.status}; its lines are final")
    if data.quantity_milli <= 0:
        raise InvalidInput("quantity", "must be more than 0")
    if not 0 <= data.discount_bp <= BP:
        raise InvalidInput("discount", "must be between 0% and 100%")
    product = find_product(tx, data.product_ref) if data.product_ref else None
    if product is not None and not product.active:
        raise InvalidInput("product", f"{product.sku} is not offered any more (inactive)")
    description = require_text(
        data.description or (product.name if product else None), "description", max_len=200
    )
    price_list_id = None
    if data.unit_price_minor is not None:
        unit_price, source = data.unit_price_minor, "typed"
    elif product is not None:
        day = price_day(deal, today)
        found = price_for(
            tx.db, product_id=product.id, currency=deal.currency, day=day,
            quantity_milli=data.quantity_milli, account_id=deal.account_id,
        )  # fmt: skip
        if found is None:
            raise InvalidInput(
                "price", f"no {deal.currency} price for {product.sku} on {day}: type one (--price)"
            )
        unit_price, price_list_id, source = (
            found.unit_price_minor,
            found.price_list.id,
            found.reason,
        )
    else:
        raise InvalidInput("price", "a line without a product needs a price (--price)")
    code = data.tax_class or (product.tax_class if product else None)
    rate_bp, rounding = 0, "line"
    if code is not None:
        tax = tax_class(tx, code)
        if tax is None:
            raise InvalidInput(
                "tax class", f"no tax class {code!r} (crm tax-class set {code} RATE)"
            )
        rate_bp, rounding = tax.rate_bp, tax.rounding
    position = len(lines_of(tx, deal.id))
    line = DealLine(
        deal_id=deal.id, product_id=product.id if product else None, price_list_id=price_list_id,
        description=description, quantity_milli=data.quantity_milli, unit_price_minor=unit_price,
        discount_bp=data.discount_bp, tax_class=code, tax_rate_bp=rate_bp, tax_rounding=rounding,
        position=position,
    )  # fmt: skip
    tx.add(line)
    _rederive(tx, deal)
    return line, source


def lines_of(tx: WriteTx, deal_id: str) -> list[DealLine]:
    """A deal's live lines in order."""
    return list(
        tx.session.exec(
            select(DealLine)
            .where(DealLine.deal_id == deal_id, col(DealLine.deleted_at).is_(None))
            .order_by(col(DealLine.position), col(DealLine.id))
        )
    )


def remove_line(*, tx: WriteTx, line_ref: str) -> DealLine:
    """Remove a line (tombstoned, synced); the deal's amount follows."""
    line = get_live(tx, DealLine, line_ref)
    deal = get_live(tx, Deal, line.deal_id)
    if deal.status != "open":
        raise InvalidInput("deal", f"this deal is {deal.status}; its lines are final")
    tx.delete(line)
    _rederive(tx, deal)
    return line


def use_lines_sum(*, tx: WriteTx, deal_ref: str) -> Deal:
    """Drop a typed amount's override: the deal's amount is its lines' sum again."""
    deal = get_live(tx, Deal, deal_ref)
    if not deal_has_lines(tx, deal.id):
        raise InvalidInput("deal", "has no lines: its amount is the one typed")
    tx.update(deal, {"amount_override": False})
    _rederive(tx, deal)
    return deal


def deal_has_lines(tx: WriteTx, deal_id: str) -> bool:
    """Whether a deal has any line rows (live or removed): then its amount is derived."""
    return (
        tx.session.exec(select(DealLine.id).where(DealLine.deal_id == deal_id).limit(1)).first()
        is not None
    )
