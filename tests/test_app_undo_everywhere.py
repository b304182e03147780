"""Pilot tests: ctrl+z undoes the writes of the board, the quick log, the call list and F7.

Each test makes the write with the keys a user would, presses ctrl+z, and reads the
database: the rows are back, the undo was journaled (so it syncs), and an undo after
a later change of the same row is refused with nothing written.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.demo.generator import seed_demo
from crmtui.screens.dialogs.quick_log import QuickLogScreen
from tests.app_support import build_daily_db, build_fixed_db, copy_db, settle
from tests.daily_pilot import SIZE, counts, fixed_clock, reading
from tests.test_app_calls import call_list
from tests.test_app_duplicates import (
    J_SMITH,
    SMITH,
    add_duplicates,
    duplicates,
    rows,
    select_pair,
)
from tests.test_app_pipeline import DEMO_NOW, deal_row, pipeline
from tests.test_app_pipeline import clock as demo_clock


@pytest.fixture(scope="module")
def daily_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The daily database, built once; tests that write take a copy."""
    path = tmp_path_factory.mktemp("undo") / "daily.db"
    return path, build_daily_db(path)


@pytest.fixture
def daily_db(daily_template, tmp_path) -> tuple[Path, dict[str, str]]:
    """A private copy of the daily database."""
    path, ids = daily_template
    return copy_db(path, tmp_path / "daily.db"), ids


@pytest.fixture
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh 300-contact demo database (the board tests write to it)."""
    path = tmp_path_factory.mktemp("undo-pipe") / "demo.db"
    seed_demo(path, contacts=300, seed=1, now=DEMO_NOW)
    return path


@pytest.fixture
def dupes_db(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The fixed database plus the look-alikes of the F7 tests."""
    path = tmp_path / "dupes.db"
    ids = build_fixed_db(path)
    ids.update(add_duplicates(path))
    return path, ids


def notes_of(pilot: Pilot[None]) -> list[str]:
    """Every notification from now on, as "title: message"."""
    seen: list[str] = []
    original = pilot.app.notify

    def spy(message: str, **kwargs: Any) -> None:
        seen.append(f"{kwargs.get('title', '')}: {message}")
        original(message, **kwargs)

    pilot.app.notify = spy  # type: ignore[method-assign]
    return seen


def journal_count(path: Path) -> int:
    """How many journal operations the file holds."""
    with reading(path) as db:
        return db.execute("SELECT count(*) FROM journal").fetchone()[0]


def stage_history(path: Path, deal_id: str) -> int:
    """How many live stage changes a deal has."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT count(*) FROM deal_stage_change WHERE deal_id = ? AND deleted_at IS NULL",
            (deal_id,),
        ).fetchone()[0]


async def test_a_board_move_and_a_win_are_undone_with_ctrl_z(demo_db: Path) -> None:
    app = make_app(db_path=demo_db, now=demo_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        card = screen.board.highlighted
        assert card is not None
        first = deal_row(demo_db, card.id)
        history = stage_history(demo_db, card.id)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert deal_row(demo_db, card.id) != first
        await pilot.press("w", "enter")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[1] == "won"
        assert [s.label for s in app.daily.recent] == [
            f"{card.title} → {screen.window.columns[1].name}",
            f"{card.title} won",
        ]
        written = journal_count(demo_db)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[1] == "open"
        assert journal_count(demo_db) > written  # the undo is journaled
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert deal_row(demo_db, card.id) == first
        assert app.daily.recent == []
        # The stage changes the two writes added are gone with them.
        assert stage_history(demo_db, card.id) == history


async def test_a_quick_log_is_undone_with_its_follow_up(daily_db) -> None:
    path, _ = daily_db
    before = counts(path)
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, QuickLogScreen)
        await pilot.press("tab", "tab", *"Spoke about the order", "tab", *"in 2 days", "enter")
        await settle(pilot)
        with reading(path) as db:
            live = db.execute("SELECT count(*) FROM activity WHERE deleted_at IS NULL").fetchone()[
                0
            ]
        assert counts(path)["activity"] == before["activity"] + 1
        assert app.daily.recent[-1].label.startswith("Log call: Carla Rossi")
        await pilot.press("ctrl+z")
        await settle(pilot)
    with reading(path) as db:
        after_live = db.execute("SELECT count(*) FROM activity WHERE deleted_at IS NULL").fetchone()
        follow = db.execute(
            "SELECT count(*) FROM tickler WHERE deleted_at IS NULL AND text = 'Follow up'"
        ).fetchone()
    assert after_live[0] == live - 1
    assert follow[0] == 0


async def test_a_call_outcome_is_undone_and_the_reminder_is_open_again(daily_db) -> None:
    path, ids = daily_db
    carla = ids["Carla Rossi"]
    no_answer = (
        "SELECT count(*) FROM activity WHERE contact_id = ? AND outcome = 'no-answer' "
        "AND deleted_at IS NULL"
    )
    with reading(path) as db:
        calls_before = db.execute(no_answer, (carla,)).fetchone()[0]
    app = make_app(db_path=path, now=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_list(pilot)
        assert screen.current is not None and screen.current.name == "Carla Rossi"
        await pilot.press("2")  # no answer
        await settle(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
    with reading(path) as db:
        reminders = db.execute(
            "SELECT text, status FROM tickler WHERE contact_id = ? AND deleted_at IS NULL",
            (carla,),
        ).fetchall()
        calls = db.execute(no_answer, (carla,)).fetchone()[0]
    assert reminders == [("Call back about the invoice", "open")]
    assert calls == calls_before


async def test_a_merge_is_undone_with_ctrl_z_like_u(dupes_db) -> None:
    path, ids = dupes_db
    smith, j_smith = ids[SMITH], ids[J_SMITH]
    before = rows(path, [smith, j_smith])
    app = make_app(db_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await duplicates(pilot)
        await select_pair(pilot, screen, (SMITH, J_SMITH))
        await pilot.press("m", "enter")
        await settle(pilot)
        merge_id = screen.merges[0].merge_id
        assert app.daily.recent[-1].merge_id == merge_id
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert app.daily.recent == []
    after = rows(path, [smith, j_smith])
    for key, old in before.items():
        changed = {c for c in old if old[c] != after[key][c]}
        assert changed <= {"updated_at"}, (key, changed)
    with sqlite3.connect(path) as db:
        (undone_at,) = db.execute(
            "SELECT undone_at FROM merge_record WHERE id = ?", (merge_id,)
        ).fetchone()
    assert undone_at is not None


async def test_an_undo_after_a_later_change_is_refused_and_writes_nothing(demo_db: Path) -> None:
    app = make_app(db_path=demo_db, now=demo_clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        card = screen.board.highlighted
        assert card is not None
        await pilot.press("right_square_bracket")
        await settle(pilot)
        moved = deal_row(demo_db, card.id)
        # The same deal changed elsewhere (the shell, a sync) after the move.
        with sqlite3.connect(demo_db) as db:
            db.execute("UPDATE deal SET probability = 99 WHERE id = ?", (card.id,))
        written = journal_count(demo_db)
        notes = notes_of(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert deal_row(demo_db, card.id) == moved
        assert journal_count(demo_db) == written
        assert any(n.startswith("Not undone:") and "changed since" in n for n in notes), notes
