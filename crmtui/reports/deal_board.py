"""The app's reads for the pipeline board and the deal card: totals from SQL, a window of cards.

`forecast.board` builds a `DealRow` for every deal, which is right for the shell's
`--explain` but takes seconds at 100k deals. The app needs only each column's
count, sums and stale count (aggregated in SQL) and the top few cards, so this
module asks for exactly that. Counting, weighting and staleness follow the
definitions in `crmtui.reports.scope` (a test checks the totals against `board`).
Pure sqlite3, safe in worker threads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from crmtui.domain.periods import Period, format_timestamp
from crmtui.reports.forecast import default_pipeline_id
from crmtui.reports.money_sums import AMOUNT_SUM_SQL, WEIGHTED_SUM_SQL, amount_sum, weighted_sum
from crmtui.reports.scope import Scope, period_filter

ORDERS = ("amount", "close")
CLOSED = ("closed_won", "closed_lost")


def stale_sql(threshold: str) -> str:
    """Staleness (`scope.DealRow.is_stale`) of deal `d` as SQL, given an expression for
    its stage's threshold (now - the stage's limit, as timestamp text; NULL: never stale)."""
    # Nested CASEs, so the two lookups run only for deals past the threshold (SQLite
    # does not promise to cut an AND short outside a WHERE or WHEN).
    return (
        f"(CASE WHEN d.status = 'open' AND d.stage_changed_at < {threshold} THEN"
        " CASE WHEN EXISTS (SELECT 1 FROM activity x WHERE x.deal_id = d.id"
        f" AND x.deleted_at IS NULL AND x.occurred_at >= {threshold}) THEN 0"
        " WHEN EXISTS (SELECT 1 FROM tickler k WHERE k.deal_id = d.id"
        " AND +k.status = 'open' AND k.deleted_at IS NULL) THEN 0 ELSE 1 END"
        " ELSE 0 END)"
    )


def stale_threshold(now: datetime, stale_after_days: int | None) -> str | None:
    """The stage's staleness threshold as timestamp text; None when it has no limit."""
    if stale_after_days is None:
        return None
    return format_timestamp(now - timedelta(days=stale_after_days))


# The threshold is the first parameter of the column's queries.
_STALE = stale_sql("?1")
# A card's columns; the staleness threshold is the first parameter.
_CARDS = (
    "SELECT d.id, d.name, a.name, r.name, COALESCE(d.amount_minor, 0), d.currency,"
    f" d.expected_close, d.status, COALESCE(d.probability, s.probability), {_STALE}"
    " FROM deal d JOIN stage s ON s.id = d.stage_id LEFT JOIN account a ON a.id = d.account_id"
    " LEFT JOIN rep r ON r.id = d.owner_id"
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
    stale: bool = True,
) -> BoardWindow:
    """Each stage's count, sums per currency and stale count, with its top `per_column`
    deals by amount or by close date. Closed columns hold the deals closed in
    `closed_in` (none when None). The `pin`ned deal is always among its column's
    cards, so a deal just moved stays in sight. `stale=False` leaves the stale counts
    at 0 and skips their two lookups per deal (for charts that do not show them)."""
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
        threshold = None if column.closed else stale_threshold(now, column.stale_after_days)
        where, params = _where(scope, column, closed_in, tz)
        base = " FROM deal d JOIN stage s ON s.id = d.stage_id"
        filters = " WHERE d.deleted_at IS NULL AND d.stage_id = ?" + where
        # The threshold is ?1 of the stale sum; without it, the parameters start after.
        stale_sum, first = (f"sum({_STALE})", [threshold]) if stale else ("0", [])
        # Sums that cannot overflow (money_sums): amounts written by hand may near 2^63.
        for currency, count, n_stale, *sums in db.execute(
            f"SELECT d.currency, count(*), {stale_sum}, {AMOUNT_SUM_SQL}, {WEIGHTED_SUM_SQL}"
            f"{base}{filters} GROUP BY d.currency ORDER BY d.currency",
            [*first, column.stage_id, *params],
        ):
            column.count += count
            column.stale += n_stale or 0
            column.amount_minor[currency] = amount_sum(*sums[:2])
            column.weighted_minor[currency] = weighted_sum(*sums[2:])
        if not column.count or (not per_column and pin is None):
            continue
        # The top cards are picked from the deal rows alone (ix_deal_board covers the
        # filter and the sort), and only they are joined to their account and owner.
        top = f"SELECT d.rowid FROM deal d{filters}{_ORDER_BY[order]} LIMIT ?"
        rows = db.execute(
            f"{_CARDS} WHERE d.rowid IN ({top}){_ORDER_BY[order]}",
            [threshold, column.stage_id, *params, per_column],
        ).fetchall()
        if pin is not None and all(r[0] != pin for r in rows):
            rows += db.execute(
                f"{_CARDS}{filters} AND d.id = ?", [threshold, column.stage_id, *params, pin]
            )
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
