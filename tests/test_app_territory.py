"""The Territories screen through Pilot: summary, drill-down territory → rep → deal, period switch."""

from __future__ import annotations

import io
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crmtui.app import make_app
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.sections.territory import PERIODS, RepDealsScreen, TerritoryScreen, block_row
from crmtui.widgets.bar_chart import BarChart
from tests.app_support import copy_db, settle
from tests.test_app_pipeline import DEMO_NOW, SIZE, clock


@pytest.fixture(scope="module")
def demo_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-contact demo database (read only here)."""
    return copy_db(demo_template, tmp_path_factory.mktemp("terr") / "demo.db")


async def test_drill_down_from_territory_to_rep_to_deal_and_back(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        top = app.screen
        assert isinstance(top, TerritoryScreen) and top.territory_id is None
        assert top.report is not None
        assert top.query_one("#stage-bars", BarChart).bars
        kinds = [b.kind for b in top.report.territories + top.report.reps]
        assert kinds[0] == "territory" and "rep" in kinds
        # Enter on the first row: a region, drilled into.
        region = top.report.territories[0]
        await pilot.press("enter")
        await settle(pilot)
        level = app.screen
        assert isinstance(level, TerritoryScreen) and level.territory_id == region.id
        assert level.report is not None
        assert level.report.total.open_count == region.open_count
        # Down to the first rep with deals, and Enter: their deals.
        rows = [*level.report.territories, *level.report.reps]
        index = next(i for i, b in enumerate(rows) if b.kind == "rep" and b.open_count)
        rep = rows[index]
        for _ in range(index):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        deals = app.screen
        assert isinstance(deals, RepDealsScreen)
        assert deals.scope.owner_id == rep.id and deals.scope.territory_id == region.id
        assert len(deals.deals) == rep.open_count
        assert {d.owner_name for d in deals.deals} == {rep.label}
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, DealCardScreen) and card.deal_id == deals.deals[0].id
        for expected in (deals, level, top):
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is expected


async def test_period_switch_reloads_the_summary_and_follows_the_drill_down(demo_db):
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        top = app.screen
        assert isinstance(top, TerritoryScreen) and top.report is not None
        assert top.report.period.label == PERIODS[0]
        tz = ZoneInfo("UTC")
        weeks_quarter = len(top.report.weeks)
        await pilot.press("p")
        await settle(pilot)
        assert top.report.period.label == PERIODS[1]
        assert top.report.period.start > DEMO_NOW.astimezone(tz).date()
        await pilot.press("p", "p")
        await settle(pilot)
        assert top.report.period.label == "this-month"
        assert len(top.report.weeks) < weeks_quarter
        await pilot.press("enter")
        await settle(pilot)
        level = app.screen
        assert isinstance(level, TerritoryScreen) and level.report is not None
        assert level.report.period.label == "this-month"
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is top
        assert top.report.period.label == "last-quarter"


def chart_text(screen: TerritoryScreen) -> list[str]:
    """The activity chart as drawn at its widget's width, line by line."""
    from rich.console import Console
    from textual.widgets import Static

    widget = screen.query_one("#activity-weeks", Static)
    console = Console(width=widget.content_size.width, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text().splitlines()


@pytest.mark.parametrize("size", [SIZE, (80, 24)])
async def test_this_year_chart_keeps_labels_and_totals_and_leaves_future_weeks_blank(demo_db, size):
    from crmtui.reports.summary import ACTIVITY_KINDS

    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        top = app.screen
        assert isinstance(top, TerritoryScreen)
        while top.report is None or top.report.period.label != "this-year":
            await pilot.press("p")
            await settle(pilot)
        lines = chart_text(top)
        rows = {line.split()[0]: line for line in lines if line.strip()}
        for kind in (*ACTIVITY_KINDS, "all"):
            assert kind in rows, lines  # the label whole, not "ca…"
            assert "…" not in rows[kind], lines
        total = sum(sum(v) for v in top.report.total.activities.values())
        assert rows["all"].rstrip().endswith(f"{total:,}"), lines
        # 2 March: most of the year is ahead, and is not drawn as zero activity.
        spark = rows["all"][len("all") :].rstrip().rsplit(" ", 1)[0]
        assert "▁" * 8 not in spark, lines
        assert spark.rstrip() != spark or "  " in spark, lines


async def test_at_80x24_names_end_in_an_ellipsis_and_figures_are_never_cut(demo_db):
    # Before: "▸ Americas & Asia-Pacifi" cut without "…", "11/" for 11/2 at the right
    # edge, and the stage totals "34 · 481k EUR, 165k GBP, 10…".
    app = make_app(db_path=demo_db, now=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TerritoryScreen) and screen.report is not None
        table = screen.children_table
        blocks = [*screen.report.territories, *screen.report.reps]
        seen = table.scrollable_content_region.width  # the scrollbar covers the rest
        edges = [0]
        for column in table.columns.values():
            edges.append(edges[-1] + column.width + 2)
        # The right edge falls between two columns, after the W/L column at least.
        assert seen in edges[5:], (seen, edges)
        shown = edges.index(seen)
        cut = 0
        for y, block in enumerate(blocks[: table.size.height - 2], start=1):
            line = table.render_line(y).text[:seen]
            cells = [line[a:b].strip() for a, b in pairwise(edges[: shown + 1])]
            name = cells[0].removeprefix("▸ ")
            assert name == block.label or (
                name.endswith("…") and block.label.startswith(name[:-1])
            ), (name, block.label)
            cut += name.endswith("…")
            assert cells[1:] == [c.plain for c in block_row(block)[1:shown]], (cells, block)
        assert cut, "no name is long enough to be cut at 80x24"
        # The scope line under the header is cut with "…" too (it wrapped, showing "p: period ·").
        status = screen.query_one("#scope-status")
        row = status.region.y
        drawn_rows = screen._compositor.render_update(full=True).strips
        line = "".join(s.text for s in drawn_rows[row]).rstrip()
        assert line.endswith("…"), line
        chart = screen.query_one("#stage-bars", BarChart)
        drawn = "\n".join(chart.render_line(y).text for y in range(chart.size.height))
        for bar in chart.bars:
            assert (bar.short or bar.caption) in drawn, (bar, drawn)
