"""Quotes: numbered offline, versioned snapshots of a deal's lines, with a status.

Numbers: `Q-<series>-<sequence>`, e.g. Q-7KX2AB-0003. The series is six random
Crockford base-32 characters made by this database file (30 bits: two laptops among a
thousand share one with odds of about 1 in 2,000), the sequence counts up in it; both
are kept in `local_meta` with the file's identity (device and inode). A file copied
or restored from a backup has another identity, so its first quote starts a new
series instead of re-using numbers the original goes on issuing. No server round
trip. A deal's later quotes keep its number and count the version up.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from crmtui.domain.lines import LineValues, line_net, totals
from crmtui.domain.validate import InvalidInput
from crmtui.services.sales.approvals import check_can_send
from crmtui.services.sales.deals import win_deal
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Deal, DealLine, Product, Quote, QuoteLine
from crmtui.store.resolve import get_live

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FINAL = ("accepted", "declined", "expired")
NEXT_STATUS = {
    "draft": ("sent", "expired", "declined"),
    "sent": ("accepted", "declined", "expired"),
}
"""Which status may follow which (a final status stays)."""


def file_identity(tx: WriteTx) -> str:
    """This database file's identity: device and inode (a copy or a restore has another)."""
    row = tx.db.execute("PRAGMA database_list").fetchone()
    info = os.stat(row[2])
    return f"{info.st_dev}:{info.st_ino}"


def next_number(tx: WriteTx) -> str:
    """The next quote number of this database file (a new series for a copied file)."""
    identity = file_identity(tx)
    series = tx.meta("quote_series")
    if series is None or tx.meta("quote_series_file") != identity:
        series = "".join(secrets.choice(_CROCKFORD) for _ in range(6))
        _set_meta(tx, "quote_series", series)
        _set_meta(tx, "quote_series_file", identity)
        _set_meta(tx, "quote_sequence", "0")
    sequence = int(tx.meta("quote_sequence") or "0") + 1
    _set_meta(tx, "quote_sequence", str(sequence))
    return f"Q-{series}-{sequence:04d}"


def _set_meta(tx: WriteTx, key: str, value: str) -> None:
    tx.db.execute(
        "INSERT INTO local_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def effective_status(status: str, valid_until: date, today: date) -> str:
    """The status a reader sees: a draft or sent quote past its validity is expired."""
    if status in ("draft", "sent") and valid_until < today:
        return "expired"
    return status


def _address(account: Account | None) -> str | None:
    if account is None:
        return None
    parts = [account.street, " ".join(p for p in (account.postcode, account.city) if p),
             account.country]  # fmt: skip
    text = "\n".join(p for p in parts if p)
    return text or None


@dataclass(frozen=True)
class QuoteInput:
    """What a new quote needs beyond the deal's lines."""

    deal_ref: str
    valid_days: int = 30
    terms: str | None = None


def new_quote(*, tx: WriteTx, data: QuoteInput, today: date) -> Quote:
    """Snapshot the deal's live lines into a new quote (or a new version of its quote)."""
    deal = get_live(tx, Deal, data.deal_ref)
    if not 1 <= data.valid_days <= 366:
        raise InvalidInput("valid days", "must be between 1 and 366")
    lines = list(
        tx.session.exec(
            select(DealLine)
            .where(DealLine.deal_id == deal.id, col(DealLine.deleted_at).is_(None))
            .order_by(col(DealLine.position), col(DealLine.id))
        )
    )
    if not lines:
        raise InvalidInput("deal", "has no lines to quote (crm deal line add)")
    previous = tx.session.exec(
        select(Quote)
        .where(Quote.deal_id == deal.id, col(Quote.deleted_at).is_(None))
        .order_by(col(Quote.version).desc())
    ).first()
    number = previous.number if previous else next_number(tx)
    version = previous.version + 1 if previous else 1
    account = tx.session.get(Account, deal.account_id) if deal.account_id else None
    values = [
        LineValues(x.quantity_milli, x.unit_price_minor, x.discount_bp, x.tax_class,
                   x.tax_rate_bp, x.tax_rounding)
        for x in lines
    ]  # fmt: skip
    sums = totals(values)
    terms = (data.terms or "").strip()[:4000] or None
    quote = Quote(
        deal_id=deal.id, number=number, version=version, currency=deal.currency,
        valid_until=today + timedelta(days=data.valid_days), terms=terms,
        customer_name=account.name if account else None, customer_address=_address(account),
        net_minor=sums.net_minor, tax_minor=sums.tax_minor, gross_minor=sums.gross_minor,
        status_changed_at=tx.now,
    )  # fmt: skip
    tx.add(quote)
    for position, (line, value) in enumerate(zip(lines, values, strict=True)):
        product = tx.session.get(Product, line.product_id) if line.product_id else None
        tx.add(
            QuoteLine(
                quote_id=quote.id,
                position=position,
                sku=product.sku if product else None,
                description=line.description,
                unit=product.unit if product else None,
                quantity_milli=line.quantity_milli,
                unit_price_minor=line.unit_price_minor,
                discount_bp=line.discount_bp,
                tax_class=line.tax_class,
                tax_rate_bp=line.tax_rate_bp,
                tax_rounding=line.tax_rounding,
                net_minor=line_net(value),
            )
        )
    return quote


def find_quote(tx: WriteTx | Session, ref: str) -> Quote:
    """A quote by number (its latest version, or "NUMBER v2"), or by id or id prefix."""
    text = ref.strip().upper()
    number, _, version = text.partition(" V")
    query = select(Quote).where(Quote.number == number, col(Quote.deleted_at).is_(None))
    if version.isdigit():
        query = query.where(Quote.version == int(version))
    session = tx.session if isinstance(tx, WriteTx) else tx
    row = session.exec(query.order_by(col(Quote.version).desc())).first()
    return row if row is not None else get_live(tx, Quote, ref)


def set_status(*, tx: WriteTx, quote_ref: str, status: str, today: date, win: bool) -> Quote:
    """Move a quote on (draft → sent → accepted or declined; expired); accepting with
    `win` wins its deal."""
    quote = find_quote(tx, quote_ref)
    current = effective_status(quote.status, quote.valid_until, today)
    if status not in NEXT_STATUS.get(current, ()):
        allowed = ", ".join(NEXT_STATUS.get(current, ())) or "nothing (it is final)"
        raise InvalidInput(
            "status", f"the quote is {current}; it can become {allowed}, not {status}"
        )
    if status == "sent":
        # A quote goes out only with discounts a manager approved on exactly its lines.
        check_can_send(tx.db, quote.id, quote.deal_id, f"{quote.number} v{quote.version}")
    tx.update(quote, {"status": status, "status_changed_at": tx.now})
    if status == "accepted" and win:
        deal = get_live(tx, Deal, quote.deal_id)
        if deal.status == "open":
            win_deal(tx=tx, deal_id=deal.id)
    return quote


def quote_lines(tx: WriteTx | Session, quote_id: str) -> list[QuoteLine]:
    """A quote's lines in order."""
    session = tx.session if isinstance(tx, WriteTx) else tx
    return list(
        session.exec(
            select(QuoteLine)
            .where(QuoteLine.quote_id == quote_id, col(QuoteLine.deleted_at).is_(None))
            .order_by(col(QuoteLine.position))
        )
    )
