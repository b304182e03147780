"""Territory summaries for managers: per territory and per rep, offline, pure sqlite3.

For a scope (a territory's subtree, optionally one rep): open pipeline per currency
(count, amount, weighted — the same `deal_rows` as the forecast, so the numbers
agree with `crm forecast --explain`), deals won and lost in the period with the win
rate (won / (won + lost), by count), activities by kind per ISO week of the period,
overdue open ticklers, stale deals, and coverage gaps: live accounts with no
activity in the last `GAP_DAYS` days.

Which rows a scope covers: deals by their territory and owner; activities by the
territory of their account (else their contact) and by the rep who logged them;
ticklers by the territory of their deal, account or contact and by their owner;
accounts by their territory and owner.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from crmtui.store.periods import Period, format_timestamp
from crmtui.store.scope import SUBTREE, DealRow, Scope, deal_rows, now_text

GAP_DAYS = 90
ACTIVITY_KINDS = ("call", "email", "meeting", "visit", "note")


@dataclass(frozen=True, slots=True)
class PipelineTotal:
    """Open deals in one currency: how many, their amount and weighted amount."""

    currency: str
    count: int
    amount_minor: int
    weighted_minor: int


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """An account nobody has touched in `GAP_DAYS` days."""

    account_id: str
    name: str
    territory_name: str | None
    owner_name: str | None
    last_activity_at: str | None


@dataclass
class SummaryBlock:
    """The figures of one scope: a territory (with its subtree) or a rep in it."""

    kind: str  # "scope", "territory" or "rep"
    id: str | None
    label: str
    pipeline: list[PipelineTotal]
    open_count: int
    won_count: int
    lost_count: int
    won_minor: dict[str, int]
    lost_minor: dict[str, int]
    activities: dict[str, list[int]]  # kind -> count per week (SummaryReport.weeks)
    overdue_ticklers: int
    stale_deals: int
    coverage_gaps: int

    @property
    def win_rate(self) -> float | None:
        """Won / (won + lost) by count in the period; None when nothing closed."""
        closed = self.won_count + self.lost_count
        return None if closed == 0 else self.won_count / closed

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        out = asdict(self)
        out["win_rate"] = self.win_rate
        return out


@dataclass
class SummaryReport:
    """A territory summary: the scope's block, one per sub-territory and per rep."""

    scope: Scope
    period: Period
    weeks: list[date]
    total: SummaryBlock
    territories: list[SummaryBlock] = field(default_factory=list)
    reps: list[SummaryBlock] = field(default_factory=list)
    stale: list[DealRow] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "scope": self.scope.label,
            "period": {
                "label": self.period.label,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
            },
            "weeks": [w.isoformat() for w in self.weeks],
            "total": self.total.as_dict(),
            "territories": [b.as_dict() for b in self.territories],
            "reps": [b.as_dict() for b in self.reps],
            "stale": [d.as_dict() for d in self.stale],
            "gaps": [asdict(g) for g in self.gaps],
        }


ActivityCells = list[tuple[str | None, str | None, str, int, int]]


def _activity_cells(
    db: sqlite3.Connection, period: Period, tz: tzinfo, weeks: list[date]
) -> ActivityCells:
    """Activities in the period counted per (territory, rep, kind, week): one pass for all blocks.

    Week boundaries are local midnights turned into UTC text, so the buckets are
    exact across DST changes and SQLite does the counting.
    """
    start_ts, end_ts = period.utc_bounds(tz)
    edges = [
        format_timestamp(datetime.combine(w, time(0), tzinfo=tz).astimezone(UTC)) for w in weeks[1:]
    ]
    case = "CASE " + " ".join(f"WHEN x.occurred_at < ? THEN {i}" for i in range(len(edges)))
    case += f" ELSE {len(weeks) - 1} END" if edges else ""
    week_expr = case if edges else "0"
    sql = (
        f"SELECT COALESCE(acc.territory_id, c.territory_id), x.rep_id, x.kind, {week_expr} AS w,"
        " count(*) FROM activity x"
        " LEFT JOIN account acc ON acc.id = x.account_id"
        " LEFT JOIN contact c ON c.id = x.contact_id"
        " WHERE x.deleted_at IS NULL AND x.occurred_at >= ? AND x.occurred_at < ?"
        " GROUP BY 1, 2, 3, 4"
    )
    return list(db.execute(sql, [*edges, start_ts, end_ts]))


def _subtree(db: sqlite3.Connection, territory_id: str | None) -> set[str] | None:
    if territory_id is None:
        return None
    return {row[0] for row in db.execute(SUBTREE, (territory_id,))}


def _activity_counts(
    cells: ActivityCells, territories: set[str] | None, owner_id: str | None, weeks: list[date]
) -> dict[str, list[int]]:
    """One block's activities by kind and week, rolled up from the shared cells."""
    counts = {kind: [0] * len(weeks) for kind in ACTIVITY_KINDS}
    for territory, rep, kind, week, n in cells:
        if territories is not None and territory not in territories:
            continue
        if owner_id is not None and rep != owner_id:
            continue
        counts.setdefault(kind, [0] * len(weeks))[week] += n
    return counts


def _overdue_ticklers(db: sqlite3.Connection, scope: Scope, now: datetime) -> int:
    where, params = scope.filter(
        territory_expr="COALESCE(d.territory_id, acc.territory_id, c.territory_id)",
        owner_expr="k.owner_id",
    )
    sql = (
        "SELECT count(*) FROM tickler k LEFT JOIN deal d ON d.id = k.deal_id"
        " LEFT JOIN account acc ON acc.id = k.account_id"
        " LEFT JOIN contact c ON c.id = k.contact_id"
        " WHERE k.deleted_at IS NULL AND k.status = 'open' AND k.due_at < ?" + where
    )
    return int(db.execute(sql, [now_text(now), *params]).fetchone()[0])


def coverage_gaps(
    db: sqlite3.Connection, scope: Scope, *, now: datetime, limit: int | None = None
) -> tuple[int, list[CoverageGap]]:
    """How many live accounts in scope had no activity in `GAP_DAYS` days, and the first few."""
    where, params = scope.filter(territory_expr="acc.territory_id", owner_expr="acc.owner_id")
    since = now_text(now - timedelta(days=GAP_DAYS))
    base = (
        " FROM account acc LEFT JOIN territory t ON t.id = acc.territory_id"
        " LEFT JOIN rep r ON r.id = acc.owner_id"
        " WHERE acc.deleted_at IS NULL AND acc.archived_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM activity x WHERE x.account_id = acc.id AND x.deleted_at IS NULL"
        " AND x.occurred_at >= ?)" + where
    )
    count = int(db.execute("SELECT count(*)" + base, [since, *params]).fetchone()[0])
    gaps: list[CoverageGap] = []
    if limit:
        sql = (
            "SELECT acc.id, acc.name, t.name, r.name, (SELECT max(x.occurred_at) FROM activity x"
            " WHERE x.account_id = acc.id AND x.deleted_at IS NULL) AS last"
            + base
            + " ORDER BY last IS NOT NULL, last, acc.name LIMIT ?"
        )
        gaps = [CoverageGap(*r) for r in db.execute(sql, [since, *params, limit])]
    return count, gaps


def summary_block(
    db: sqlite3.Connection,
    scope: Scope,
    *,
    kind: str,
    period: Period,
    tz: tzinfo,
    now: datetime,
    weeks: list[date],
    cells: ActivityCells,
) -> tuple[SummaryBlock, list[DealRow]]:
    """One scope's figures, and its stale deals."""
    open_rows = deal_rows(db, scope, tz=tz, status="open", with_activity=True)
    totals: dict[str, list[int]] = {}
    for row in open_rows:
        t = totals.setdefault(row.currency, [0, 0, 0])
        t[0] += 1
        t[1] += row.amount_minor
        t[2] += row.weighted_minor
    closed = [r for r in deal_rows(db, scope, period=period, tz=tz) if r.status != "open"]
    won_minor: dict[str, int] = {}
    lost_minor: dict[str, int] = {}
    for row in closed:
        bucket = won_minor if row.status == "won" else lost_minor
        bucket[row.currency] = bucket.get(row.currency, 0) + row.amount_minor
    stale = sorted((r for r in open_rows if r.is_stale(now)), key=lambda r: r.last_touch())
    gap_count, _ = coverage_gaps(db, scope, now=now)
    block = SummaryBlock(
        kind=kind,
        id=scope.owner_id if kind == "rep" else scope.territory_id,
        label=scope.label,
        pipeline=[PipelineTotal(c, *v) for c, v in sorted(totals.items())],
        open_count=len(open_rows),
        won_count=sum(1 for r in closed if r.status == "won"),
        lost_count=sum(1 for r in closed if r.status == "lost"),
        won_minor=dict(sorted(won_minor.items())),
        lost_minor=dict(sorted(lost_minor.items())),
        activities=_activity_counts(cells, _subtree(db, scope.territory_id), scope.owner_id, weeks),
        overdue_ticklers=_overdue_ticklers(db, scope, now),
        stale_deals=len(stale),
        coverage_gaps=gap_count,
    )
    return block, stale


def territory_summary(
    db: sqlite3.Connection,
    *,
    territory_id: str | None,
    period: Period,
    tz: tzinfo,
    now: datetime,
    gap_limit: int = 50,
) -> SummaryReport:
    """The summary of a territory (None: everything): its own block, one block per
    direct sub-territory (each with its subtree) and one per rep assigned inside it."""
    if territory_id is not None:
        row = db.execute("SELECT name FROM territory WHERE id = ?", (territory_id,)).fetchone()
        if row is None:
            raise LookupError(f"no territory {territory_id!r}")
        scope = Scope(territory_id, None, f"territory {row[0]}")
        children_sql = "SELECT id, name FROM territory WHERE parent_id = ? AND deleted_at IS NULL"
        children = db.execute(children_sql + " ORDER BY name", (territory_id,)).fetchall()
    else:
        scope = Scope(None, None, "all")
        children = db.execute(
            "SELECT id, name FROM territory WHERE parent_id IS NULL AND deleted_at IS NULL"
            " ORDER BY name"
        ).fetchall()
    weeks = period.weeks()
    cells = _activity_cells(db, period, tz, weeks)
    args = {"period": period, "tz": tz, "now": now, "weeks": weeks, "cells": cells}
    total, stale = summary_block(db, scope, kind="scope", **args)  # type: ignore[arg-type]
    _, gaps = coverage_gaps(db, scope, now=now, limit=gap_limit)
    report = SummaryReport(scope, period, weeks, total, stale=stale, gaps=gaps)
    for tid, name in children:
        block, _ = summary_block(db, Scope(tid, None, name), kind="territory", **args)  # type: ignore[arg-type]
        report.territories.append(block)
    rep_sql = (
        "SELECT DISTINCT r.id, r.name FROM rep r JOIN territory_assignment ta ON ta.rep_id = r.id"
        " WHERE r.deleted_at IS NULL AND ta.deleted_at IS NULL"
    )
    rep_params: list[Any] = []
    if territory_id is not None:
        rep_sql += f" AND ta.territory_id IN ({SUBTREE})"
        rep_params.append(territory_id)
    for rid, name in db.execute(rep_sql + " ORDER BY r.name", rep_params).fetchall():
        rep_scope = Scope(territory_id, rid, name)
        block, _ = summary_block(db, rep_scope, kind="rep", **args)  # type: ignore[arg-type]
        report.reps.append(block)
    return report
