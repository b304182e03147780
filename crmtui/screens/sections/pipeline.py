"""The Pipeline workflow: a kanban board of one pipeline's stages; move, win, lose, open deals.

Threading invariant: reads run in thread workers on the app's read-only
connection, writes in thread workers through the app's one writer
(`DailyContext.write`, which imports the services lazily); results come back as
messages and only handlers touch widgets. With 100k deals the board never loads
every card: each column's totals come from SQL and it shows the top cards only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import short_day, stored_day
from crmtui.domain.money import card_money, compact_money, signed_compact
from crmtui.domain.periods import parse_period
from crmtui.reports.cache import report_cache
from crmtui.reports.deal_board import BoardDeal, BoardWindow, StageWindow, board_window
from crmtui.reports.scope import Scope
from crmtui.screens.cards.deal_card import DealCardScreen
from crmtui.screens.daily_context import DailyApp, DailyContext
from crmtui.store.data_version import data_version
from crmtui.widgets.footer import SteadyFooter
from crmtui.widgets.kanban import KanbanBoard, KanbanCard, KanbanLane
from crmtui.widgets.text_fields import FieldInput

CARDS_PER_COLUMN = 25
CLOSED_PERIOD = "this-quarter"  # which won and lost deals the closed columns show
EVERYONE = "*"


def lane_summary(column: StageWindow) -> tuple[str, ...]:
    """A column's header lines: count (stale), then the sum and weighted sum per currency."""
    head = f"{column.count:,} deal{'' if column.count == 1 else 's'}"
    if column.stale:
        # Short, so it fits a narrow column: "98 · 65 stale".
        head = f"{column.count:,} · {column.stale:,} stale"
    lines = [head]
    for currency, amount in column.amount_minor.items():
        # "€889k w181k": both figures fit a 12-cell column (80 columns, six stages);
        # "889k EUR w181k" lost its weighted sum there ("w1…").
        line = signed_compact(amount, currency)
        if not column.closed:
            line += f" w{compact_money(column.weighted_minor[currency], currency).split()[0]}"
        lines.append(line)
    return tuple(lines)


def to_card(deal: BoardDeal) -> KanbanCard:
    """A deal as the board shows it: name; amount; close date, account and owner."""
    when = stored_day(deal.expected_close, short_day) if deal.status == "open" else ""
    note = " · ".join(x for x in (when, deal.account_name, deal.owner_name) if x)
    if deal.stale:
        note = f"stale · {note}" if note else "stale"
    return KanbanCard(
        deal.id, deal.name, card_money(deal.amount_minor, deal.currency), note, flagged=deal.stale
    )


def to_lanes(window: BoardWindow) -> list[KanbanLane]:
    """Every column as a lane."""
    lanes = []
    for column in window.columns:
        lanes.append(
            KanbanLane(
                column.stage_id,
                column.name,
                lane_summary(column),
                tuple(to_card(d) for d in column.deals),
                more=column.more,
                muted=column.closed,
                note=f"none closed {CLOSED_PERIOD.replace('-', ' ')}" if column.closed else "",
                tail="" if column.closed else f"{column.probability}%",
            )
        )
    return lanes


def closed_hint(column: StageWindow, deal_id: str) -> str:
    """What to do with a won or lost deal: reopen it from its card (or the shell)."""
    status = next((d.status for d in column.deals if d.id == deal_id), "") or "closed"
    return (
        f"This deal is {status}. Enter opens its card, where o reopens it"
        f" (or: crm deal reopen {deal_id})."
    )


def read_board(
    db: sqlite3.Connection, daily: DailyContext, board_filter: BoardFilter, pin: str | None = None
) -> BoardWindow:
    """The board as the Pipeline screen shows it: the top cards and every column's totals."""
    now, tz = daily.now(), daily.zone()
    closed_in = parse_period(CLOSED_PERIOD, today=now.astimezone(tz).date())
    return board_window(
        db,
        scope=board_filter.scope(),
        tz=tz,
        now=now,
        per_column=CARDS_PER_COLUMN,
        order=board_filter.order,
        closed_in=closed_in,
        pin=pin,
    )


def board_key(daily: DailyContext, board_filter: BoardFilter) -> tuple[object, ...]:
    """What a board read depends on besides the data: the filter and the day."""
    return ("pipeline-board", board_filter, daily.now().astimezone(daily.zone()).date())


@dataclass(frozen=True)
class BoardFilter:
    """Whose deals the board shows."""

    owner_id: str | None = None
    owner_name: str | None = None
    territory_id: str | None = None
    territory_name: str | None = None
    order: str = "amount"

    def scope(self) -> Scope:
        """The store's scope for this filter."""
        return Scope(self.territory_id, self.owner_id, self.describe())

    def describe(self) -> str:
        """The filter in words."""
        parts = []
        if self.territory_name:
            parts.append(f"territory {self.territory_name}")
        if self.owner_name:
            parts.append(f"owner {self.owner_name}")
        return ", ".join(parts) or "all deals"


class PickPrompt(ModalScreen[tuple[str, str] | None]):
    """Choose one of a list (a rep, a territory); Escape leaves things as they are."""

    DEFAULT_CSS = """
    PickPrompt { align: center middle; background: $background 60%; }
    PickPrompt > Vertical {
        width: 60; height: auto; max-height: 80%; padding: 1 2;
        border: round $border; background: $surface;
    }
    PickPrompt Label { text-style: bold; margin: 0 0 1 0; }
    PickPrompt OptionList { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._choices = choices

    def compose(self) -> ComposeResult:
        """The title and the choices."""
        with Vertical():
            yield Label(self._title)
            yield OptionList(*(Option(Text(label), id=key) for key, label in self._choices))

    def on_mount(self) -> None:
        """Keys go to the list."""
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id or EVERYONE
        self.dismiss((key, str(event.option.prompt)))

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)


class ReasonPrompt(ModalScreen[str | None]):
    """Asks why (a lost deal's reason) or for a confirmation; an empty reason is refused."""

    DEFAULT_CSS = """
    ReasonPrompt { align: center middle; background: $background 60%; }
    ReasonPrompt > Vertical {
        width: 64; height: auto; padding: 1 2; border: round $border; background: $surface;
    }
    ReasonPrompt .prompt--title { text-style: bold; margin: 0 0 1 0; }
    ReasonPrompt .prompt--hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="reason.cancel"),
        # A binding, not a key handler: the handled key is used up here. A `key_enter`
        # left it to bubble on after the prompt closed, and the board's own Enter
        # then opened the deal just won.
        Binding("enter", "confirm", "Confirm", id="reason.confirm"),
    ]

    def __init__(self, title: str, *, ask_reason: bool) -> None:
        super().__init__()
        self._title = title
        self._ask_reason = ask_reason

    def compose(self) -> ComposeResult:
        """Title, the reason box (when asked), and what the keys do."""
        with Vertical():
            yield Label(self._title, classes="prompt--title")
            if self._ask_reason:
                yield FieldInput(
                    placeholder="why was it lost? (price, competitor, timing …)", id="reason"
                )
                yield Static("Enter to save · Escape to cancel", classes="prompt--hint", id="hint")
            else:
                yield Static("Enter to confirm · Escape to cancel", classes="prompt--hint")

    def on_mount(self) -> None:
        """Cursor in the box."""
        if self._ask_reason:
            self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#hint", Static).update("Say why, or Escape to cancel")
            return
        self.dismiss(event.value.strip())

    def action_confirm(self) -> None:
        """Confirm (when there is no reason box to submit)."""
        if not self._ask_reason:
            self.dismiss("")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter confirms only without a reason box (the box's own Enter saves)."""
        return not (action == "confirm" and self._ask_reason)

    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)


class PipelineScreen(Screen[None]):
    """The board; `[` `]` move the highlighted deal, w/x win or lose it, Enter opens it."""

    TITLE = "Pipeline"
    CSS_PATH = "pipeline.tcss"
    BINDINGS = [
        Binding(
            "left_square_bracket", "move(-1)", "Stage back", key_display="[", id="pipeline.back"
        ),
        Binding("right_square_bracket", "move(1)", "Stage on", key_display="]", id="pipeline.on"),
        Binding("shift+left", "move(-1)", "Stage back", show=False, id="pipeline.back_arrow"),
        Binding("shift+right", "move(1)", "Stage on", show=False, id="pipeline.on_arrow"),
        Binding("w", "close('won')", "Won", id="pipeline.won", tooltip="Mark the deal won"),
        Binding("x", "close('lost')", "Lost", id="pipeline.lost", tooltip="Mark the deal lost"),
        Binding("o", "pick_owner", "Owner", id="pipeline.owner", tooltip="Only one rep's deals"),
        Binding(
            "t", "pick_territory", "Territory", id="pipeline.territory", tooltip="Only a territory"
        ),
        Binding("s", "toggle_order", "Sort", id="pipeline.sort", tooltip="By amount or close date"),
        Binding("r", "reload", "Reload", show=False, id="pipeline.reload"),
        Binding(
            "n", "new_deal", "New deal", show=False, id="pipeline.new_deal", tooltip="Open a deal"
        ),
    ]

    class BoardLoaded(Message):
        """The board came back from the database."""

        def __init__(self, window: BoardWindow, generation: int, pin: str | None) -> None:
            super().__init__()
            self.window = window
            self.generation = generation
            self.pin = pin

    class DealMoved(Message):
        """A deal changed stage (or was won or lost) and the change is committed."""

        def __init__(self, deal_id: str, stage_id: str, status: str, summary: str) -> None:
            super().__init__()
            self.deal_id = deal_id
            self.stage_id = stage_id
            self.status = status
            self.summary = summary

    class ChoicesLoaded(Message):
        """Reps or territories to choose from came back."""

        def __init__(self, kind: str, choices: list[tuple[str, str]]) -> None:
            super().__init__()
            self.kind = kind
            self.choices = choices

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._db = db
        self.filter = BoardFilter()
        self.window: BoardWindow | None = None
        self._generation = 0
        self._shown_generation = 0

    @property
    def _app(self) -> DailyApp:
        return cast(DailyApp, self.app)

    def compose(self) -> ComposeResult:
        """Filter line, the board, the footer."""
        yield Header()
        yield Static("Loading the board…", id="board-status")
        yield KanbanBoard(id="board")
        yield SteadyFooter()

    def on_mount(self) -> None:
        """Keys go to the board; load it."""
        self.board.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        """Back from a deal card or another section: the deals may have changed."""
        if self.window is not None:
            self.reload()

    @property
    def board(self) -> KanbanBoard:
        """The kanban widget."""
        return self.query_one("#board", KanbanBoard)

    @property
    def loading_board(self) -> bool:
        """True while the board on screen is not the latest one asked for."""
        return self._shown_generation != self._generation

    # ----------------------------------------------------------------- loading

    def reload(self, pin: str | None = None) -> None:
        """Read the board again; `pin` keeps a deal in sight (the one just moved)."""
        self._generation += 1
        self.query_one("#board-status", Static).update(
            Text(f"Loading the board · {self.filter.describe()}…", style="italic")
        )
        self.load_board(self.filter, self._generation, pin)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pipeline-board")
    def load_board(self, board_filter: BoardFilter, generation: int, pin: str | None) -> None:
        """Read the columns' totals and top cards off the UI thread (or take them from the
        app's report cache when nothing was committed since they were read)."""
        daily = self._app.daily
        cache = report_cache(self.app)
        if cache is None:
            window = read_board(self._db, daily, board_filter, pin)
        elif pin is not None:
            version = data_version(self._db)
            window = read_board(self._db, daily, board_filter, pin)
            # The pinned deal was among the top cards anyway (no column holds an extra
            # card for it): this is the unpinned board too, kept for the next visit.
            if all(len(c.deals) <= CARDS_PER_COLUMN for c in window.columns):
                cache.put(board_key(daily, board_filter), version, window)
        else:
            window = cache.read(
                board_key(daily, board_filter),
                self._db,
                lambda db: read_board(db, daily, board_filter),
            )
        # Handlers change the window's columns in place (a move shows at once): the
        # kept one stays as read.
        window = replace(window, columns=[replace(c, deals=list(c.deals)) for c in window.columns])
        self.post_message(self.BoardLoaded(window, generation, pin))

    @on(BoardLoaded)
    def _show_board(self, event: BoardLoaded) -> None:
        if event.generation != self._generation:
            return  # a newer board is on its way
        self._shown_generation = event.generation
        self.window = event.window
        self.board.show_lanes(to_lanes(event.window), focus_card=event.pin)
        open_count = sum(c.count for c in event.window.columns if not c.closed)
        stale = sum(c.stale for c in event.window.columns)
        status = Text(f"{event.window.pipeline_name}", style="bold")
        status.append(f" · {self.filter.describe()} · {open_count:,} open")
        if stale:
            status.append(f" · {stale:,} stale", style="bold yellow")
        order = "amount" if self.filter.order == "amount" else "close date"
        status.append(f" · top {CARDS_PER_COLUMN} by {order}", style="dim")
        self.query_one("#board-status", Static).update(status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed read or write on this screen is reported."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(str(error), title="Could not do that", severity="error")
            if event.worker.group == "pipeline-board":
                self._shown_generation = self._generation
                self.query_one("#board-status", Static).update(Text(f"Board failed: {error}"))

    # ----------------------------------------------------------------- moves

    def _column_of(self, card_id: str) -> int | None:
        if self.window is None:
            return None
        for i, column in enumerate(self.window.columns):
            if any(d.id == card_id for d in column.deals):
                return i
        return None

    def action_move(self, step: int) -> None:
        """Move the highlighted deal one open stage back or on."""
        card = self.board.highlighted
        if card is None or self.window is None or self.loading_board:
            return
        index = self._column_of(card.id)
        if index is None:
            return
        columns = self.window.columns
        if columns[index].closed:
            self.notify(closed_hint(columns[index], card.id))
            return
        target = index + step
        if not 0 <= target < len(columns) or columns[target].closed:
            where = "first" if step < 0 else "last open"
            hint = "" if step < 0 else " — w marks it won, x lost"
            self.notify(f"Already in the {where} stage{hint}.")
            return
        self.write_move(card.id, columns[target].stage_id, columns[target].name, title=card.title)

    @work(thread=True, exit_on_error=False, group="pipeline-write")
    def write_move(
        self,
        deal_id: str,
        stage_id: str,
        stage_name: str,
        reason: str | None = None,
        *,
        title: str = "deal",
    ) -> None:
        """Move (or win, or lose) the deal through the services, in one transaction."""
        daily = self._app.daily
        rep_name = daily.settings().rep_name

        def action(tx: object) -> tuple[str, str, str]:
            from crmtui.services.sales.deals import lose_deal, move_deal, win_deal
            from crmtui.services.territories import me_rep_id
            from crmtui.store.journal import WriteTx

            assert isinstance(tx, WriteTx)
            by = me_rep_id(tx, rep_name)
            if stage_id == "won":
                deal = win_deal(tx=tx, deal_id=deal_id, by=by)
                return deal.stage_id, deal.status, f"{deal.name} won"
            if stage_id == "lost":
                deal = lose_deal(tx=tx, deal_id=deal_id, reason=reason or "", by=by)
                return deal.stage_id, deal.status, f"{deal.name} lost: {reason}"
            deal = move_deal(tx=tx, deal_id=deal_id, stage=stage_id, by=by)
            return deal.stage_id, deal.status, f"{deal.name} → {stage_name}"

        # What the recent-actions list shows: the deal and where it went.
        label = (
            f"{title} → {stage_name}" if stage_id not in ("won", "lost") else f"{title} {stage_id}"
        )
        new_stage, status, summary = daily.write_undoable(label, action)
        self.post_message(self.DealMoved(deal_id, new_stage, status, summary))

    @on(DealMoved)
    def _moved(self, event: DealMoved) -> None:
        self.notify(event.summary, title="Saved")
        self._show_move(event)
        self.reload(pin=event.deal_id)

    def _show_move(self, event: DealMoved) -> None:
        """Put the card in its new column at once; the sums follow with the reload."""
        window = self.window
        if window is None:
            return
        source = next(
            (c for c in window.columns if any(d.id == event.deal_id for d in c.deals)), None
        )
        target = next((c for c in window.columns if c.stage_id == event.stage_id), None)
        if source is None or target is None or source is target:
            return
        deal = next(d for d in source.deals if d.id == event.deal_id)
        source.deals = [d for d in source.deals if d.id != event.deal_id]
        source.count -= 1
        # Just moved: its stage clock restarted, so it is not stale any more.
        target.deals = [replace(deal, status=event.status, stale=False), *target.deals]
        target.count += 1
        self.board.show_lanes(to_lanes(window), focus_card=event.deal_id)

    def action_close(self, outcome: str) -> None:
        """Mark the highlighted deal won, or lost with a reason."""
        card = self.board.highlighted
        if card is None or self.window is None or self.loading_board:
            return
        index = self._column_of(card.id)
        if index is not None and self.window.columns[index].closed:
            self.notify(closed_hint(self.window.columns[index], card.id))
            return
        if index is None:
            return

        def answered(reason: str | None) -> None:
            if reason is not None:
                self.write_move(card.id, outcome, outcome, reason or None, title=card.title)

        title = f"Mark “{card.title}” {outcome}"
        self.app.push_screen(ReasonPrompt(title, ask_reason=outcome == "lost"), answered)

    # ----------------------------------------------------------------- filters

    def action_toggle_order(self) -> None:
        """Top cards by amount, or by expected close date."""
        order = "close" if self.filter.order == "amount" else "amount"
        self.filter = BoardFilter(**{**self.filter.__dict__, "order": order})
        self.reload()

    def action_new_deal(self) -> None:
        """The new-deal form (crmtui/screens/cards/card_forms.py); the new deal is then shown pinned."""
        from crmtui.screens.cards.card_forms import open_new_deal

        open_new_deal(self, lambda deal_id: self.reload(pin=deal_id))

    def action_reload(self) -> None:
        """Read the board again."""
        self.reload()

    def action_pick_owner(self) -> None:
        """Show only one rep's deals (or everyone's)."""
        self.load_choices("owner")

    def action_pick_territory(self) -> None:
        """Show only one territory's deals, its subtree included (or all)."""
        self.load_choices("territory")

    @work(thread=True, exclusive=True, exit_on_error=False, group="pipeline-choices")
    def load_choices(self, kind: str) -> None:
        """Read the reps or the territory tree off the UI thread."""
        if kind == "owner":
            rows = self._db.execute(
                "SELECT id, name FROM rep WHERE deleted_at IS NULL ORDER BY name"
            ).fetchall()
            choices = [(EVERYONE, "Everyone")] + [(r[0], r[1]) for r in rows]
        else:
            rows = self._db.execute(
                "SELECT id, name, parent_id FROM territory WHERE deleted_at IS NULL ORDER BY name"
            ).fetchall()
            children: dict[str | None, list[tuple[str, str]]] = {}
            for tid, name, parent in rows:
                children.setdefault(parent, []).append((tid, name))
            choices = [(EVERYONE, "All territories")]

            def walk(parent: str | None, depth: int) -> None:
                for tid, name in children.get(parent, []):
                    choices.append((tid, "  " * depth + name))
                    walk(tid, depth + 1)

            walk(None, 0)
        self.post_message(self.ChoicesLoaded(kind, choices))

    @on(ChoicesLoaded)
    def _ask(self, event: ChoicesLoaded) -> None:
        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            key, label = choice
            name = None if key == EVERYONE else label.strip()
            value = None if key == EVERYONE else key
            current = self.filter.__dict__
            if event.kind == "owner":
                self.filter = BoardFilter(**{**current, "owner_id": value, "owner_name": name})
            else:
                self.filter = BoardFilter(
                    **{**current, "territory_id": value, "territory_name": name}
                )
            self.reload()

        title = "Show the deals of" if event.kind == "owner" else "Show the deals in"
        self.app.push_screen(PickPrompt(title, event.choices), chosen)

    # ----------------------------------------------------------------- opening

    @on(KanbanBoard.CardChosen, "#board")
    def _open(self, event: KanbanBoard.CardChosen) -> None:
        self.open_deal(event.card_id)

    def open_deal(self, deal_id: str) -> None:
        """Show a deal's card on top of the board."""
        daily = self._app.daily
        self.app.push_screen(DealCardScreen(self._db, deal_id, now=daily.now, tz=daily.zone))
