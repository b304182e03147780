"""Territory summaries for managers: per territory and per rep, offline, pure sqlite3.

For a scope (a territory's subtree, optionally one rep): open pipeline per currency
(count, amount, weighted — the same `deal_rows` as the forecast, so the numbers
agree with `crm forecast --explain`), deals won and lost in the period with the win
rate (won / (won + lost), by count), activities by kind per ISO week of the period,
overdue open ticklers, stale deals, coverage gaps: live accounts with no
activity in the last `GAP_DAYS` days, and the follow-up plans' per-step results.

Which rows a scope covers: deals by their territory and owner; activities by the
territory of their account (else their contact) and by the rep who logged them;
ticklers by the territory of their deal, account or contact and by their owner;
accounts by their territory and owner.

How: every kind of row is read once per report, counted and summed in SQL per
(territory, owner) — `ReportCells` — and each block adds up the cells inside its
scope in Python. A report has a few dozen blocks but only hundreds of cells, so
this costs one pass over the deals, activities, ticklers and accounts instead of
one pass per block. The counting follows `scope`'s definitions (weighted, stale);
a test checks every block against a row-by-row computation from `deal_rows`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from crmtui.domain.periods import Period, format_timestamp
from crmtui.reports.deal_board import stale_sql, stale_threshold
from crmtui.reports.forecast import stale_deals
from crmtui.reports.money_sums import AMOUNT_SUM_SQL, WEIGHTED_SUM_SQL, amount_sum, weighted_sum
from crmtui.reports.scope import SUBTREE, DealRow, Scope, now_text, period_filter

if TYPE_CHECKING:
    from crmtui.reports.plan_stats import StepStats

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
    plans: list[StepStats] = field(default_factory=list)
    """The follow-up plans' per-step results in the scope (`reports.plan_stats`)."""

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
            "plans": [p.as_dict() for p in self.plans],
        }


ActivityCells = list[tuple[str | None, str | None, str, int, int]]
# (territory, owner, currency, count, amount, weighted, stale)
OpenCells = list[tuple[str | None, str | None, str, int, int, int, int]]
# (territory, owner, currency, status, count, amount)
ClosedCells = list[tuple[str | None, str | None, str, str, int, int]]
# (territory, owner, count)
CountCells = list[tuple[str | None, str | None, int]]


@dataclass
class ReportCells:
    """A report's rows counted per (territory, owner): each block adds up its own cells."""

    open_deals: OpenCells
    closed_deals: ClosedCells
    activities: ActivityCells  # (territory, rep, kind, week, count)
    overdue_ticklers: CountCells
    coverage_gaps: CountCells


def _open_deal_cells(db: sqlite3.Connection, now: datetime) -> OpenCells:
    """Open deals per (territory, owner, currency): count, amount, weighted and stale, in one pass.

    Each stage's staleness threshold comes in as a small VALUES table, so every
    deal is judged against its own stage's limit (as `DealRow.is_stale`). The deal
    table is read in order (NOT INDEXED): given the GROUP BY, the planner would
    otherwise walk ix_deal_territory_id and fetch every row at random (1.6× slower)."""
    stages = [
        (sid, stale_threshold(now, days))
        for sid, days in db.execute("SELECT id, stale_after_days FROM stage")
    ]
    if not stages:
        return []
    values = ", ".join("(?, ?)" for _ in stages)
    sql = (
        f"WITH th(stage_id, t) AS (VALUES {values})"
        " SELECT d.territory_id, d.owner_id, d.currency, count(*),"
        f" sum({stale_sql('th.t')}), {AMOUNT_SUM_SQL}, {WEIGHTED_SUM_SQL}"
        " FROM deal d NOT INDEXED JOIN stage s ON s.id = d.stage_id"
        " LEFT JOIN th ON th.stage_id = d.stage_id"
        " WHERE d.deleted_at IS NULL AND d.status = 'open' GROUP BY 1, 2, 3"
    )
    # The sums cannot overflow (money_sums): amounts written by hand may near 2^63.
    return [
        (t, o, c, n, amount_sum(*sums[:2]), weighted_sum(*sums[2:]), n_stale)
        for t, o, c, n, n_stale, *sums in db.execute(sql, [v for pair in stages for v in pair])
    ]


def _closed_deal_cells(db: sqlite3.Connection, period: Period, tz: tzinfo) -> ClosedCells:
    """Deals won or lost in the period per (territory, owner, currency, status)."""
    where, params = period_filter(period, tz)
    sql = (
        f"SELECT d.territory_id, d.owner_id, d.currency, d.status, count(*), {AMOUNT_SUM_SQL}"
        " FROM deal d NOT INDEXED JOIN stage s ON s.id = d.stage_id"
        " WHERE d.deleted_at IS NULL AND d.status != 'open'" + where + " GROUP BY 1, 2, 3, 4"
    )
    return [
        (t, o, c, st, n, amount_sum(hi, lo)) for t, o, c, st, n, hi, lo in db.execute(sql, params)
    ]


def _activity_cells(
    db: sqlite3.Connection, period: Period, tz: tzinfo, weeks: list[date]
) -> ActivityCells:
    """Activities in the period counted per (territory, rep, kind, week): one pass for all blocks.

    Week boundaries are local midnights turned into UTC text, so the buckets are
    exact across DST changes and SQLite does the counting. The contact is looked
    up only for an activity whose account has no territory (or that has no account).
    """
    start_ts, end_ts = period.utc_bounds(tz)
    edges = [
        format_timestamp(datetime.combine(w, time(0), tzinfo=tz).astimezone(UTC)) for w in weeks[1:]
    ]
    case = "CASE " + " ".join(f"WHEN x.occurred_at < ? THEN {i}" for i in range(len(edges)))
    case += f" ELSE {len(weeks) - 1} END" if edges else ""
    week_expr = case if edges else "0"
    sql = (
        "SELECT COALESCE(acc.territory_id,"
        " (SELECT c.territory_id FROM contact c WHERE c.id = x.contact_id)),"
        f" x.rep_id, x.kind, {week_expr} AS w, count(*) FROM activity x"
        " LEFT JOIN account acc ON acc.id = x.account_id"
        " WHERE x.deleted_at IS NULL AND x.occurred_at >= ? AND x.occurred_at < ?"
        " GROUP BY 1, 2, 3, 4"
    )
    return list(db.execute(sql, [*edges, start_ts, end_ts]))


def _overdue_ticklers(db: sqlite3.Connection, now: datetime) -> CountCells:
    """Open ticklers past due per (territory of their deal, account or contact; owner)."""
    # Scalar subqueries rather than joins: COALESCE stops at the first territory
    # found, so the account and the contact are looked up only when needed.
    sql = (
        "SELECT COALESCE((SELECT d.territory_id FROM deal d WHERE d.id = k.deal_id),"
        " (SELECT acc.territory_id FROM account acc WHERE acc.id = k.account_id),"
        " (SELECT c.territory_id FROM contact c WHERE c.id = k.contact_id)), k.owner_id, count(*)"
        " FROM tickler k"
        " WHERE k.deleted_at IS NULL AND k.status = 'open' AND k.due_at < ? GROUP BY 1, 2"
    )
    return list(db.execute(sql, [now_text(now)]))


# Live accounts without an activity since the first parameter (one probe of
# ix_activity_account_live each).
_GAPS = (
    " WHERE acc.deleted_at IS NULL AND acc.archived_at IS NULL AND NOT EXISTS"
    " (SELECT 1 FROM activity x WHERE x.account_id = acc.id AND x.deleted_at IS NULL"
    " AND x.occurred_at >= ?)"
)


def _gap_cells(db: sqlite3.Connection, now: datetime) -> CountCells:
    """Accounts untouched for `GAP_DAYS` days per (territory, owner)."""
    since = now_text(now - timedelta(days=GAP_DAYS))
    # ix_account_territory_owner holds every column used, in the GROUP BY's order:
    # no account row is read and nothing is sorted.
    sql = (
        "SELECT acc.territory_id, acc.owner_id, count(*) FROM account acc"
        + _GAPS
        + " GROUP BY 1, 2"
    )
    return list(db.execute(sql, [since]))


def report_cells(
    db: sqlite3.Connection, *, period: Period, tz: tzinfo, now: datetime, weeks: list[date]
) -> ReportCells:
    """Every figure of a report, counted per (territory, owner) in one pass per kind of row."""
    return ReportCells(
        open_deals=_open_deal_cells(db, now),
        closed_deals=_closed_deal_cells(db, period, tz),
        activities=_activity_cells(db, period, tz, weeks),
        overdue_ticklers=_overdue_ticklers(db, now),
        coverage_gaps=_gap_cells(db, now),
    )


def coverage_gaps(
    db: sqlite3.Connection, scope: Scope, *, now: datetime, limit: int
) -> list[CoverageGap]:
    """The first `limit` live accounts in scope with no activity in `GAP_DAYS` days,
    never-touched ones first, then the longest untouched."""
    where, params = scope.filter(territory_expr="acc.territory_id", owner_expr="acc.owner_id")
    since = now_text(now - timedelta(days=GAP_DAYS))
    sql = (
        "SELECT acc.id, acc.name, t.name, r.name, (SELECT max(x.occurred_at) FROM activity x"
        " WHERE x.account_id = acc.id AND x.deleted_at IS NULL) AS last"
        " FROM account acc LEFT JOIN territory t ON t.id = acc.territory_id"
        " LEFT JOIN rep r ON r.id = acc.owner_id"
        + _GAPS
        + where
        + " ORDER BY last IS NOT NULL, last, acc.name LIMIT ?"
    )
    return [CoverageGap(*r) for r in db.execute(sql, [since, *params, limit])]


def _subtree(db: sqlite3.Connection, territory_id: str | None) -> set[str] | None:
    if territory_id is None:
        return None
    return {row[0] for row in db.execute(SUBTREE, (territory_id,))}


def summary_block(
    scope: Scope, *, kind: str, territories: set[str] | None, cells: ReportCells, weeks: list[date]
) -> SummaryBlock:
    """One scope's figures, added up from the report's cells.

    `territories` is the scope's subtree (None: every territory, and none); the
    owner, when the scope has one, must match exactly, as in `Scope.filter`."""
    owner_id = scope.owner_id

    def inside(territory: str | None, owner: str | None) -> bool:
        if territories is not None and territory not in territories:
            return False
        return owner_id is None or owner == owner_id

    totals: dict[str, list[int]] = {}
    open_count = stale = 0
    for territory, owner, currency, n, amount, weighted, n_stale in cells.open_deals:
        if inside(territory, owner):
            t = totals.setdefault(currency, [0, 0, 0])
            t[0] += n
            t[1] += amount
            t[2] += weighted
            open_count += n
            stale += n_stale
    won_count = lost_count = 0
    won_minor: dict[str, int] = {}
    lost_minor: dict[str, int] = {}
    for territory, owner, currency, status, n, amount in cells.closed_deals:
        if inside(territory, owner):
            won_count += n if status == "won" else 0
            lost_count += n if status == "lost" else 0
            bucket = won_minor if status == "won" else lost_minor
            bucket[currency] = bucket.get(currency, 0) + amount
    counts = {kind: [0] * len(weeks) for kind in ACTIVITY_KINDS}
    for territory, rep, what, week, n in cells.activities:
        if inside(territory, rep):
            counts.setdefault(what, [0] * len(weeks))[week] += n
    return SummaryBlock(
        kind=kind,
        id=scope.owner_id if kind == "rep" else scope.territory_id,
        label=scope.label,
        pipeline=[PipelineTotal(c, *v) for c, v in sorted(totals.items())],
        open_count=open_count,
        won_count=won_count,
        lost_count=lost_count,
        won_minor=dict(sorted(won_minor.items())),
        lost_minor=dict(sorted(lost_minor.items())),
        activities=counts,
        overdue_ticklers=sum(n for t, o, n in cells.overdue_ticklers if inside(t, o)),
        stale_deals=stale,
        coverage_gaps=sum(n for t, o, n in cells.coverage_gaps if inside(t, o)),
    )


def territory_summary(
    db: sqlite3.Connection,
    *,
    territory_id: str | None,
    period: Period,
    tz: tzinfo,
    now: datetime,
    gap_limit: int = 50,
    stale_list: bool = True,
) -> SummaryReport:
    """The summary of a territory (None: everything): its own block, one block per
    direct sub-territory (each with its subtree) and one per rep assigned inside it.

    `stale_list=False` leaves `report.stale` empty (the count is in every block):
    listing the stale deals reads every open deal of the scope row by row."""
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
    cells = report_cells(db, period=period, tz=tz, now=now, weeks=weeks)
    subtree = _subtree(db, territory_id)
    total = summary_block(scope, kind="scope", territories=subtree, cells=cells, weeks=weeks)
    report = SummaryReport(
        scope,
        period,
        weeks,
        total,
        stale=stale_deals(db, scope=scope, tz=tz, now=now) if stale_list else [],
        gaps=coverage_gaps(db, scope, now=now, limit=gap_limit) if gap_limit else [],
        plans=_plan_stats(db, territory_id),
    )
    for tid, name in children:
        report.territories.append(
            summary_block(
                Scope(tid, None, name),
                kind="territory",
                territories=_subtree(db, tid),
                cells=cells,
                weeks=weeks,
            )
        )
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
        report.reps.append(
            summary_block(rep_scope, kind="rep", territories=subtree, cells=cells, weeks=weeks)
        )
    return report


def _plan_stats(db: sqlite3.Connection, territory_id: str | None) -> list[StepStats]:
    """The plans' per-step results (`reports.plan_stats`), imported when first asked for."""
    # plan_stats rebuilds enrolment state through the plan service, which loads the ORM
    # models (SQLAlchemy); the summary's other readers are plain sqlite3, and `crm
    # territory summary` and F4 should not pay that import before they show numbers,
    # nor at all on a database where nobody was ever put on a plan.
    if db.execute("SELECT 1 FROM plan_enrolment LIMIT 1").fetchone() is None:
        return []
    from crmtui.reports.plan_stats import plan_stats

    return plan_stats(db, territory_id=territory_id)
