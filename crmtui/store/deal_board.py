"""The app's reads for the pipeline board and the deal card: totals from SQL, a window of cards.

`forecast.board` builds a `DealRow` for every deal, which is right for the shell's
`--explain` but takes seconds at 100k deals. The app needs only each column's
count, sums and stale count (aggregated in SQL) and the top few cards, so this
module asks for exactly that. Counting, weighting and staleness follow the
definitions in `crmtui.store.scope` (a test checks the totals against `board`).
Pure sqlite3, safe in worker threads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from crmtui.store.forecast import default_pipeline_id
from crmtui.store.periods import Period, format_timestamp
from crmtui.store.scope import Scope, period_filter

ORDERS = ("amount", "close")
CLOSED = ("closed_won", "closed_lost")

# Weighted per deal, rounded half up (scope.weighted), in SQL.
_WEIGHTED = "(COALESCE(d.amount_minor, 0) * COALESCE(d.probability, s.probability) + 50) / 100"
# Staleness (scope.DealRow.is_stale) as SQL: the threshold (now - the stage's limit)
# is the first parameter; NULL for a stage without a limit means never stale.
_STALE = (
    "(d.status = 'open' AND ?1 IS NOT NULL AND d.stage_changed_at < ?1"
    " AND NOT EXISTS (SELECT 1 FROM activity x WHERE x.deal_id = d.id"
    " AND x.deleted_at IS NULL AND x.occurred_at >= ?1)"
    " AND NOT EXISTS (SELECT 1 FROM tickler k WHERE k.deal_id = d.id"
    " AND +k.status = 'open' AND k.deleted_at IS NULL))"
)
_ORDER_BY = {
    "amount": " ORDER BY COALESCE(d.amount_minor, 0) DESC, d.expected_close IS NULL,"
    " d.expected_close, d.id",
    "close": " ORDER BY d.expected_close IS NULL, d.expected_close,"
    " COALESCE(d.amount_minor, 0) DESC, d.id",
}


@dataclass(frozen=True, slots=True)
class BoardDeal:
    """One card on the board."""

    id: str
    name: str
    account_name: str | None
    owner_name: str | None
    amount_minor: int
    currency: str
    expected_close: str | None
    status: str
    probability: int
    stale: bool
    stage_name: str = ""


def _deal(r: Any, *, stale: bool, stage_name: str = "") -> BoardDeal:
    return BoardDeal(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], stale, stage_name)


@dataclass
class StageWindow:
    """One column: its totals over every deal in scope, and the first cards."""

    stage_id: str
    name: str
    position: int
    probability: int
    forecast_category: str
    stale_after_days: int | None
    count: int = 0
    stale: int = 0
    amount_minor: dict[str, int] = field(default_factory=dict)
    weighted_minor: dict[str, int] = field(default_factory=dict)
    deals: list[BoardDeal] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        """Tell whether this is a won or lost column."""
        return self.forecast_category in CLOSED

    @property
    def more(self) -> int:
        """How many deals the column holds beyond the cards shown."""
        return max(0, self.count - len(self.deals))


@dataclass
class BoardWindow:
    """A pipeline's columns in stage order."""

    pipeline_id: str
    pipeline_name: str
    scope: Scope
    columns: list[StageWindow]


def _where(
    scope: Scope, stage: StageWindow, closed_in: Period | None, tz: tzinfo
) -> tuple[str, list[Any]]:
    where, params = scope.filter(territory_expr="d.territory_id", owner_expr="d.owner_id")
    if stage.closed:
        more, more_params = period_filter(closed_in, tz)
        return " AND d.status != 'open'" + where + more, params + more_params
    return " AND d.status = 'open'" + where, params


def board_window(
    db: sqlite3.Connection,
    *,
    scope: Scope,
    tz: tzinfo,
    now: datetime,
    pipeline_id: str | None = None,
    per_column: int = 20,
    order: str = "amount",
    closed_in: Period | None = None,
    pin: str | None = None,
) -> BoardWindow:
    """Each stage's count, sums per currency and stale count, with its top `per_column`
    deals by amount or by close date. Closed columns hold the deals closed in
    `closed_in` (none when None). The `pin`ned deal is always among its column's
    cards, so a deal just moved stays in sight."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    if pipeline_id is None:
        pipeline_id, name = default_pipeline_id(db)
    else:
        row = db.execute("SELECT name FROM pipeline WHERE id = ?", (pipeline_id,)).fetchone()
        if row is None:
            raise LookupError(f"no pipeline {pipeline_id!r}")
        name = row[0]
    columns = [
        StageWindow(*r)
        for r in db.execute(
            "SELECT id, name, position, probability, forecast_category, stale_after_days"
            " FROM stage WHERE pipeline_id = ? AND deleted_at IS NULL ORDER BY position",
            (pipeline_id,),
        )
    ]
    for column in columns:
        if column.closed and closed_in is None:
            continue
        threshold = (
            None
            if column.stale_after_days is None or column.closed
            else format_timestamp(now - timedelta(days=column.stale_after_days))
        )
        where, params = _where(scope, column, closed_in, tz)
        base = " FROM deal d JOIN stage s ON s.id = d.stage_id"
        filters = " WHERE d.deleted_at IS NULL AND d.stage_id = ?" + where
        for currency, count, amount, weighted, stale in db.execute(
            f"SELECT d.currency, count(*), sum(COALESCE(d.amount_minor, 0)), sum({_WEIGHTED}),"
            f" sum({_STALE}){base}{filters} GROUP BY d.currency ORDER BY d.currency",
            [threshold, column.stage_id, *params],
        ):
            column.count += count
            column.stale += stale or 0
            column.amount_minor[currency] = amount
            column.weighted_minor[currency] = weighted
        if not column.count:
            continue
        cards = (
            "SELECT d.id, d.name, a.name, r.name, COALESCE(d.amount_minor, 0), d.currency,"
            f" d.expected_close, d.status, COALESCE(d.probability, s.probability), {_STALE}"
            f"{base} LEFT JOIN account a ON a.id = d.account_id"
            f" LEFT JOIN rep r ON r.id = d.owner_id{filters}"
        )
        rows = db.execute(
            cards + _ORDER_BY[order] + " LIMIT ?", [threshold, column.stage_id, *params, per_column]
        ).fetchall()
        if pin is not None and all(r[0] != pin for r in rows):
            rows += db.execute(cards + " AND d.id = ?", [threshold, column.stage_id, *params, pin])
        column.deals = [_deal(r, stale=bool(r[9])) for r in rows]
    return BoardWindow(pipeline_id, name, scope, columns)


@dataclass(frozen=True, slots=True)
class DealWork:
    """What happened on a deal and what is open on it."""

    activities: list[dict[str, Any]]
    ticklers: list[dict[str, Any]]


def deal_work(db: sqlite3.Connection, deal_id: str, *, limit: int = 20) -> DealWork:
    """A deal's latest activities and its open ticklers (soonest first)."""
    db_rows = db.execute(
        "SELECT x.occurred_at, x.kind, x.outcome, x.text, x.duration_s, c.name FROM activity x"
        " LEFT JOIN contact c ON c.id = x.contact_id WHERE x.deal_id = ? AND x.deleted_at IS NULL"
        " ORDER BY x.occurred_at DESC LIMIT ?",
        (deal_id, limit),
    ).fetchall()
    keys = ("occurred_at", "kind", "outcome", "text", "duration_s", "contact_name")
    activities = [dict(zip(keys, r, strict=True)) for r in db_rows]
    t_rows = db.execute(
        "SELECT k.due_at, k.text, k.snoozed_until FROM tickler k WHERE k.deal_id = ?"
        " AND +k.status = 'open' AND k.deleted_at IS NULL ORDER BY k.due_at LIMIT ?",
        (deal_id, limit),
    ).fetchall()
    ticklers = [dict(zip(("due_at", "text", "snoozed_until"), r, strict=True)) for r in t_rows]
    return DealWork(activities, ticklers)


def scope_deals(
    db: sqlite3.Connection, scope: Scope, *, limit: int = 200
) -> tuple[int, list[BoardDeal]]:
    """How many open deals a scope holds, and the biggest `limit` of them (stale not judged)."""
    where, params = scope.filter(territory_expr="d.territory_id", owner_expr="d.owner_id")
    base = (
        " FROM deal d JOIN stage s ON s.id = d.stage_id LEFT JOIN account a ON a.id = d.account_id"
        " LEFT JOIN rep r ON r.id = d.owner_id WHERE d.deleted_at IS NULL AND d.status = 'open'"
        + where
    )
    count = int(db.execute("SELECT count(*)" + base, params).fetchone()[0])
    rows = db.execute(
        "SELECT d.id, d.name, a.name, r.name, COALESCE(d.amount_minor, 0), d.currency,"
        " d.expected_close, d.status, COALESCE(d.probability, s.probability), s.name"
        + base
        + _ORDER_BY["amount"]
        + " LIMIT ?",
        [*params, limit],
    ).fetchall()
    return count, [_deal(r, stale=False, stage_name=r[9]) for r in rows]
