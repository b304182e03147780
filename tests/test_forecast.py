"""Forecast arithmetic against hand-computed cases, currencies, and summary == forecast."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest

from crmtui.domain.periods import BadPeriod, parse_period
from crmtui.reports.forecast import MixedCurrencies, board, forecast
from crmtui.reports.scope import FORECAST_CATEGORIES as READ_CATEGORIES
from crmtui.reports.scope import Scope, make_scope, weighted
from crmtui.reports.summary import territory_summary
from crmtui.services.sales.deals import DealCreate, create_deal, lose_deal, win_deal
from crmtui.services.territories import (
    RepCreate,
    TerritoryCreate,
    assign_rep,
    create_rep,
    create_territory,
)
from crmtui.store.database import Store
from crmtui.store.models import FORECAST_CATEGORIES

NOW = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
Q1 = parse_period("2026-Q1", today=NOW.date())
# The real clock, started at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_day")


def _ro(store: Store) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)


def _deal(store: Store, name: str, amount: int, stage: str, **kw: object) -> str:
    with store.write() as tx:
        data = DealCreate(
            name=name, amount_minor=amount, stage=stage, expected_close=date(2026, 3, 1), **kw
        )
        return create_deal(tx=tx, data=data).id


def test_weighted_rounds_half_up_per_deal() -> None:
    assert weighted(1_000_01, 10) == 10_000  # 10000.1 -> 10000
    assert weighted(5, 10) == 1  # 0.5 -> 1 (half up)
    assert weighted(4, 10) == 0  # 0.4 -> 0
    assert weighted(333, 33) == 110  # 109.89 -> 110


def test_categories_agree_between_models_and_read_side() -> None:
    assert FORECAST_CATEGORIES == READ_CATEGORIES


def test_forecast_totals_hand_computed(store: Store) -> None:
    _deal(store, "A", 1_000_00, "Lead In")  # 10% -> 100.00
    _deal(store, "B", 2_000_05, "Qualified")  # 20% -> 400.01
    _deal(store, "C", 3_000_00, "Proposal", probability=35)  # override 35% -> 1050.00
    _deal(store, "D", 999, "Negotiation")  # 75% of 9.99 = 7.4925 -> 7.49
    won = _deal(store, "E", 500_00, "Qualified")
    with store.write() as tx:
        win_deal(tx=tx, deal_id=won)
    db = _ro(store)
    # The won deal closed today (2026 in real time); without a period it counts.
    result = forecast(db, scope=Scope(), period=None, tz=UTC)
    totals = {t.category: t for t in result.totals}
    assert (totals["pipeline"].count, totals["pipeline"].amount_minor) == (2, 3_000_05)
    assert totals["pipeline"].weighted_minor == 10_000 + 40_001
    assert totals["best_case"].weighted_minor == 105_000
    assert totals["commit"].weighted_minor == 749
    assert totals["closed_won"].weighted_minor == 500_00
    assert result.weighted_minor == 10_000 + 40_001 + 105_000 + 749 + 500_00
    by_name = {line.name: line for line in result.lines}
    assert by_name["C"].probability_source == "deal" and by_name["C"].probability == 35
    assert result.currency == "EUR"


def test_period_filters_by_expected_close_and_closed_at(store: Store) -> None:
    _deal(store, "in Q1", 100_00, "Lead In")
    with store.write() as tx:
        create_deal(
            tx=tx,
            data=DealCreate(name="Q2", amount_minor=100_00, expected_close=date(2026, 4, 1)),
        )
    db = _ro(store)
    result = forecast(db, scope=Scope(), period=Q1, tz=UTC)
    assert [line.name for line in result.lines] == ["in Q1"]


def test_mixed_currencies_are_refused_unless_one_is_chosen(store: Store) -> None:
    _deal(store, "euro", 100_00, "Lead In")
    _deal(store, "pound", 200_00, "Lead In", currency="GBP")
    db = _ro(store)
    with pytest.raises(MixedCurrencies, match="EUR, GBP"):
        forecast(db, scope=Scope(), period=None, tz=UTC)
    gbp = forecast(db, scope=Scope(), period=None, tz=UTC, currency="GBP")
    assert [line.name for line in gbp.lines] == ["pound"]
    assert [line.name for line in gbp.excluded] == ["euro"]
    assert gbp.weighted_minor == 20_00


def test_territory_scope_covers_the_subtree_and_summary_equals_forecast(store: Store) -> None:
    with store.write() as tx:
        europe = create_territory(tx=tx, data=TerritoryCreate(name="Europe")).id
        create_territory(tx=tx, data=TerritoryCreate(name="DACH", parent="Europe"))
        create_territory(tx=tx, data=TerritoryCreate(name="Americas"))
        rep = create_rep(tx=tx, data=RepCreate(name="Rita Rep")).id
        assign_rep(tx=tx, territory_id=europe, rep_id=rep)
    db = _ro(store)
    dach = make_scope(db, territory="dach", owner=None).territory_id
    americas = make_scope(db, territory="Americas", owner=None).territory_id
    _deal(store, "d1", 1_234_56, "Qualified", territory_id=dach, owner_id=rep)
    _deal(store, "d2", 7_77, "Proposal", territory_id=europe, probability=33)
    _deal(store, "a1", 50_000_00, "Negotiation", territory_id=americas)
    lost = _deal(store, "d3", 10_00, "Lead In", territory_id=dach)
    with store.write() as tx:
        lose_deal(tx=tx, deal_id=lost, reason="budget")
    db = _ro(store)
    scope = make_scope(db, territory="Europe", owner=None)
    explained = forecast(db, scope=scope, period=None, tz=UTC)
    assert sorted(line.name for line in explained.lines) == ["d1", "d2", "d3"]
    report = territory_summary(
        db, territory_id=scope.territory_id, period=parse_period("this-year", today=date.today()),
        tz=UTC, now=datetime.now(UTC),
    )  # fmt: skip
    open_lines = explained.open_lines()
    (total,) = report.total.pipeline
    assert total.count == len(open_lines) == 2
    assert total.amount_minor == sum(x.amount_minor for x in open_lines) == 1_234_56 + 7_77
    assert total.weighted_minor == sum(x.weighted_minor for x in open_lines)
    assert total.weighted_minor == weighted(1_234_56, 20) + weighted(7_77, 33)
    assert report.total.lost_count == 1 and report.total.win_rate == 0.0
    assert [b.label for b in report.territories] == ["DACH"]
    assert report.territories[0].pipeline[0].count == 1
    assert [b.label for b in report.reps] == ["Rita Rep"]
    assert report.reps[0].pipeline[0].amount_minor == 1_234_56
    # The board over the same scope adds up to the same open numbers.
    cols = board(db, scope=scope, tz=UTC, now=NOW).columns
    assert sum(c.weighted_minor.get("EUR", 0) for c in cols) == total.weighted_minor


def test_periods() -> None:
    today = date(2026, 11, 23)
    assert parse_period("this-quarter", today=today).start == date(2026, 10, 1)
    nq = parse_period("next-quarter", today=today)
    assert (nq.start, nq.end) == (date(2027, 1, 1), date(2027, 4, 1))
    assert parse_period("2026-03", today=today).end == date(2026, 4, 1)
    last = parse_period("last-90d", today=today)
    assert (last.end - last.start).days == 90 and last.contains(today)
    with pytest.raises(BadPeriod):
        parse_period("2026-13", today=today)


def test_read_side_imports_neither_sqlalchemy_nor_sqlmodel() -> None:
    import subprocess
    import sys

    from crmtui.domain import periods
    from crmtui.store import types

    assert periods.TIMESTAMP_FORMAT == types.TIMESTAMP_FORMAT
    code = (
        "import sys\n"
        "import crmtui.reports.forecast, crmtui.reports.summary, crmtui.reports.deal_history\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel'))\n"
        "assert not bad, bad[:3]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_a_territory_summary_without_plans_reads_with_sqlite3_only(tmp_path) -> None:
    """F4 and `crm territory summary` on a database nobody put on a plan: no ORM import."""
    import subprocess
    import sys

    from crmtui.demo.generator import seed_demo

    path = tmp_path / "demo.db"
    seed_demo(path, contacts=50, seed=3)
    code = (
        "import sqlite3, sys\n"
        "from datetime import UTC, datetime\n"
        "from crmtui.domain.periods import parse_period\n"
        "from crmtui.reports.summary import territory_summary\n"
        "now = datetime.now(UTC)\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "report = territory_summary(db, territory_id=None,\n"
        "    period=parse_period('this-quarter', today=now.date()), tz=UTC, now=now)\n"
        "assert report.plans == [], report.plans\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel'))\n"
        "assert not bad, bad[:3]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
