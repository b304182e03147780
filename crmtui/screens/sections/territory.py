"""The Territories workflow: a territory's summary as tables and charts, drill-down to reps and deals.

Enter on a sub-territory opens its summary; Enter on a rep opens their deals; Enter
on a deal opens its card; Escape goes back up. `p` / `P` switch the period, and
the period follows the user down and back up. The figures come from
`crmtui.reports.summary.territory_summary` (the same numbers as `crm territory
summary` and `crm forecast --explain`), read in thread workers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import a_day, short_day, stored_day
from crmtui.domain.money import card_money, compact_money, format_money, signed_compact
from crmtui.domain.periods import parse_period
from crmtui.reports.cache import report_cache
from crmtui.reports.deal_board import BoardDeal, StageWindow, board_window, scope_deals
from crmtui.reports.scope import Scope
from crmtui.reports.summary import ACTIVITY_KINDS, SummaryBlock, SummaryReport, territory_summary
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.daily_context import DailyApp, DailyContext
from crmtui.widgets.bar_chart import Bar, BarChart, bar_text, sparkline
from crmtui.widgets.footer import SteadyFooter
from crmtui.widgets.steady_table import SteadyDataTable

PERIODS = ("this-quarter", "next-quarter", "last-quarter", "this-month", "last-90d", "this-year")
REP_DEALS = 200


@dataclass
class PeriodChoice:
    """The period shared by every level of one drill-down."""

    index: int = 0
    restored: bool = False
    """Whether the period saved in the config was applied (or the user chose one)."""

    @property
    def label(self) -> str:
        """The period's words, e.g. this-quarter."""
        return PERIODS[self.index]

    def step(self, by: int) -> None:
        """Go to the next (or previous) period in the list."""
        self.index = (self.index + by) % len(PERIODS)


def money_line(amounts: dict[str, int]) -> str:
    """Per-currency amounts on one line."""
    return "; ".join(format_money(v, c) for c, v in amounts.items()) or "—"


def win_rate_text(block: SummaryBlock) -> Text:
    """Win rate with its bar, and the counts behind it."""
    rate = block.win_rate
    if rate is None:
        return Text("no deal closed in the period", style="dim")
    text = Text(f"{rate:.0%} ", style="bold")
    text.append_text(bar_text(rate, 1.0, 20, "green"))
    text.append(f"  {block.won_count} won / {block.lost_count} lost", style="dim")
    return text


def kpi_table(block: SummaryBlock) -> Table:
    """The scope's headline figures as a label/value grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for total in block.pipeline:
        # The weighted sum on a line of its own, its word in the label column: wrapped
        # after "weighted", its number and currency came apart at 80 columns.
        grid.add_row(
            f"Open {total.currency}",
            f"{total.count:,} deals · {format_money(total.amount_minor, total.currency)}",
        )
        grid.add_row(
            Text("  weighted", style="not bold"),
            format_money(total.weighted_minor, total.currency),
        )
    if not block.pipeline:
        grid.add_row("Open pipeline", Text("no open deals", style="dim"))
    grid.add_row("Won", money_line(block.won_minor))
    grid.add_row("Lost", money_line(block.lost_minor))
    grid.add_row("Win rate", win_rate_text(block))
    grid.add_row("Overdue reminders", f"{block.overdue_ticklers:,}")
    grid.add_row("Stale deals", f"{block.stale_deals:,}")
    grid.add_row("Coverage gaps", f"{block.coverage_gaps:,} accounts untouched 90 days")
    return grid


# A chart cell per week up to a quarter's 14; longer periods fold weeks into one cell,
# so the chart keeps its labels and totals in half a 80-column screen.
MAX_CELLS = 14


def fold_weeks(weeks: Sequence[date], counts: Sequence[int], today: date) -> list[int | None]:
    """Counts per chart cell (weeks folded to fit MAX_CELLS); None: the cell is still ahead."""
    step = max(1, -(-len(weeks) // MAX_CELLS))
    cells: list[int | None] = []
    for start in range(0, len(weeks), step):
        ahead = weeks[start] > today
        cells.append(None if ahead else sum(counts[start : start + step]))
    return cells


def spark_cells(cells: Sequence[int | None]) -> str:
    """A sparkline of the cells gone by; cells still ahead are left blank, not drawn as zero."""
    known = [c for c in cells if c is not None]
    return sparkline(known) + " " * (len(cells) - len(known))


def activity_table(report: SummaryReport, today: date) -> RenderableType:
    """Activities per kind: a sparkline over the period's weeks (until `today`) and the total."""
    weeks = report.weeks
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    totals = [0] * len(weeks)
    for kind in ACTIVITY_KINDS:
        counts = report.total.activities.get(kind, [0] * len(weeks))
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        cells = fold_weeks(weeks, counts, today)
        grid.add_row(kind, Text(spark_cells(cells), style="cyan"), f"{sum(counts):,}")
    cells = fold_weeks(weeks, totals, today)
    grid.add_row("all", Text(spark_cells(cells), style="bold cyan"), f"{sum(totals):,}")
    if not weeks:
        return grid
    step = max(1, -(-len(weeks) // MAX_CELLS))
    each = "weeks" if step == 1 else f"{step} weeks a mark"
    # Under the grid, not in its chart column: a caption wider than the chart would
    # widen that column and squeeze the labels and totals.
    caption = Text(f"{each} from {a_day(weeks[0])}", style="dim", overflow="ellipsis")
    caption.no_wrap = True
    return Group(grid, caption)


def stage_bars(columns: Sequence[StageWindow]) -> list[Bar]:
    """Open pipeline by stage: bars by deal count, amounts per currency after them."""
    bars = []
    for c in columns:
        if c.closed:
            continue
        amounts = ", ".join(compact_money(v, k) for k, v in c.amount_minor.items())
        short = " ".join(signed_compact(v, k) for k, v in c.amount_minor.items())
        bars.append(
            Bar(
                c.name,
                c.count,
                f"{c.count:,} · {amounts}" if amounts else "0",
                f"{c.count:,} · {short}" if short else "0",
            )
        )
    return bars


def block_row(block: SummaryBlock) -> list[Text]:
    """One sub-territory (marked ▸, bold) or rep as a table row."""
    pipeline = "; ".join(compact_money(t.amount_minor, t.currency) for t in block.pipeline)
    weighted = "; ".join(compact_money(t.weighted_minor, t.currency) for t in block.pipeline)
    rate = "—" if block.win_rate is None else f"{block.win_rate:.0%}"
    activities = sum(sum(v) for v in block.activities.values())
    if block.kind == "territory":
        name = Text(f"▸ {block.label}", style="bold", no_wrap=True, overflow="ellipsis")
    else:
        name = Text(f"  {block.label}", no_wrap=True, overflow="ellipsis")
    cells = [
        f"{block.open_count:,}",
        pipeline or "—",
        weighted or "—",
        f"{block.won_count}/{block.lost_count}",
        rate,
        f"{activities:,}",
        f"{block.overdue_ticklers:,}",
        f"{block.stale_deals:,}",
        f"{block.coverage_gaps:,}",
    ]
    # Figures are never cut: their columns are as wide as their widest cell (child_widths).
    return [name] + [Text(c, no_wrap=True) for c in cells]


def read_summary(
    db: sqlite3.Connection, daily: DailyContext, territory_id: str | None, period_label: str
) -> tuple[SummaryReport, list[StageWindow]]:
    """The figures the Territories screen shows for one territory (None: all) and period."""
    now, tz = daily.now(), daily.zone()
    period = parse_period(period_label, today=now.astimezone(tz).date())
    # The screen shows counts only: no list of stale deals or of untouched accounts.
    report = territory_summary(
        db,
        territory_id=territory_id,
        period=period,
        tz=tz,
        now=now,
        gap_limit=0,
        stale_list=False,
    )
    # The bars show counts and amounts only: no stale counts, no cards.
    stages = board_window(
        db, scope=Scope(territory_id), tz=tz, now=now, per_column=0, stale=False
    ).columns
    return report, stages


def summary_key(
    daily: DailyContext, territory_id: str | None, period_label: str
) -> tuple[object, ...]:
    """What a summary read depends on besides the data: territory, period and the day."""
    today = daily.now().astimezone(daily.zone()).date()
    return ("territory-summary", territory_id, period_label, today)


# (label, least width): the widths are set from the rows when they are shown
# (child_widths), so the table never re-measures its rows itself.
CHILD_COLUMNS = (
    ("Territory / rep", 16),
    ("Open", 5),
    ("Pipeline", 18),
    ("Weighted", 17),
    ("W/L", 6),
    ("Win", 4),
    ("Acts", 6),
    ("Overdue", 7),
    ("Stale", 5),
    ("Gaps", 5),
)


NAME_MOST = 30
"""The name column's width when the table has room to spare."""


def child_widths(rows: Sequence[Sequence[Text]], room: int) -> list[int]:
    """Column widths for the rows: each figure column as wide as its widest cell, the name
    column what is left, so the table's right edge falls between two columns.

    At 80 columns the figures do not all fit: those that do are shown whole and the
    rest are a scroll (→) away, never cut in the middle of a number ("11/" for 11/2).
    """
    widths = [
        max(least, len(label), *(rows_cells[i].cell_len for rows_cells in rows))
        for i, (label, least) in enumerate(CHILD_COLUMNS)
    ]
    name_least = CHILD_COLUMNS[0][1]
    name_full = min(widths[0], NAME_MOST)
    figures = [w + 2 for w in widths[1:]]  # a cell's padding: one column each side
    if name_least + 2 + sum(figures) <= room:
        widths[0] = max(name_least, min(name_full, room - sum(figures) - 2))
        return widths
    shown = 0
    while shown < len(figures) and name_least + 2 + sum(figures[: shown + 1]) <= room:
        shown += 1
    widths[0] = max(name_least, room - sum(figures[:shown]) - 2)
    return widths


class TerritoryScreen(Screen[None]):
    """One territory (None: all of them): its figures, charts, and its sub-territories and reps."""

    TITLE = "Territories"
    CSS_PATH = "territory.tcss"
    BINDINGS = [
        Binding("p", "period(1)", "Period", id="territory.period_next", tooltip="Next period"),
        Binding("P", "period(-1)", "Period back", show=False, id="territory.period_back"),
        Binding("escape", "up", "Up", id="territory.up", tooltip="Back up one level"),
        Binding("r", "reload", "Reload", show=False, id="territory.reload"),
    ]

    class SummaryLoaded(Message):
        """The summary and stage totals came back from the database."""

        def __init__(
            self, report: SummaryReport, stages: list[StageWindow], generation: int
        ) -> None:
            super().__init__()
            self.report = report
            self.stages = stages
            self.generation = generation

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        territory_id: str | None = None,
        name: str = "All territories",
        period: PeriodChoice | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self.territory_id = territory_id
        self.scope_name = name
        self.period = period or PeriodChoice()
        self.report: SummaryReport | None = None
        self._generation = 0
        self._shown_generation = 0
        self._shown_period = -1
        self._read_after_writes = -1
        """`daily.writes` when the figures on screen were asked for."""
        self._rows: list[SummaryBlock] = []

    @property
    def _app(self) -> DailyApp:
        return cast(DailyApp, self.app)

    def compose(self) -> ComposeResult:
        """Scope line, figures and charts side by side, then the drill-down table."""
        yield Header()
        yield Static("", id="scope-status")
        with Horizontal(id="top"):
            with Vertical(id="figures"):
                yield Static("Figures", classes="heading")
                yield Static(Text("Loading…", style="italic"), id="kpis")
            with Vertical(id="charts"):
                yield Static("Open pipeline by stage", classes="heading")
                yield BarChart(id="stage-bars", bar_style="magenta")
                yield Static("Activities per week", classes="heading")
                yield Static(id="activity-weeks")
        yield SteadyDataTable(id="children", cursor_type="row", zebra_stripes=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Columns to the table's width; keys go to the table."""
        table = self.children_table
        self._fill_table()
        table.focus()

    def on_resize(self) -> None:
        """The name column takes what the figures leave: size the columns again."""
        self.call_after_refresh(self._fill_table, keep=True)

    def _fill_table(self, *, keep: bool = False) -> None:
        """Columns sized to the rows and the width, then the rows (`keep`: only if the
        widths changed)."""
        table = self.children_table
        cells = [block_row(block) for block in self._rows]
        # Less the scrollbar's two columns (always shown: territory.tcss).
        widths = child_widths(cells, max(0, table.size.width - 2))
        if keep and widths == [c.width for c in table.columns.values()]:
            return
        row = table.cursor_row
        table.clear(columns=True)
        for (label, _), width in zip(CHILD_COLUMNS, widths, strict=True):
            table.add_column(Text(label, no_wrap=True, overflow="ellipsis"), width=width)
        for i, row_cells in enumerate(cells):
            table.add_row(*row_cells, key=str(i))
        if self._rows:
            table.move_cursor(row=min(row, len(self._rows) - 1))

    def on_screen_resume(self) -> None:
        """First shown, back from a level below where the period may have changed, or
        back after this app wrote something (a deal moved on the board): read again.

        Writes from other processes (a `crm` command in a shell) are not seen here;
        `r` reads again.
        """
        if (
            self._shown_period != self.period.index
            or self.report is None
            or self._read_after_writes != self._app.daily.writes
        ):
            self.reload()

    @property
    def children_table(self) -> DataTable[Text]:
        """The sub-territories and reps."""
        return self.query_one("#children", DataTable)

    @property
    def loading_summary(self) -> bool:
        """True while the figures on screen are not those asked for last."""
        return self._shown_generation != self._generation

    # ----------------------------------------------------------------- loading

    def reload(self) -> None:
        """Read the summary for the current period again."""
        self._generation += 1
        self._shown_period = self.period.index
        self._read_after_writes = self._app.daily.writes
        if self.report is None:
            self._show_kept()
        self.query_one("#scope-status", Static).update(self._status(loading=True))
        # After the screen is painted: at 1M contacts the read holds the GIL for
        # seconds, in slices, and the first paint would wait behind them.
        self.call_after_refresh(self.load_summary, self.period.label, self._generation)

    def _show_kept(self) -> None:
        """First shown: the figures read last time (the warm-up's), marked as updating.

        The figures are at most a few writes behind and are replaced when the read
        started now comes back; the screen is not blank for the second it takes."""
        cache = report_cache(self.app)
        if cache is None:
            return
        kept = cache.latest(summary_key(self._app.daily, self.territory_id, self.period.label))
        if kept is not None:
            report, stages = cast(tuple[SummaryReport, list[StageWindow]], kept)
            self._paint(report, stages)

    def _status(self, *, loading: bool = False) -> Text:
        text = Text(self.scope_name, style="bold")
        if self.report is not None and (
            not loading or self.report.period.label == self.period.label
        ):
            p = self.report.period
            last = p.end - timedelta(days=1)  # periods are half-open: show the last day
            text.append(f" · {p.label} ({a_day(p.start)} – {a_day(last)})")
            if loading:
                text.append(" · updating…", style="italic")
        else:
            text.append(f" · {self.period.label} · loading…", style="italic")
        text.append("  p: period · Enter: drill down · Escape: up", style="dim")
        return text

    @work(thread=True, exclusive=True, exit_on_error=False, group="territory-summary")
    def load_summary(self, period_label: str, generation: int) -> None:
        """Compute the summary and the stage totals off the UI thread (or take them from
        the app's report cache when nothing was committed since they were read)."""
        daily = self._app.daily
        if not self.period.restored:
            # The period last chosen (kept in the config), read here, off the UI thread.
            self.period.restored = True
            saved = daily.settings().territory_period
            if saved in PERIODS and saved != period_label:
                self.period.index = PERIODS.index(saved)
                period_label = saved
        territory_id = self.territory_id
        cache = report_cache(self.app)
        if cache is None:
            report, stages = read_summary(self._db, daily, territory_id, period_label)
        else:
            report, stages = cache.read(
                summary_key(daily, territory_id, period_label),
                self._db,
                lambda db: read_summary(db, daily, territory_id, period_label),
            )
        self.post_message(self.SummaryLoaded(report, stages, generation))

    @on(SummaryLoaded)
    def _show(self, event: SummaryLoaded) -> None:
        if event.generation != self._generation:
            return
        self._shown_generation = event.generation
        self._paint(event.report, event.stages)
        self.query_one("#scope-status", Static).update(self._status())

    def _paint(self, report: SummaryReport, stages: list[StageWindow]) -> None:
        """Show a summary's figures, charts and rows."""
        self.report = report
        self.query_one("#kpis", Static).update(kpi_table(report.total))
        self.query_one("#stage-bars", BarChart).show_bars(stage_bars(stages), empty="no open deals")
        daily = self._app.daily
        today = daily.now().astimezone(daily.zone()).date()
        self.query_one("#activity-weeks", Static).update(activity_table(report, today))
        self._rows = [*report.territories, *report.reps]
        self._fill_table()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Report a failed read on the screen."""
        if event.state is WorkerState.ERROR:
            self._shown_generation = self._generation
            self.query_one("#kpis", Static).update(Text(f"Summary failed: {event.worker.error}"))

    # ----------------------------------------------------------------- keys

    def action_period(self, step: int) -> None:
        """Switch to the next (or previous) period; it is kept for the next start."""
        self.period.step(step)
        self.period.restored = True  # the user's choice wins over the saved one
        self.reload()
        self._remember_period(self.period.label)

    @work(thread=True, exit_on_error=False, group="territory-remember")
    def _remember_period(self, label: str) -> None:
        self._app.daily.remember("territory_period", label)

    def action_reload(self) -> None:
        """Read the figures again."""
        self.reload()

    def action_up(self) -> None:
        """Back to the level above (nothing above the top level)."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer Up only below the top level."""
        if action == "up":
            return len(self.app.screen_stack) > 1
        return True

    @on(DataTable.RowSelected, "#children")
    def _drill(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is None:
            return
        block = self._rows[int(event.row_key.value)]
        self.drill(block)

    def drill(self, block: SummaryBlock) -> None:
        """Open a sub-territory's summary, or a rep's deals in this territory."""
        if block.kind == "territory":
            self.app.push_screen(
                TerritoryScreen(
                    self._db, territory_id=block.id, name=block.label, period=self.period
                )
            )
        elif block.id is not None:
            self.app.push_screen(
                RepDealsScreen(
                    self._db, Scope(self.territory_id, block.id, block.label), where=self.scope_name
                )
            )


class RepDealsScreen(Screen[None]):
    """A rep's open deals in a territory, biggest first; Enter opens one, Escape goes up."""

    TITLE = "Deals"
    CSS_PATH = "territory.tcss"
    BINDINGS = [Binding("escape", "app.pop_screen", "Up", id="rep_deals.up", tooltip="Back up")]

    class DealsLoaded(Message):
        """The rep's deals came back."""

        def __init__(self, count: int, deals: list[BoardDeal]) -> None:
            super().__init__()
            self.count = count
            self.deals = deals

    def __init__(self, db: sqlite3.Connection, scope: Scope, *, where: str) -> None:
        super().__init__()
        self._db = db
        self.scope = scope
        self.where = where
        self.deals: list[BoardDeal] = []

    def compose(self) -> ComposeResult:
        """Status line over the deal table."""
        yield Header()
        yield Static(Text(f"{self.scope.label} · {self.where} · loading…"), id="scope-status")
        yield SteadyDataTable(id="deals", cursor_type="row", zebra_stripes=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Columns, focus, load."""
        table = self.query_one("#deals", DataTable)
        table.add_columns("Deal", "Stage", "Amount", "Close", "Account", "Owner")
        table.focus()
        self.load_deals()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rep-deals")
    def load_deals(self) -> None:
        """Read the deals off the UI thread."""
        count, deals = scope_deals(self._db, self.scope, limit=REP_DEALS)
        self.post_message(self.DealsLoaded(count, deals))

    @on(DealsLoaded)
    def _show(self, event: DealsLoaded) -> None:
        self.deals = event.deals
        table = self.query_one("#deals", DataTable)
        table.clear()
        for deal in event.deals:
            table.add_row(
                Text(deal.name),
                deal.stage_name,
                Text(card_money(deal.amount_minor, deal.currency), justify="right"),
                stored_day(deal.expected_close, short_day),
                Text(deal.account_name or ""),
                Text(deal.owner_name or ""),
                key=deal.id,
            )
        shown = f"the biggest {len(event.deals)} of " if event.count > len(event.deals) else ""
        self.query_one("#scope-status", Static).update(
            Text(f"{self.scope.label} · {self.where} · {shown}{event.count:,} open deals")
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Report a failed read on the screen."""
        if event.state is WorkerState.ERROR:
            self.query_one("#scope-status", Static).update(
                Text(f"Cannot load the deals: {event.worker.error}")
            )

    @on(DataTable.RowSelected, "#deals")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            daily = cast(DailyApp, self.app).daily
            self.app.push_screen(
                DealCardScreen(self._db, event.row_key.value, now=daily.now, tz=daily.zone)
            )
