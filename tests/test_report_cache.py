"""The report cache: board and summary read ahead, used only while the database is unchanged."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

import crmtui.startup
from crmtui.app import make_app
from crmtui.reports.cache import MAX_AGE_S, ReportCache, warm
from crmtui.reports.deal_board import StageWindow
from crmtui.screens.daily_context import DailyContext
from crmtui.screens.sections import pipeline as pipeline_screen
from crmtui.screens.sections import territory
from crmtui.screens.sections.pipeline import BoardFilter, board_key, read_board
from crmtui.screens.sections.territory import PERIODS, TerritoryScreen, read_summary, summary_key
from crmtui.search.lookup import connect
from crmtui.startup import first_visits
from crmtui.store.data_version import data_version
from tests.app_support import copy_db, settle
from tests.test_app_pipeline import SIZE, clock, pipeline


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the 300-contact demo database per test (the tests write to it).

    The app's own warm-up timer is put off: the tests start the warm-up themselves."""
    monkeypatch.setattr(crmtui.startup, "WARM_DELAY_S", 3600.0)
    return copy_db(demo_template, tmp_path / "demo.db")


def totals(columns: list[StageWindow]) -> list[tuple[str, int, dict[str, int]]]:
    """Each column's stage, count and amounts."""
    return [(c.stage_id, c.count, c.amount_minor) for c in columns]


def move_first_open_deal(path: Path) -> None:
    """Another connection commits: the first open deal goes to the next stage."""
    with sqlite3.connect(path) as db:
        deal, stage = db.execute(
            "SELECT d.id, s.position FROM deal d JOIN stage s ON s.id = d.stage_id"
            " WHERE d.status = 'open' AND d.deleted_at IS NULL ORDER BY d.id LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE deal SET stage_id = (SELECT id FROM stage WHERE position = ? LIMIT 1)"
            " WHERE id = ?",
            (stage + 1, deal),
        )


def test_kept_results_are_used_only_at_the_same_version_and_age() -> None:
    now = [0.0]
    cache = ReportCache(clock=lambda: now[0])
    cache.put("k", 7, "board")
    assert cache.get("k", 7) == "board"
    assert cache.get("k", 8) is None  # something was committed since
    assert cache.get("other", 7) is None
    now[0] = MAX_AGE_S + 1
    assert cache.get("k", 7) is None  # too old: staleness moves with the clock


def test_warm_reads_what_the_screens_read_and_a_commit_makes_it_read_again(demo_db: Path) -> None:
    daily = DailyContext(demo_db, clock)
    app_db = connect(demo_db)
    cache = ReportCache()
    warm(cache, app_db, demo_db, first_visits(daily))
    version = data_version(app_db)
    board = cache.get(board_key(daily, BoardFilter()), version)
    assert board is not None
    assert totals(board.columns) == totals(read_board(app_db, daily, BoardFilter()).columns)
    summary = cache.get(summary_key(daily, None, PERIODS[0]), version)
    assert summary is not None
    report, stages = read_summary(app_db, daily, None, PERIODS[0])
    assert summary[0].total == report.total  # type: ignore[index]
    assert totals(summary[1]) == totals(stages)  # type: ignore[index]

    move_first_open_deal(demo_db)
    assert data_version(app_db) != version
    calls = []

    def compute(db: sqlite3.Connection) -> object:
        calls.append(1)
        return read_board(db, daily, BoardFilter())

    fresh = cache.read(board_key(daily, BoardFilter()), app_db, compute)
    assert calls == [1]
    assert totals(fresh.columns) != totals(board.columns)  # the moved deal counts in its new column
    assert totals(fresh.columns) == totals(read_board(app_db, daily, BoardFilter()).columns)
    # Unchanged since: the next read is the kept one.
    assert cache.read(board_key(daily, BoardFilter()), app_db, compute) is fresh
    assert calls == [1]
    app_db.close()
    daily.close()


async def test_the_board_after_a_move_is_read_again_not_taken_from_the_cache(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.startup.warm_reports()  # as the start-up timer does, without waiting for it
        await app.workers.wait_for_complete()
        screen = await pipeline(pilot)
        first = totals(screen.window.columns)
        before = screen.window.columns[1].count
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.window.columns[1].count == before + 1
        assert totals(screen.window.columns) != first
        # Away and back: the board read after the move (its deal was among the top
        # cards anyway) is kept and shown again without reading.
        reads: list[object] = []
        monkeypatch.setattr(
            pipeline_screen, "read_board", lambda *a: reads.append(a) or read_board(*a)
        )
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert screen.window.columns[1].count == before + 1
        assert reads == []
        # Committed elsewhere since: read again.
        move_first_open_deal(demo_db)
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert len(reads) == 1


async def test_territories_first_visit_shows_the_warmed_summary(demo_db: Path) -> None:
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.startup.warm_reports()
        await app.workers.wait_for_complete()
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TerritoryScreen)
        assert screen.report is not None
        with connect(demo_db) as db:
            report, _ = read_summary(db, app.daily, None, PERIODS[0])
        assert screen.report.total == report.total


async def test_territories_shows_kept_figures_as_updating_then_the_fresh_ones(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.startup.warm_reports()
        await app.workers.wait_for_complete()
        assert app.db is not None
        kept = app.report_cache.latest(summary_key(app.daily, None, PERIODS[0]))
        assert kept is not None
        move_first_open_deal(demo_db)  # committed elsewhere: the kept figures are behind
        fresh, _ = read_summary(app.db, app.daily, None, PERIODS[0])
        assert fresh.total != kept[0].total  # type: ignore[index]
        # Hold the screen's own read until the kept figures have been looked at.
        gate = threading.Event()

        def held(*args: object) -> object:
            gate.wait(10)
            return read_summary(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(territory, "read_summary", held)
        await pilot.press("f4")
        screen = app.screen
        assert isinstance(screen, TerritoryScreen)
        assert screen.loading_summary
        assert screen.report is kept[0]  # type: ignore[index]
        assert "updating" in str(screen.query_one("#scope-status").render())
        gate.set()
        await settle(pilot)
        assert not screen.loading_summary
        assert screen.report is not None and screen.report.total == fresh.total
        assert "updating" not in str(screen.query_one("#scope-status").render())
