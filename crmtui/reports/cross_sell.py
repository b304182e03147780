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
