"""The Pipeline screen through Pilot: the board, moves with `[` `]`, won/lost, the deal card."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot

from crmtui.app import make_app
from crmtui.domain.periods import parse_period
from crmtui.reports.deal_board import board_window
from crmtui.reports.forecast import board
from crmtui.reports.scope import Scope
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.sections.pipeline import PickPrompt, PipelineScreen, ReasonPrompt
from crmtui.widgets.card_section import CardSection
from tests.app_support import DEMO_NOW, copy_db, settle

SIZE = (120, 40)


def clock() -> datetime:
    """The fixed moment the tests run at."""
    return DEMO_NOW


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the 300-contact demo database per test (the tests write to it)."""
    return copy_db(demo_template, tmp_path / "demo.db")


async def pipeline(pilot: Pilot[None]) -> PipelineScreen:
    """Open the app and switch to the board."""
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PipelineScreen), type(screen)
    assert screen.window is not None
    return screen


def deal_row(path: Path, deal_id: str) -> tuple[str, str, str | None]:
    """(stage name, status, lost reason) of a deal, read straight from the file."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT s.name, d.status, d.lost_reason FROM deal d JOIN stage s ON s.id = d.stage_id"
            " WHERE d.id = ?",
            (deal_id,),
        ).fetchone()


def test_board_window_totals_agree_with_the_full_board(demo_db: Path) -> None:
    tz = ZoneInfo("Europe/Berlin")
    db = sqlite3.connect(demo_db)
    scope = Scope()
    closed_in = parse_period("this-quarter", today=DEMO_NOW.date())
    full = board(db, scope=scope, tz=tz, now=DEMO_NOW, closed_in=closed_in)
    window = board_window(db, scope=scope, tz=tz, now=DEMO_NOW, closed_in=closed_in, per_column=3)
    assert [c.stage_id for c in window.columns] == [c.stage_id for c in full.columns]
    assert sum(c.count for c in full.columns) > 10
    assert sum(c.stale for c in full.columns) > 0
    for small, big in zip(window.columns, full.columns, strict=True):
        assert (small.count, small.stale) == (big.count, big.stale), small.name
        assert small.amount_minor == big.amount_minor
        assert small.weighted_minor == big.weighted_minor
        assert len(small.deals) == min(3, big.count)
        assert small.more == big.count - len(small.deals)
        by_amount = sorted(big.deals, key=lambda d: -d.amount_minor)
        if small.deals:
            assert small.deals[0].amount_minor == by_amount[0].amount_minor
        stale_ids = {d.id for d in big.deals if d.is_stale(DEMO_NOW)}
        assert {d.id for d in small.deals if d.stale} == stale_ids & {d.id for d in small.deals}


async def test_right_bracket_moves_the_deal_to_the_next_stage_and_records_it(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        lanes = screen.board.lanes
        assert [lane.title.split()[0] for lane in lanes[:2]] == ["Lead", "Qualified"]
        card = screen.board.highlighted
        assert card is not None and screen.board.lane_index == 0
        before_count = screen.window.columns[1].count
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[0] == screen.window.columns[1].name
        with sqlite3.connect(demo_db) as db:
            changes = db.execute(
                "SELECT f.name, t.name FROM deal_stage_change h JOIN stage t ON t.id = h.to_stage_id"
                " JOIN stage f ON f.id = h.from_stage_id WHERE h.deal_id = ?",
                (card.id,),
            ).fetchall()
        assert ("Lead In", "Qualified") in changes
        # The board shows it in its new column, with the cursor on it.
        assert screen.board.lane_index == 1
        assert screen.board.highlighted is not None
        assert screen.board.highlighted.id == card.id
        assert screen.window.columns[1].count == before_count + 1
        # And back again with [.
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[0] == "Lead In"
        assert screen.board.lane_index == 0


async def test_lost_asks_for_a_reason_and_won_for_a_confirmation(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        await pilot.press("right")
        card = screen.board.highlighted
        assert card is not None
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press("enter")  # an empty reason is refused
        await settle(pilot)
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press(*"went with a competitor", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert deal_row(demo_db, card.id) == ("Closed Lost", "lost", "went with a competitor")
        lost_lane = next(i for i, c in enumerate(screen.window.columns) if c.name == "Closed Lost")
        assert card.id in {c.id for c in screen.board.lanes[lost_lane].cards}

        await pilot.press("left", "left")
        other = screen.board.highlighted
        assert other is not None and other.id != card.id
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press("escape")  # cancel: nothing changes
        await settle(pilot)
        assert deal_row(demo_db, other.id)[1] == "open"
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert deal_row(demo_db, other.id)[:2] == ("Closed Won", "won")


async def test_enter_opens_the_deal_card_with_its_history(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        card = screen.board.highlighted
        assert card is not None
        await pilot.press("enter")
        await settle(pilot)
        deal = app.screen
        assert isinstance(deal, DealCardScreen)
        assert deal.card is not None and deal.card.deal.id == card.id
        assert deal.title == card.title
        history = deal.query_one("#history", CardSection)
        assert not history.has_class("-empty")
        assert len(deal.card.history) >= 1
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_owner_filter_narrows_the_board(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        everyone = sum(c.count for c in screen.window.columns)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, PickPrompt)
        await pilot.press("down", "enter")  # the first rep after "Everyone"
        await settle(pilot)
        assert screen.filter.owner_id is not None
        narrowed = sum(c.count for c in screen.window.columns)
        assert narrowed < everyone
        with sqlite3.connect(demo_db) as db:
            (owned,) = db.execute(
                "SELECT count(*) FROM deal WHERE owner_id = ? AND deleted_at IS NULL"
                " AND status = 'open'",
                (screen.filter.owner_id,),
            ).fetchone()
        open_shown = sum(c.count for c in screen.window.columns if not c.closed)
        assert open_shown == owned
        for lane in screen.board.lanes:
            for card in lane.cards:
                assert screen.filter.owner_name in card.note


async def test_palette_targets_find_and_open_deals_and_accounts(demo_db):
    from crmtui.screens.cards.account_card import AccountCardScreen
    from crmtui.search.find_entities import find_accounts, find_deals

    with sqlite3.connect(demo_db) as db:
        deal_id, deal_name = db.execute("SELECT id, name FROM deal ORDER BY id LIMIT 1").fetchone()
        account_id, account_name = db.execute(
            "SELECT a.id, a.name FROM account a WHERE EXISTS"
            " (SELECT 1 FROM contact c WHERE c.account_id = a.id) ORDER BY a.id LIMIT 1"
        ).fetchone()
        deals = find_deals(db, deal_name)
        accounts = find_accounts(db, account_name)
        # Case is ignored for ASCII letters (SQLite's LIKE); every word must appear.
        word = next(w for w in deal_name.split() if w.isascii() and w.isalpha())
        assert all(word.lower() in h.name.lower() for h in find_deals(db, word.upper()))
        assert deal_id in [
            h.id for h in find_deals(db, f"{word.upper()} {deal_name.split()[-1]}", limit=50)
        ]
        assert find_deals(db, "no such deal anywhere") == []
    assert deals[0].name == deal_name and deals[0].score == 100
    assert account_id in [a.id for a in accounts]
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_deal(deal_id)
        await settle(pilot)
        assert isinstance(app.screen, DealCardScreen) and app.current_mode == "pipeline"
        assert app.screen.card is not None and app.screen.card.deal.name == deal_name
        app.open_account(account_id)
        await settle(pilot)
        # The account's own card (it was a contact's card at the account before).
        assert isinstance(app.screen, AccountCardScreen)
        assert app.screen.card is not None and app.screen.card.account["id"] == account_id


async def test_enter_only_confirms_won_and_does_not_open_the_card(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        card = screen.board.highlighted
        assert card is not None
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ReasonPrompt)
        await pilot.press("enter")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[:2] == ("Closed Won", "won")
        assert app.screen is screen, type(app.screen)


async def test_a_won_deal_names_its_id_and_reopens_from_its_card(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pipeline(pilot)
        card = screen.board.highlighted
        assert card is not None
        before = deal_row(demo_db, card.id)[0]
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[:2] == ("Closed Won", "won")
        assert screen.board.highlighted is not None and screen.board.highlighted.id == card.id
        await pilot.press("right_square_bracket")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any(card.id in m and "reopen" in m for m in said), said
        await pilot.press("enter")
        await settle(pilot)
        deal = app.screen
        assert isinstance(deal, DealCardScreen) and deal.card is not None
        assert deal.card.deal.status == "won"
        await pilot.press("o")
        await settle(pilot)
        assert deal_row(demo_db, card.id)[:2] == (before, "open")
        assert deal.card is not None and deal.card.deal.status == "open"
        await pilot.press("o")  # open already: the key is off, nothing is written
        await settle(pilot)
        assert deal_row(demo_db, card.id)[:2] == (before, "open")


def test_column_totals_fit_a_narrow_column_with_the_weighted_sum() -> None:
    from crmtui.reports.deal_board import StageWindow
    from crmtui.screens.sections.pipeline import lane_summary

    column = StageWindow(
        stage_id="s",
        name="Qualified",
        position=2,
        probability=20,
        forecast_category="pipeline",
        stale_after_days=None,
        count=73,
        amount_minor={"EUR": 110_000_000, "CHF": 5_000_000},
        weighted_minor={"EUR": 23_100_000, "CHF": 1_000_000},
    )
    lines = lane_summary(column)
    assert lines[1] == "€1.1M w231k"  # readable in a 12-cell column (80x24, six stages)
    assert len(lines[1]) <= 12
    assert lines[2] == "50k CHF w10k"


async def test_at_80x24_a_cut_stage_name_ends_in_an_ellipsis_and_keeps_its_percentage(demo_db):
    # Before: "Qualified 2…", "Negotiation…": the probability was cut, not the name.
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await pipeline(pilot)
        board = screen.board
        titles = board.render_line(0).text
        for column in screen.window.columns:
            if not column.closed:
                # Whole, or cut with "…" before the whole percentage.
                whole = f"{column.name} {column.probability}%"
                assert whole in titles or f"… {column.probability}%" in titles, (whole, titles)
        assert "Qualifi… 20%" in titles and "Negotia… 75%" in titles, titles
