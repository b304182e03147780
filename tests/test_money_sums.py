"""The SQL sums of the pipeline board and the territory summary are exact for any stored amount.

Stored amounts may be anything SQLite holds (written by hand or by an old version), up
to ±2^63: each report's totals must equal Python's exact sums over the same deals.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.domain.periods import parse_period
from crmtui.reports.deal_board import board_window
from crmtui.reports.forecast import board
from crmtui.reports.money_sums import SAFE_AMOUNT
from crmtui.reports.scope import Scope, weighted
from crmtui.reports.summary import territory_summary
from tests.budget import examples
from tests.cli_commands import run

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
DEALS = 5

AMOUNTS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(SAFE_AMOUNT - 3, SAFE_AMOUNT + 3),
    st.integers(-(10**14), 10**14),
)
PROBABILITIES = st.one_of(st.none(), st.integers(0, 100))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database with DEALS open deals in one currency, in the first stage."""
    path = tmp_path_factory.mktemp("sums") / "crm.db"
    db = ["--db", str(path)]
    assert run(["db", "upgrade", *db]).code == 0
    for n in range(DEALS):
        assert run(["deal", "add", f"D{n}", "--amount", "1 EUR", *db]).code == 0
    yield path


@settings(max_examples=examples(100), deadline=None)
@given(
    deals=st.lists(st.tuples(AMOUNTS, PROBABILITIES), min_size=DEALS, max_size=DEALS),
)
def test_board_and_summary_totals_are_exact(
    template: Path, tmp_path_factory: pytest.TempPathFactory, deals: list[tuple[int, int | None]]
) -> None:
    path = tmp_path_factory.mktemp("sums") / "crm.db"
    shutil.copy(template, path)
    db = sqlite3.connect(path)
    ids = [r[0] for r in db.execute("SELECT id FROM deal ORDER BY name")]
    for deal_id, (amount, probability) in zip(ids, deals, strict=True):
        db.execute(
            "UPDATE deal SET amount_minor = ?, probability = ? WHERE id = ?",
            (amount, probability, deal_id),
        )
    db.commit()
    (stage_p,) = db.execute(
        "SELECT s.probability FROM deal d JOIN stage s ON s.id = d.stage_id LIMIT 1"
    ).fetchone()
    amount = sum(a for a, _ in deals)
    weight = sum(weighted(a, stage_p if p is None else p) for a, p in deals)

    window = board_window(db, scope=Scope(), tz=UTC, now=NOW, per_column=1)
    full = board(db, scope=Scope(), tz=UTC, now=NOW)
    for small, big in zip(window.columns, full.columns, strict=True):
        assert (small.amount_minor, small.weighted_minor) == (big.amount_minor, big.weighted_minor)
    assert sum(c.amount_minor.get("EUR", 0) for c in window.columns) == amount
    assert sum(c.weighted_minor.get("EUR", 0) for c in window.columns) == weight

    period = parse_period("this-quarter", today=NOW.date())
    report = territory_summary(db, territory_id=None, period=period, tz=UTC, now=NOW)
    (total,) = report.total.pipeline
    assert (total.count, total.amount_minor, total.weighted_minor) == (DEALS, amount, weight)
    db.close()
