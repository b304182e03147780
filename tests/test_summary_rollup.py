"""The territory summary's one-pass roll-up agrees with a row-by-row computation, block by block.

The reference reads every deal of a block through `deal_rows` (as the forecast
does) and every activity, tickler and account row by row in Python; the summary
counts them once per report in SQL, per (territory, owner), and adds up the cells.
The fixture is the demo data (three currencies, a territory tree, several reps,
deals won and lost over four months, stale and fresh deals) with edge cases
written over it: deals without territory, owner or amount, a negative amount with
a probability override, a deleted deal, a fourth currency.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crmtui.demo.generator import seed_demo
from crmtui.domain.periods import Period, parse_period
from crmtui.reports.scope import Scope, deal_rows, now_text
from crmtui.reports.summary import GAP_DAYS, SummaryBlock, SummaryReport, territory_summary
from crmtui.store.types import parse_timestamp

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def varied_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rollup") / "demo.db"
    seed_demo(path, contacts=1500, seed=7, now=NOW)
    db = sqlite3.connect(path)
    ids = [r[0] for r in db.execute("SELECT id FROM deal ORDER BY id")]
    edits = [
        ("UPDATE deal SET territory_id = NULL WHERE id IN (?, ?, ?)", ids[0:3]),
        ("UPDATE deal SET owner_id = NULL WHERE id IN (?, ?, ?)", ids[2:5]),
        ("UPDATE deal SET amount_minor = NULL WHERE id = ?", ids[5:6]),
        ("UPDATE deal SET amount_minor = -123455, probability = 33 WHERE id = ?", ids[6:7]),
        ("UPDATE deal SET deleted_at = '2026-11-01T00:00:00.000000Z' WHERE id = ?", ids[7:8]),
        ("UPDATE deal SET currency = 'JPY' WHERE id IN (?, ?, ?, ?)", ids[8:12]),
    ]
    accounts = [r[0] for r in db.execute("SELECT id FROM account ORDER BY id")]
    edits += [
        # Coverage gaps: accounts last touched long ago, and accounts never touched.
        (
            "UPDATE activity SET occurred_at = '2026-01-05T10:00:00.000000Z'"
            f" WHERE account_id IN ({', '.join('?' * 20)})",
            accounts[0:20],
        ),
        (
            "UPDATE activity SET deleted_at = '2026-11-01T00:00:00.000000Z'"
            f" WHERE account_id IN ({', '.join('?' * 10)})",
            accounts[20:30],
        ),
        (
            "UPDATE account SET archived_at = '2026-11-01T00:00:00.000000Z' WHERE id = ?",
            accounts[:1],
        ),
    ]
    for sql, params in edits:
        db.execute(sql, params)
    db.commit()
    db.close()
    return path


def _subtree(db: sqlite3.Connection, root: str | None) -> set[str] | None:
    """The territory and its live descendants, walked in Python."""
    if root is None:
        return None
    children: dict[str, list[str]] = {}
    for tid, parent, deleted in db.execute("SELECT id, parent_id, deleted_at FROM territory"):
        if parent is not None and deleted is None:
            children.setdefault(parent, []).append(tid)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _inside(
    territories: set[str] | None, owner_id: str | None, territory: str | None, owner: str | None
) -> bool:
    return (territories is None or territory in territories) and (
        owner_id is None or owner == owner_id
    )


def _by_hand(
    db: sqlite3.Connection, scope: Scope, period: Period, weeks: list[date]
) -> dict[str, object]:
    """A block's figures computed row by row."""
    territories = _subtree(db, scope.territory_id)
    open_rows = deal_rows(db, scope, tz=TZ, status="open", with_activity=True)
    pipeline: dict[str, list[int]] = {}
    for row in open_rows:
        t = pipeline.setdefault(row.currency, [0, 0, 0])
        t[0] += 1
        t[1] += row.amount_minor
        t[2] += row.weighted_minor
    closed = [r for r in deal_rows(db, scope, period=period, tz=TZ) if r.status != "open"]
    won: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for row in closed:
        (won if row.status == "won" else lost)[row.currency] += row.amount_minor
    start, end = period.start, period.end
    activities: dict[str, list[int]] = {}
    for kind, occurred, rep, acc_t, c_t in db.execute(
        "SELECT x.kind, x.occurred_at, x.rep_id, a.territory_id, c.territory_id FROM activity x"
        " LEFT JOIN account a ON a.id = x.account_id LEFT JOIN contact c ON c.id = x.contact_id"
        " WHERE x.deleted_at IS NULL"
    ):
        local = parse_timestamp(occurred).astimezone(TZ).date()
        if start <= local < end and _inside(territories, scope.owner_id, acc_t or c_t, rep):
            monday = local - timedelta(days=local.weekday())
            activities.setdefault(kind, [0] * len(weeks))[weeks.index(monday)] += 1
    overdue = 0
    for due, owner, d_t, a_t, c_t in db.execute(
        "SELECT k.due_at, k.owner_id, d.territory_id, a.territory_id, c.territory_id FROM tickler k"
        " LEFT JOIN deal d ON d.id = k.deal_id LEFT JOIN account a ON a.id = k.account_id"
        " LEFT JOIN contact c ON c.id = k.contact_id"
        " WHERE k.deleted_at IS NULL AND k.status = 'open'"
    ):
        territory = d_t if d_t is not None else (a_t if a_t is not None else c_t)
        if due < now_text(NOW) and _inside(territories, scope.owner_id, territory, owner):
            overdue += 1
    last: dict[str, str] = {}
    for account_id, occurred in db.execute(
        "SELECT account_id, occurred_at FROM activity WHERE deleted_at IS NULL AND account_id IS NOT NULL"
    ):
        last[account_id] = max(last.get(account_id, ""), occurred)
    since = now_text(NOW - timedelta(days=GAP_DAYS))
    gaps = sum(
        1
        for aid, territory, owner in db.execute(
            "SELECT id, territory_id, owner_id FROM account WHERE deleted_at IS NULL AND archived_at IS NULL"
        )
        if last.get(aid, "") < since and _inside(territories, scope.owner_id, territory, owner)
    )
    return {
        "pipeline": sorted((c, *v) for c, v in pipeline.items()),
        "open_count": len(open_rows),
        "won_count": sum(1 for r in closed if r.status == "won"),
        "lost_count": sum(1 for r in closed if r.status == "lost"),
        "won_minor": dict(sorted(won.items())),
        "lost_minor": dict(sorted(lost.items())),
        "activities": {k: v for k, v in activities.items() if any(v)},
        "overdue_ticklers": overdue,
        "stale_deals": sum(1 for r in open_rows if r.is_stale(NOW)),
        "coverage_gaps": gaps,
    }


def _figures(block: SummaryBlock) -> dict[str, object]:
    return {
        "pipeline": sorted(
            (p.currency, p.count, p.amount_minor, p.weighted_minor) for p in block.pipeline
        ),
        "open_count": block.open_count,
        "won_count": block.won_count,
        "lost_count": block.lost_count,
        "won_minor": block.won_minor,
        "lost_minor": block.lost_minor,
        "activities": {k: v for k, v in block.activities.items() if any(v)},
        "overdue_ticklers": block.overdue_ticklers,
        "stale_deals": block.stale_deals,
        "coverage_gaps": block.coverage_gaps,
    }


def _scope_of(report: SummaryReport, block: SummaryBlock) -> Scope:
    if block.kind == "scope":
        return report.scope
    if block.kind == "territory":
        return Scope(block.id, None, block.label)
    return Scope(report.scope.territory_id, block.id, block.label)


def _check(db: sqlite3.Connection, report: SummaryReport) -> None:
    blocks = [report.total, *report.territories, *report.reps]
    assert report.reps, "the fixture has reps"
    for block in blocks:
        expected = _by_hand(db, _scope_of(report, block), report.period, report.weeks)
        assert _figures(block) == expected, (block.kind, block.label)


@pytest.mark.parametrize("period_label", ["this-quarter", "last-quarter", "this-month"])
def test_every_block_of_all_territories_matches_row_by_row(
    varied_db: Path, period_label: str
) -> None:
    db = sqlite3.connect(varied_db)
    period = parse_period(period_label, today=NOW.date())
    report = territory_summary(db, territory_id=None, period=period, tz=TZ, now=NOW)
    total = report.total
    # The fixture covers what the roll-up must get right.
    assert {p.currency for p in total.pipeline} >= {"EUR", "GBP", "USD", "JPY"}
    assert total.stale_deals > 0 and total.open_count > 0
    assert total.coverage_gaps > 0 and total.overdue_ticklers > 0
    assert len(report.territories) >= 2 and len(report.reps) >= 2
    if period_label == "this-quarter":
        assert total.won_count > 0 and total.lost_count > 0
    _check(db, report)


def test_a_territory_with_children_matches_row_by_row(varied_db: Path) -> None:
    db = sqlite3.connect(varied_db)
    tid = db.execute(
        "SELECT p.id FROM territory p JOIN territory c ON c.parent_id = p.id"
        " GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 1"
    ).fetchone()[0]
    period = parse_period("this-quarter", today=NOW.date())
    report = territory_summary(db, territory_id=tid, period=period, tz=TZ, now=NOW)
    assert report.territories and report.total.open_count > 0
    _check(db, report)


def test_weighted_rounds_half_up_like_python_for_negative_amounts(varied_db: Path) -> None:
    db = sqlite3.connect(varied_db)
    period = parse_period("this-quarter", today=NOW.date())
    report = territory_summary(db, territory_id=None, period=period, tz=TZ, now=NOW)
    (row,) = [r for r in deal_rows(db, Scope(), tz=TZ, status="open") if r.amount_minor == -123455]
    assert (
        row.weighted_minor == (-123455 * 33 + 50) // 100 == -40740
    )  # SQLite's `/` would give -40739
    by_currency = {p.currency: p.weighted_minor for p in report.total.pipeline}
    assert by_currency[row.currency] == sum(
        r.weighted_minor
        for r in deal_rows(db, Scope(), tz=TZ, status="open")
        if r.currency == row.currency
    )


def test_lists_are_left_out_on_request_and_counts_stay(varied_db: Path) -> None:
    db = sqlite3.connect(varied_db)
    period = parse_period("this-quarter", today=NOW.date())
    full = territory_summary(db, territory_id=None, period=period, tz=TZ, now=NOW)
    lean = territory_summary(
        db, territory_id=None, period=period, tz=TZ, now=NOW, gap_limit=0, stale_list=False
    )
    assert len(full.stale) == full.total.stale_deals > 0 and full.gaps
    assert lean.stale == [] and lean.gaps == []
    assert lean.total == full.total and lean.reps == full.reps
