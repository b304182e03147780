"""The territory summary's activity counts agree with a row-by-row count."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crmtui.demo.generator import seed_demo
from crmtui.domain.periods import parse_period
from crmtui.reports.summary import territory_summary
from crmtui.store.types import parse_timestamp

BERLIN = ZoneInfo("Europe/Berlin")
# A quarter with the October DST change in it, and demo data spread across it.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("summary") / "demo.db"
    seed_demo(path, contacts=400, seed=3, now=NOW)
    return path


def _by_hand(db: sqlite3.Connection, weeks: list, start, end, rep_id: str | None) -> Counter:
    """Count every activity in Python: (kind, local Monday) for the rep (or everyone)."""
    counts: Counter = Counter()
    for kind, occurred, rep in db.execute(
        "SELECT kind, occurred_at, rep_id FROM activity WHERE deleted_at IS NULL"
    ):
        local = parse_timestamp(occurred).astimezone(BERLIN)
        if not (start <= local.date() < end) or (rep_id is not None and rep != rep_id):
            continue
        monday = local.date() - timedelta(days=local.weekday())
        counts[(kind, monday)] += 1
    return counts


def test_weekly_counts_match_a_row_by_row_count(demo_db: Path) -> None:
    db = sqlite3.connect(demo_db)
    period = parse_period("this-quarter", today=NOW.date())
    report = territory_summary(db, territory_id=None, period=period, tz=BERLIN, now=NOW)

    def flatten(activities: dict[str, list[int]]) -> Counter:
        return Counter(
            {
                (kind, report.weeks[i]): n
                for kind, row in activities.items()
                for i, n in enumerate(row)
                if n
            }
        )

    expected = _by_hand(db, report.weeks, period.start, period.end, None)
    assert sum(expected.values()) > 100
    assert flatten(report.total.activities) == expected
    rep = max(report.reps, key=lambda b: sum(map(sum, b.activities.values())))
    assert flatten(rep.activities) == _by_hand(db, report.weeks, period.start, period.end, rep.id)
    # The sub-territories split the whole between them.
    split = sum((flatten(b.activities) for b in report.territories), Counter())
    assert split <= expected
