"""Cross-sell: accounts that bought one product and not another.

"Bought" means a line of a won deal of the account (removed lines and deals do not
count). Plain SQL on a sqlite3 connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

_BOUGHT = (
    "SELECT d.account_id FROM deal d JOIN deal_line l ON l.deal_id = d.id"
    " WHERE d.status = 'won' AND d.deleted_at IS NULL AND l.deleted_at IS NULL"
    " AND d.account_id IS NOT NULL AND l.product_id = ?"
)


@dataclass(frozen=True, slots=True)
class CrossSellRow:
    """An account that bought A and not B, with when it last won a deal holding A."""

    account_id: str
    account_name: str
    territory: str | None
    last_won: str | None


def bought_but_not(db: sqlite3.Connection, *, bought: str, missing: str) -> list[CrossSellRow]:
    """Accounts with a won line of product `bought` and none of product `missing` (ids)."""
    rows = db.execute(
        "SELECT a.id, a.name, t.name, (SELECT max(d.closed_at) FROM deal d JOIN deal_line l"
        "  ON l.deal_id = d.id WHERE d.account_id = a.id AND d.status = 'won'"
        "  AND d.deleted_at IS NULL AND l.deleted_at IS NULL AND l.product_id = ?)"
        " FROM account a LEFT JOIN territory t ON t.id = a.territory_id"
        f" WHERE a.deleted_at IS NULL AND a.id IN ({_BOUGHT}) AND a.id NOT IN ({_BOUGHT})"
        " ORDER BY a.name, a.id",
        (bought, bought, missing),
    ).fetchall()
    return [CrossSellRow(*r) for r in rows]


@dataclass(frozen=True, slots=True)
class BoughtRow:
    """A product an account bought: how much in all and when it last won a deal with it."""

    product_id: str
    sku: str
    name: str
    quantity_milli: int
    deals: int
    last_won: str | None


def bought_by(db: sqlite3.Connection, account_id: str) -> list[BoughtRow]:
    """The products on the live lines of an account's won deals, most recent first."""
    rows = db.execute(
        "SELECT p.id, p.sku, p.name, sum(l.quantity_milli), count(DISTINCT d.id),"
        " max(d.closed_at) FROM deal d JOIN deal_line l ON l.deal_id = d.id"
        " JOIN product p ON p.id = l.product_id"
        " WHERE d.account_id = ? AND d.status = 'won' AND d.deleted_at IS NULL"
        " AND l.deleted_at IS NULL GROUP BY p.id ORDER BY max(d.closed_at) DESC, p.sku",
        (account_id,),
    ).fetchall()
    return [BoughtRow(*r) for r in rows]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A product similar accounts bought and this one has not."""

    product_id: str
    sku: str
    name: str
    accounts: int
    """How many of the similar accounts bought it."""
    of: int
    """How many similar accounts there are."""


def _bought_sets(db: sqlite3.Connection) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for account_id, product_id in db.execute(
        "SELECT DISTINCT d.account_id, l.product_id FROM deal d JOIN deal_line l"
        " ON l.deal_id = d.id WHERE d.status = 'won' AND d.deleted_at IS NULL"
        " AND l.deleted_at IS NULL AND d.account_id IS NOT NULL AND l.product_id IS NOT NULL"
    ):
        out.setdefault(account_id, set()).add(product_id)
    return out


def similar_bought(db: sqlite3.Connection, account_id: str, *, limit: int = 5) -> list[Suggestion]:
    """Products that similar accounts bought and this account has not, most bought first.

    Similar: accounts that bought at least one product this account bought; for an
    account that bought nothing yet, the accounts of its industry that bought anything.
    Only active products are suggested. Plain counts, no weights: a person can check
    the number ("4 of 6 similar accounts bought it").
    """
    bought = _bought_sets(db)
    mine = bought.get(account_id, set())
    if mine:
        similar = [a for a, products in bought.items() if a != account_id and products & mine]
    else:
        row = db.execute("SELECT industry FROM account WHERE id = ?", (account_id,)).fetchone()
        industry = row[0] if row else None
        if not industry:
            return []
        peers = {
            r[0]
            for r in db.execute(
                "SELECT id FROM account WHERE industry = ? AND id != ? AND deleted_at IS NULL",
                (industry, account_id),
            )
        }
        similar = [a for a in bought if a in peers]
    counts: dict[str, int] = {}
    for other in similar:
        for product_id in bought[other] - mine:
            counts[product_id] = counts.get(product_id, 0) + 1
    if not counts:
        return []
    marks = ",".join("?" * len(counts))
    names = {
        r[0]: (r[1], r[2])
        for r in db.execute(
            f"SELECT id, sku, name FROM product WHERE id IN ({marks}) AND active"
            " AND deleted_at IS NULL",
            list(counts),
        )
    }
    ranked = sorted(
        (
            Suggestion(pid, *names[pid], n, len(similar))
            for pid, n in counts.items()
            if pid in names
        ),
        key=lambda s: (-s.accounts, s.sku),
    )
    return ranked[:limit]
