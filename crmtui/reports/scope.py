"""The shared read side of pipeline reports: scopes, and deal rows with their arithmetic.

`forecast`, `board` and `territory_summary` all read deals through `deal_rows`,
so a deal is counted, weighted and judged stale the same way everywhere, and the
summary's pipeline equals `crm forecast --explain` for the same scope by
construction. Pure sqlite3 (no SQLModel), so the app can call it from a worker
thread on its own read-only connection.

Definitions:

- **Scope**: a territory means its whole subtree (recursive CTE: managers see
  their subtree); an owner means deals owned by that rep; both may be given.
- **Weighted** = amount × probability / 100, with the deal's probability override
  when set, else its stage's, rounded per deal half up to a whole minor unit
  (`(amount * p + 50) // 100`); totals add the rounded per-deal values, so the
  lines of `--explain` add up to the total exactly.
- **Stale**: an open deal whose stage has a `stale_after_days` limit, with no open
  tickler on the deal and no activity on the deal within that many days of now,
  counted from the later of its last activity and `stage_changed_at`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from crmtui.domain.periods import Period, format_timestamp, parse_timestamp

MIN_PREFIX = 6
# The same values as `models.FORECAST_CATEGORIES` (a test checks), repeated here so
# the read side does not import SQLModel.
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed_won", "closed_lost", "omitted")


class ScopeError(LookupError):
    """A territory or rep named in a scope does not exist (or is ambiguous)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which deals, activities and accounts a report covers; None means everyone."""

    territory_id: str | None = None
    owner_id: str | None = None
    label: str = "all"

    def filter(self, *, territory_expr: str, owner_expr: str) -> tuple[str, list[Any]]:
        """SQL (starting with AND) restricting rows to this scope, and its parameters."""
        sql, params = "", []
        if self.territory_id is not None:
            sql += f" AND {territory_expr} IN ({SUBTREE})"
            params.append(self.territory_id)
        if self.owner_id is not None:
            sql += f" AND {owner_expr} = ?"
            params.append(self.owner_id)
        return sql, params


SUBTREE = (
    "WITH RECURSIVE subtree(id) AS (VALUES(?) UNION SELECT t.id FROM territory t"
    " JOIN subtree s ON t.parent_id = s.id WHERE t.deleted_at IS NULL) SELECT id FROM subtree"
)


def resolve_territory(db: sqlite3.Connection, ref: str) -> tuple[str, str]:
    """A territory's (id, name) by name (case-insensitive), id, or id prefix."""
    wanted = ref.strip().lower()
    rows = db.execute(
        "SELECT id, name FROM territory WHERE deleted_at IS NULL AND (lower(name) = ? OR id = ?)",
        (wanted, wanted),
    ).fetchall()
    if not rows and len(wanted) >= MIN_PREFIX:
        rows = db.execute(
            "SELECT id, name FROM territory WHERE deleted_at IS NULL AND id LIKE ? LIMIT 2",
            (wanted + "%",),
        ).fetchall()
    if len(rows) != 1:
        raise ScopeError(
            f"several territories match {ref!r}; give the id" if rows else f"no territory {ref!r}"
        )
    return rows[0][0], rows[0][1]


def resolve_rep(db: sqlite3.Connection, ref: str) -> tuple[str, str]:
    """A rep's (id, name) by name or email (case-insensitive), id, or id prefix."""
    wanted = ref.strip().lower()
    rows = db.execute(
        "SELECT id, name FROM rep WHERE deleted_at IS NULL"
        " AND (lower(name) = ? OR lower(email) = ? OR id = ?)",
        (wanted, wanted, wanted),
    ).fetchall()
    if not rows and len(wanted) >= MIN_PREFIX:
        rows = db.execute(
            "SELECT id, name FROM rep WHERE deleted_at IS NULL AND id LIKE ? LIMIT 2",
            (wanted + "%",),
        ).fetchall()
    if len(rows) != 1:
        raise ScopeError(f"several reps match {ref!r}; give the id" if rows else f"no rep {ref!r}")
    return rows[0][0], rows[0][1]


def make_scope(db: sqlite3.Connection, *, territory: str | None, owner: str | None) -> Scope:
    """A scope from a territory and a rep as a user names them."""
    parts, tid, oid = [], None, None
    if territory:
        tid, name = resolve_territory(db, territory)
        parts.append(f"territory {name}")
    if owner:
        oid, name = resolve_rep(db, owner)
        parts.append(f"owner {name}")
    return Scope(tid, oid, ", ".join(parts) or "all")


def weighted(amount_minor: int, probability: int) -> int:
    """amount × probability / 100, rounded half up to a whole minor unit."""
    return (amount_minor * probability + 50) // 100


@dataclass(frozen=True, slots=True)
class DealRow:
    """One deal as the reports see it, with its stage and the numbers derived from it."""

    id: str
    name: str
    status: str
    amount_minor: int
    currency: str
    probability: int
    probability_source: str  # "deal" (an override) or "stage"
    weighted_minor: int
    forecast_category: str
    stage_id: str
    stage_name: str
    stage_position: int
    pipeline_id: str
    expected_close: str | None
    closed_at: str | None
    stage_changed_at: str
    owner_id: str | None
    owner_name: str | None
    territory_id: str | None
    territory_name: str | None
    account_id: str | None
    account_name: str | None
    stale_after_days: int | None
    last_activity_at: str | None = None
    has_open_tickler: bool = False

    def last_touch(self) -> datetime:
        """The later of the last activity on the deal and its last stage change."""
        touch = parse_timestamp(self.stage_changed_at)
        if self.last_activity_at:
            touch = max(touch, parse_timestamp(self.last_activity_at))
        return touch

    def is_stale(self, now: datetime) -> bool:
        """Tell whether the deal is stale at `now` (see the module's definition)."""
        if self.status != "open" or self.stale_after_days is None or self.has_open_tickler:
            return False
        return now - self.last_touch() > timedelta(days=self.stale_after_days)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON and CSV."""
        return asdict(self)


_DEAL_SELECT = """
SELECT d.id, d.name, d.status, COALESCE(d.amount_minor, 0), d.currency,
       COALESCE(d.probability, s.probability), CASE WHEN d.probability IS NULL
       THEN 'stage' ELSE 'deal' END, s.forecast_category, s.id, s.name, s.position,
       d.pipeline_id, d.expected_close, d.closed_at, d.stage_changed_at, d.owner_id, r.name,
       d.territory_id, t.name, d.account_id, a.name, s.stale_after_days{extra}
FROM deal d
JOIN stage s ON s.id = d.stage_id
LEFT JOIN rep r ON r.id = d.owner_id
LEFT JOIN territory t ON t.id = d.territory_id
LEFT JOIN account a ON a.id = d.account_id
WHERE d.deleted_at IS NULL"""
# The unary plus keeps SQLite off ix_tickler_status_due here: without statistics it
# picked that index and scanned every open tickler once per deal (minutes at 100k
# deals); the deal_id index finds the deal's few ticklers directly.
_ACTIVITY_COLUMNS = (
    ", (SELECT max(x.occurred_at) FROM activity x WHERE x.deal_id = d.id"
    " AND x.deleted_at IS NULL), EXISTS (SELECT 1 FROM tickler k WHERE k.deal_id = d.id"
    " AND +k.status = 'open' AND k.deleted_at IS NULL)"
)


def period_filter(period: Period | None, tz: tzinfo) -> tuple[str, list[Any]]:
    """SQL keeping open deals expected to close in the period and deals closed in it."""
    if period is None:
        return "", []
    start_ts, end_ts = period.utc_bounds(tz)
    return (
        " AND ((d.status = 'open' AND d.expected_close >= ? AND d.expected_close < ?)"
        " OR (d.status != 'open' AND d.closed_at >= ? AND d.closed_at < ?))",
        [period.start.isoformat(), period.end.isoformat(), start_ts, end_ts],
    )


def deal_rows(
    db: sqlite3.Connection,
    scope: Scope,
    *,
    period: Period | None = None,
    tz: tzinfo,
    status: str | None = None,
    stage_id: str | None = None,
    pipeline_id: str | None = None,
    with_activity: bool = False,
) -> list[DealRow]:
    """The deals in a scope (and period), ordered by stage, then expected close, then name."""
    where, params = scope.filter(territory_expr="d.territory_id", owner_expr="d.owner_id")
    more, more_params = period_filter(period, tz)
    where += more
    params += more_params
    for column, value in (("d.status", status), ("d.stage_id", stage_id)):
        if value is not None:
            where += f" AND {column} = ?"
            params.append(value)
    if pipeline_id is not None:
        where += " AND d.pipeline_id = ?"
        params.append(pipeline_id)
    sql = _DEAL_SELECT.format(extra=_ACTIVITY_COLUMNS if with_activity else "") + where
    sql += " ORDER BY s.position, d.expected_close IS NULL, d.expected_close, d.name, d.id"
    rows = []
    for r in db.execute(sql, params):
        amount, probability = r[3], r[5]
        extra = (
            {"last_activity_at": r[22], "has_open_tickler": bool(r[23])} if with_activity else {}
        )
        rows.append(
            DealRow(
                id=r[0],
                name=r[1],
                status=r[2],
                amount_minor=amount,
                currency=r[4],
                probability=probability,
                probability_source=r[6],
                weighted_minor=weighted(amount, probability),
                forecast_category=r[7],
                stage_id=r[8],
                stage_name=r[9],
                stage_position=r[10],
                pipeline_id=r[11],
                expected_close=r[12],
                closed_at=r[13],
                stage_changed_at=r[14],
                owner_id=r[15],
                owner_name=r[16],
                territory_id=r[17],
                territory_name=r[18],
                account_id=r[19],
                account_name=r[20],
                stale_after_days=r[21],
                **extra,
            )
        )
    return rows


def now_text(now: datetime) -> str:
    """A moment as stored-timestamp text, for comparisons in SQL."""
    return format_timestamp(now)


def local_today(now: datetime, tz: tzinfo) -> date:
    """The user's calendar date at `now`."""
    return now.astimezone(tz).date()
