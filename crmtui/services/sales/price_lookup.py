"""Reading what the price rule needs (`crmtui.domain.pricing`) from the database.

Plain SQL on a sqlite3 connection, so a write (`WriteTx.db`) and a read-only
command use the same lookup.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from crmtui.domain.pricing import ListInfo, PriceBreak, Resolved, resolve_price


def territory_chain(db: sqlite3.Connection, account_id: str | None) -> list[str]:
    """The account's territory and every territory above it, nearest first."""
    if account_id is None:
        return []
    row = db.execute("SELECT territory_id FROM account WHERE id = ?", (account_id,)).fetchone()
    chain: list[str] = []
    current = row[0] if row else None
    while current is not None and current not in chain:  # a cycle never loops forever
        chain.append(current)
        parent = db.execute("SELECT parent_id FROM territory WHERE id = ?", (current,)).fetchone()
        current = parent[0] if parent else None
    return chain


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def price_for(
    db: sqlite3.Connection,
    *,
    product_id: str,
    currency: str,
    day: date,
    quantity_milli: int,
    account_id: str | None,
) -> Resolved | None:
    """The product's price for the account on the day at the quantity, by the rule."""
    prices = [
        PriceBreak(r[0], r[1], r[2])
        for r in db.execute(
            "SELECT price_list_id, min_quantity_milli, unit_price_minor FROM price"
            " WHERE product_id = ? AND deleted_at IS NULL",
            (product_id,),
        )
    ]
    if not prices:
        return None
    ids = sorted({p.price_list_id for p in prices})
    marks = ",".join("?" * len(ids))
    lists = [
        ListInfo(r[0], r[1], r[2], _day(r[3]), _day(r[4]), r[5], r[6])
        for r in db.execute(
            "SELECT id, name, currency, valid_from, valid_to, account_id, territory_id"
            f" FROM price_list WHERE deleted_at IS NULL AND id IN ({marks})",
            ids,
        )
    ]
    return resolve_price(
        lists=lists,
        prices=prices,
        currency=currency,
        day=day,
        quantity_milli=quantity_milli,
        account_id=account_id,
        territories=territory_chain(db, account_id),
    )
