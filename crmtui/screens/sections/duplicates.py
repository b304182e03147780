"""The Duplicates section: probable duplicate pairs, side by side, merged with a few keys, undone.

The pairs are `crm dedupe scan`'s (`quality.dedupe.scan`), best first; the merge is
`crm merge`'s (`services.upkeep.merge.merge_contacts`, shown beforehand by the same
`plan_merge` through `quality.merge_preview`), and `u` is `crm merge --undo`.

Threading invariant: the scan, the pair reads and every write run in thread
workers (writes through the app's one writer, `DailyContext.write`); results come
back as messages and only their handlers touch widgets. A scan of 100k contacts
takes tens of seconds of pure Python: its worker runs it in a child process
(`quality.dedupe_job`), so the app keeps its speed, the screen counts the seconds
meanwhile, and a rescan or quitting just kills it.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from crmtui.quality.dedupe import DEFAULT_THRESHOLD, Candidate
from crmtui.screens.daily_context import DailyApp
from crmtui.screens.dialogs.prompts import PROMPT_CSS
from crmtui.screens.sections.pair_view import (
    FIELD_ROWS,
    LABEL_WIDTH,
    RULES,
    VALUE_WIDTH,
    merge_summary,
    row_cells,
    shown_value,
)
from crmtui.widgets.footer import SteadyFooter

if TYPE_CHECKING:
    from crmtui.quality.merge_preview import PairChoice, PairSide
    from crmtui.services.upkeep.undo import UndoStep
    from crmtui.store.journal import WriteTx

SHORT_SCREEN = 30
"""Rows below which the screen drops its blank lines (the comparison needs them)."""
MAX_SHOWN = 1000  # pairs in the list at once; more come up as these are merged or skipped
NAME_WIDTH = 24
EVIDENCE_WIDTH = 50  # the pair list fits 120 columns without scrolling sideways
Pair = tuple[str, str]


def pair_key(candidate: Candidate) -> Pair:
    """The ids of a pair, as the list's row key and the skip set hold them."""
    return candidate.a.id, candidate.b.id


def _fit(text: str, width: int, style: str = "") -> Text:
    cell = Text(text, style=style)
    cell.truncate(width, overflow="ellipsis")
    return cell


def _evidence(candidate: Candidate, new: bool) -> Text:
    """The evidence cell; a pair that came in by sync since the last review says "new" first."""
    cell = Text("new · ", style="bold yellow") if new else Text()
    cell.append("; ".join(candidate.evidence), style="dim")
    cell.truncate(EVIDENCE_WIDTH, overflow="ellipsis")
    return cell


def who(a: PairSide, b: PairSide) -> tuple[str, str]:
    """The two contacts' names as the screen says them; namesakes get their short ids."""
    if a.contact.name != b.contact.name:
        return a.contact.name, b.contact.name
    return f"{a.contact.name} ({a.contact.id[:8]})", f"{b.contact.name} ({b.contact.id[:8]})"


@dataclass
class DoneMerge:
    """A merge made on this screen, with what undoing it puts back in the list."""

    merge_id: str
    pair: Candidate
    merged_id: str
    survivor_name: str
    merged_name: str
    dropped: list[Candidate] = field(default_factory=list)
    """The other pairs of the merged-away contact, out of the list until the undo."""


class ConfirmMerge(ModalScreen[bool]):
    """Says what a merge will do; Enter or y merges, Escape or n does nothing."""

    DEFAULT_CSS = (
        PROMPT_CSS.format(name="ConfirmMerge") + "ConfirmMerge > Vertical { width: 84; }\n"
    )
    BINDINGS = [
        Binding("enter,y", "answer(True)", "Merge", id="confirm_merge.yes"),
        Binding("escape,n", "answer(False)", "Cancel", id="confirm_merge.no"),
    ]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self._title = title
        self._lines = lines

    def compose(self) -> ComposeResult:
        """The question, what will happen, and the keys."""
        with Vertical():
            yield Label(self._title, classes="prompt--title")
            yield Static(Text("\n".join(self._lines)), id="merge-summary")
            yield Static(
                "Enter/y to merge · Escape/n to cancel · afterwards u undoes it",
                classes="prompt--hint",
            )

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)


class DuplicatesScreen(Screen[None]):
    """Pairs that are probably one person: compare side by side, pick, merge, undo, skip.

    Pairs with a contact that arrived by sync since the last review come first,
    marked "new"; once a scan has shown them they count as reviewed (the
    watermark of `crm dedupe scan --new`, `store.arrivals`).
    """

    TITLE = "Duplicates"
    CSS_PATH = "duplicates.tcss"
    _pairs = Binding.Group("Pair", compact=True)
    _stays = Binding.Group("Stays", compact=True)
    BINDINGS = [
        Binding(
            "left_square_bracket",
            "step(-1)",
            "Previous pair",
            key_display="[",
            group=_pairs,
            id="dupes.previous",
            tooltip="The previous pair (up/down move in the list too)",
        ),
        Binding(
            "right_square_bracket",
            "step(1)",
            "Next pair",
            key_display="]",
            group=_pairs,
            id="dupes.next",
            tooltip="The next pair (up/down move in the list too)",
        ),
        Binding(
            "a",
            "survivor('A')",
            "A stays",
            group=_stays,
            id="dupes.keep_a",
            tooltip="A stays (keeps its id; B's history moves to it)",
        ),
        Binding(
            "b",
            "survivor('B')",
            "B stays",
            group=_stays,
            id="dupes.keep_b",
            tooltip="B stays (keeps its id; A's history moves to it)",
        ),
        Binding(
            "space",
            "toggle_field",
            "Other value",
            id="dupes.toggle",
            tooltip="Keep the other side's value of the highlighted field (Tab: to the fields)",
        ),
        Binding(
            "m",
            "merge",
            "Merge",
            id="dupes.merge",
            tooltip="Merge the pair (asks first; u undoes it)",
        ),
        Binding(
            "u",
            "undo",
            "Undo merge",
            id="dupes.undo",
            tooltip="Undo the last merge made here (both contacts come back exactly)",
        ),
        Binding(
            "n",
            "not_duplicate",
            "Not a duplicate",
            id="dupes.not_duplicate",
            tooltip="Different people: kept (and synced), the pair is never shown again",
        ),
        Binding(
            "s",
            "skip",
            "Skip",
            id="dupes.skip",
            tooltip="Decide later: hidden until the app is restarted",
        ),
        Binding("r", "rescan", "Rescan", id="dupes.rescan", tooltip="Scan every contact again"),
    ]

    class Scanning(Message):
        """The scan has read the contacts and is comparing them."""

        def __init__(self, generation: int, contacts: int) -> None:
            super().__init__()
            self.generation = generation
            self.contacts = contacts

    class Scanned(Message):
        """The scan is done: the pairs, best first."""

        def __init__(
            self,
            generation: int,
            found: list[Candidate],
            contacts: int,
            arrived: set[str] | None = None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.found = found
            self.contacts = contacts
            self.arrived = arrived
            """Contacts new by sync since the last review (None: all of them)."""

    class SidesLoaded(Message):
        """Both contacts of a pair came back (a side is None when it is gone)."""

        def __init__(self, pair: Pair, a: PairSide | None, b: PairSide | None) -> None:
            super().__init__()
            self.pair = pair
            self.a = a
            self.b = b

    class Merged(Message):
        """A merge is committed."""

        def __init__(self, done: DoneMerge) -> None:
            super().__init__()
            self.done = done

    class Undone(Message):
        """An undo is committed (or `error` says why it could not be)."""

        def __init__(self, done: DoneMerge, error: str | None = None) -> None:
            super().__init__()
            self.done = done
            self.error = error

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        show_timings: bool = True,
    ) -> None:
        super().__init__()
        self._db = db
        self._show_timings = show_timings
        self.threshold = threshold
        self.candidates: list[Candidate] = []
        self.new_pairs: set[Pair] = set()
        self.skipped: set[Pair] = set()
        self.choices: dict[Pair, PairChoice] = {}
        self.sides: dict[str, PairSide] = {}
        self.merges: list[DoneMerge] = []
        self.scanning = False
        self.busy = False
        self.contacts = 0
        self._generation = 0
        self._scan_started = 0.0
        self._scan_seconds = 0.0
        self._ticker: Timer | None = None
        self._shown_pair: Pair | None = None

    @property
    def _app(self) -> DailyApp:
        return cast(DailyApp, self.app)

    def compose(self) -> ComposeResult:
        """Status, the pairs, the pair's title, the side-by-side fields, the keys."""
        yield Header()
        yield Static("", id="dupes-status")
        pairs: DataTable[Text] = DataTable(id="dupes-pairs", cursor_type="row", zebra_stripes=True)
        pairs.add_column("score", width=5, key="score")
        pairs.add_column("A", width=NAME_WIDTH, key="a")
        pairs.add_column("B", width=NAME_WIDTH, key="b")
        pairs.add_column("evidence", width=EVIDENCE_WIDTH, key="evidence")
        yield pairs
        yield Static("", id="dupes-title")
        yield DataTable(id="dupes-fields", cursor_type="row")
        yield SteadyFooter()

    @property
    def pair_table(self) -> DataTable[Text]:
        """The list of pairs."""
        return self.query_one("#dupes-pairs", DataTable)

    @property
    def field_table(self) -> DataTable[Text]:
        """The side-by-side view of the highlighted pair."""
        return self.query_one("#dupes-fields", DataTable)

    def on_resize(self, event: events.Resize) -> None:
        """Under 30 rows the blank lines between the parts go, for the comparison's sake."""
        self.set_class(event.size.height < SHORT_SCREEN, "-short")

    def on_mount(self) -> None:
        """Keys go to the pair list; scan."""
        self.pair_table.focus()
        self.action_rescan()

    def on_screen_resume(self) -> None:
        """Back from another section: contacts may have changed there, read the pair again."""
        self.sides.clear()
        self._shown_pair = None
        self._show_current()

    # ----------------------------------------------------------------- scanning

    def action_rescan(self) -> None:
        """Scan every contact again (the pairs skipped this session stay hidden)."""
        if self.scanning or self.busy:
            return
        self.scanning = True
        self._generation += 1
        self._scan_started = time.monotonic()
        self.contacts = 0
        self.candidates = []
        self.sides.clear()
        self._fill_pairs()
        self._tick()
        self._ticker = self.set_interval(0.5, self._tick)
        self.refresh_bindings()
        self._scan(self._generation, self.threshold)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dupes-scan")
    def _scan(self, generation: int, threshold: int) -> None:
        from crmtui.quality.dedupe_job import scan_in_child
        from crmtui.store.arrivals import arrivals, take_reviewed

        worker = get_current_worker()
        read: list[int] = [0]

        def contacts(count: int) -> None:
            read[0] = count
            self.post_message(self.Scanning(generation, count))

        arrived = arrivals(self._db)  # read first: what arrives during the scan waits
        found = scan_in_child(
            self._app.daily.db_path,
            threshold=threshold,
            on_contacts=contacts,
            cancelled=lambda: worker.is_cancelled,
        )
        if found is not None:
            from crmtui.services.upkeep.duplicate_decisions import not_duplicate_pairs, pair_ids

            # Pairs someone said are different people (here, or on a synced laptop).
            decided = not_duplicate_pairs(self._db)
            found = [c for c in found if pair_ids(c.a.id, c.b.id) not in decided]
            self.post_message(self.Scanned(generation, found, read[0], arrived))
            if arrived is None or arrived:
                self._app.daily.write(lambda tx: take_reviewed(tx.db, arrived))

    @on(Scanning)
    def _scanning(self, event: Scanning) -> None:
        if event.generation == self._generation:
            self.contacts = event.contacts
            self._tick()

    def _tick(self) -> None:
        """Say how long the scan has been going, so a long one is seen to be alive."""
        if not self.scanning:
            return
        seconds = int(time.monotonic() - self._scan_started)
        if self.contacts:
            words = f"Scanning {self.contacts:,} contacts for duplicates… {seconds}s"
        else:
            words = f"Reading the contacts… {seconds}s"
        self._status(
            Text(
                f"{words} (score ≥ {self.threshold}; other sections work meanwhile)",
                style="italic",
            )
        )

    @on(Scanned)
    def _scanned(self, event: Scanned) -> None:
        if event.generation != self._generation:
            return
        self._stop_scanning()
        self._scan_seconds = time.monotonic() - self._scan_started
        self.contacts = event.contacts
        arrived = event.arrived
        self.new_pairs = {
            pair_key(c)
            for c in event.found
            if arrived is None or c.a.id in arrived or c.b.id in arrived
        } if arrived != set() else set()  # fmt: skip
        kept = [c for c in event.found if pair_key(c) not in self.skipped]
        # New by sync first (each part still best first: the sort is stable).
        self.candidates = sorted(kept, key=lambda c: pair_key(c) not in self.new_pairs)
        self._fill_pairs()
        self._show_status()

    def _stop_scanning(self) -> None:
        self.scanning = False
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.refresh_bindings()

    # ----------------------------------------------------------------- showing

    def _status(self, text: Text) -> None:
        self.query_one("#dupes-status", Static).update(text)

    def _show_status(self) -> None:
        if not self.candidates:
            text = Text(
                f"No probable duplicates (score ≥ {self.threshold}) among "
                f"{self.contacts:,} contacts",
                style="bold",
            )
        else:
            count = len(self.candidates)
            text = Text(f"{count:,} probable duplicate pair{'' if count == 1 else 's'}", "bold")
            text.append(f" (score ≥ {self.threshold}) among {self.contacts:,} contacts")
            fresh = sum(pair_key(c) in self.new_pairs for c in self.candidates)
            if fresh:
                text.append(f" · {fresh:,} new since the last sync (listed first)", "bold yellow")
            if count > MAX_SHOWN:
                text.append(f" · best {MAX_SHOWN:,} listed")
        notes = [f"scanned in {self._scan_seconds:.0f}s"] if self._show_timings else []
        if self.skipped:
            notes.append(f"{len(self.skipped)} skipped")
        if self.merges:
            notes.append(f"{len(self.merges)} merged")
        if notes:
            text.append(" · " + " · ".join(notes), style="dim")
        self._status(text)

    def _fill_pairs(self, index: int | None = None) -> None:
        """Put the best pairs in the list, the cursor at `index` (or where it was)."""
        table = self.pair_table
        row = table.cursor_row if index is None else index
        table.clear()
        for c in self.candidates[:MAX_SHOWN]:
            table.add_row(
                Text(f"{c.score:.0f}", justify="right"),
                _fit(c.a.name, NAME_WIDTH),
                _fit(c.b.name, NAME_WIDTH),
                _evidence(c, pair_key(c) in self.new_pairs),
                key="|".join(pair_key(c)),
            )
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))
        self._shown_pair = None
        self._show_current()
        self.refresh_bindings()

    def current(self) -> Candidate | None:
        """The pair under the list's cursor."""
        row = self.pair_table.cursor_row
        if self.pair_table.row_count and 0 <= row < min(len(self.candidates), MAX_SHOWN):
            return self.candidates[row]
        return None

    def current_sides(self) -> tuple[PairSide, PairSide] | None:
        """Both contacts of the current pair, once read."""
        pair = self.current()
        if pair is None:
            return None
        a, b = self.sides.get(pair.a.id), self.sides.get(pair.b.id)
        return None if a is None or b is None else (a, b)

    def choice(self, pair: Candidate) -> PairChoice:
        """What the user chose for a pair so far (A stays, no picks, at first)."""
        from crmtui.quality.merge_preview import PairChoice

        return self.choices.get(pair_key(pair), PairChoice())

    @on(DataTable.RowHighlighted, "#dupes-pairs")
    def _pair_moved(self, _event: DataTable.RowHighlighted) -> None:
        self._show_current()

    @on(DataTable.RowSelected, "#dupes-pairs")
    def _pair_chosen(self, _event: DataTable.RowSelected) -> None:
        self.field_table.focus()

    @on(DataTable.RowSelected, "#dupes-fields")
    def _field_chosen(self, _event: DataTable.RowSelected) -> None:
        self.action_toggle_field()

    def _show_current(self) -> None:
        """Show the current pair side by side, reading it first if needed."""
        pair = self.current()
        title = self.query_one("#dupes-title", Static)
        fields = self.field_table
        fields.display = pair is not None
        if pair is None:
            self._shown_pair = None
            if self.scanning:
                title.update("")
            elif self.skipped:
                title.update(
                    Text(
                        f"No probable duplicates left (score ≥ {self.threshold}); "
                        f"{len(self.skipped)} skipped this session. r scans again.",
                        style="dim",
                    )
                )
            else:
                title.update(
                    Text(
                        f"No probable duplicates (score ≥ {self.threshold}). "
                        "r scans again after contacts change.",
                        style="dim",
                    )
                )
            return
        sides = self.current_sides()
        if sides is None:
            title.update(Text(f"Reading {pair.a.name} and {pair.b.name}…", style="italic"))
            self._load_sides(pair_key(pair))
            return
        self._render_pair(pair, *sides)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dupes-pair")
    def _load_sides(self, pair: Pair) -> None:
        from crmtui.quality.merge_preview import read_side

        a, b = read_side(self._db, pair[0]), read_side(self._db, pair[1])
        self.post_message(self.SidesLoaded(pair, a, b))

    @on(SidesLoaded)
    def _sides_loaded(self, event: SidesLoaded) -> None:
        if event.a is None or event.b is None:
            gone = [i for i, side in zip(event.pair, (event.a, event.b), strict=True) if not side]
            self.candidates = [c for c in self.candidates if not {c.a.id, c.b.id} & set(gone)]
            self.notify(
                "A contact of this pair no longer exists (merged or deleted elsewhere); "
                "its pairs are gone from the list.",
                title="Duplicates",
            )
            self._fill_pairs()
            self._show_status()
            return
        self.sides[event.a.contact.id] = event.a
        self.sides[event.b.contact.id] = event.b
        current = self.current()
        if current is not None and pair_key(current) == event.pair:
            self._show_current()

    def _render_pair(self, pair: Candidate, a: PairSide, b: PairSide) -> None:
        from crmtui.quality.merge_preview import preview_merge

        choice = self.choice(pair)
        preview = preview_merge(a, b, choice)
        index = self.pair_table.cursor_row + 1
        stays, goes = who(a, b) if choice.survivor == "A" else who(b, a)
        # Two lines that never wrap: who stays first, then why they look alike.
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f"Pair {index:,} of {len(self.candidates):,} · score {pair.score:.0f} · ")
        title.append(f"{choice.survivor} stays", style="bold green")
        title.append(f": {stays} · ")
        title.append(f"{choice.other()} is merged into it", style="bold red")
        title.append(f": {goes}\n")
        title.append("; ".join(pair.evidence), style="dim")
        self.query_one("#dupes-title", Static).update(title)
        table = self.field_table
        row = table.cursor_row if self._shown_pair == pair_key(pair) else 0
        table.clear(columns=True)
        table.add_column("", width=LABEL_WIDTH, key="label")
        for column in ("A", "B"):
            role = "stays" if column == choice.survivor else "merged in"
            table.add_column(f"{column} · {role}", width=VALUE_WIDTH, key=column)
        table.add_column("after the merge", width=VALUE_WIDTH + 3, key="after")
        for field_row in FIELD_ROWS:
            table.add_row(*row_cells(field_row, a, b, preview), key=field_row.key)
        table.move_cursor(row=row)
        self._shown_pair = pair_key(pair)

    # ----------------------------------------------------------------- choosing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that cannot act now stay in the footer, dimmed (None), rather than vanish."""
        if action == "step":
            return True if self.current() is not None else None
        if action in ("survivor", "toggle_field", "merge"):
            ready = self.current_sides() is not None and not self.busy and not self.scanning
            return True if ready else None
        if action in ("skip", "not_duplicate"):
            return True if self.current() is not None and not self.busy else None
        if action == "undo":
            return True if self.merges and not self.busy and not self.scanning else None
        if action == "rescan":
            return True if not self.scanning and not self.busy else None
        return True

    def action_step(self, step: int) -> None:
        """The next or previous pair."""
        table = self.pair_table
        if table.row_count:
            table.move_cursor(row=min(max(table.cursor_row + step, 0), table.row_count - 1))

    def action_survivor(self, column: str) -> None:
        """Which contact stays: its id remains and the other's history moves to it."""
        pair = self.current()
        if pair is None or self.current_sides() is None:
            return
        choice = self.choice(pair)
        from crmtui.quality.merge_preview import PairChoice

        self.choices[pair_key(pair)] = PairChoice(column, choice.picks)
        self._show_current()

    def action_toggle_field(self) -> None:
        """Keep the other side's value of the highlighted field (where both have one)."""
        from crmtui.quality.merge_preview import choosable, preview_merge

        pair, sides = self.current(), self.current_sides()
        if pair is None or sides is None:
            return
        a, b = sides
        row = FIELD_ROWS[min(self.field_table.cursor_row, len(FIELD_ROWS) - 1)]
        if row.field is None:
            self.notify(RULES[row.key], title=row.label)
            return
        if not choosable(a, b, row.field):
            one = (
                "Both sides agree"
                if shown_value(a, row.key) == shown_value(b, row.key)
                else ("Only one side has a value")
            )
            self.notify(f"{one}: nothing to choose; it is kept.", title=row.label)
            return
        choice = self.choice(pair)
        source = preview_merge(a, b, choice).sources[row.field]
        self.choices[pair_key(pair)] = choice.pick(row.field, "B" if source == "A" else "A")
        self._show_current()

    def action_skip(self) -> None:
        """Decide later: hide the pair for the rest of this session."""
        pair = self.current()
        if pair is None or self.busy:
            return
        self.skipped.add(pair_key(pair))
        self._drop(pair)
        self.notify(f"{pair.a.name} / {pair.b.name}: skipped (this session)", timeout=3)

    def _drop(self, pair: Candidate) -> None:
        self.candidates.remove(pair)
        self._fill_pairs()
        self._show_status()

    def action_not_duplicate(self) -> None:
        """Different people: keep the decision (journaled, synced); ctrl+z takes it back."""
        pair = self.current()
        if pair is None or self.busy:
            return
        self._drop(pair)
        self._decide(pair)

    @work(thread=True, exit_on_error=False, group="dupes-decide")
    def _decide(self, pair: Candidate) -> None:
        from crmtui.services.upkeep.duplicate_decisions import mark_not_duplicate

        def action(tx: WriteTx) -> None:
            mark_not_duplicate(tx=tx, contact_id=pair.a.id, other_id=pair.b.id)

        label = f"Not a duplicate: {pair.a.name} / {pair.b.name}"
        self._app.daily.write_undoable(label, action)
        self.app.call_from_thread(
            self.notify, f"{pair.a.name} / {pair.b.name}: not a duplicate (kept)", timeout=3
        )

    # ----------------------------------------------------------------- merging

    def action_merge(self) -> None:
        """Ask, then merge the pair as shown."""
        from crmtui.quality.merge_preview import preview_merge

        pair, sides = self.current(), self.current_sides()
        if pair is None or sides is None or self.busy or self.scanning:
            return
        a, b = sides
        choice = self.choice(pair)
        lines = merge_summary(a, b, choice, preview_merge(a, b, choice))

        def answered(yes: bool | None) -> None:
            if yes and not self.busy:
                self.busy = True
                self.refresh_bindings()
                self._merge(pair, choice, *who(a, b))

        self.app.push_screen(ConfirmMerge("Merge these two contacts?", lines), answered)

    @work(thread=True, exit_on_error=False, group="dupes-merge")
    def _merge(self, pair: Candidate, choice: PairChoice, a_label: str, b_label: str) -> None:
        survivor_id, merged_id = choice.ids(pair.a.id, pair.b.id)
        fields = choice.merge_fields()

        names = (a_label, b_label) if choice.survivor == "A" else (b_label, a_label)

        def action(tx: WriteTx) -> tuple[str, UndoStep]:
            from crmtui.services.upkeep.undo import record_merge

            merged, step = record_merge(
                tx,
                f"Merge {names[1]} into {names[0]}",
                survivor_id=survivor_id,
                merged_id=merged_id,
                fields=fields,
            )
            return merged.id, step

        merge_id = self._app.daily.write_recorded(action)
        self.post_message(self.Merged(DoneMerge(merge_id, pair, merged_id, *names)))

    @on(Merged)
    def _merged(self, event: Merged) -> None:
        done = event.done
        self.busy = False
        index = self.pair_table.cursor_row
        done.dropped = [
            c for c in self.candidates if c is not done.pair and done.merged_id in (c.a.id, c.b.id)
        ]
        gone = {id(c) for c in done.dropped} | {id(done.pair)}
        self.candidates = [c for c in self.candidates if id(c) not in gone]
        self.sides.pop(done.pair.a.id, None)
        self.sides.pop(done.pair.b.id, None)
        self.merges.append(done)
        self._fill_pairs(index)
        self._show_status()
        self.notify(
            f"{done.merged_name} merged into {done.survivor_name} (merge {done.merge_id[:8]}). "
            f"Undo: u here, or crm merge --undo {done.merge_id}",
            title="Merged",
            timeout=10,
        )

    def action_undo(self) -> None:
        """Undo the last merge made on this screen: both contacts and their history come back."""
        if not self.merges or self.busy or self.scanning:
            return
        self.busy = True
        self.refresh_bindings()
        self._undo(self.merges[-1])

    @work(thread=True, exit_on_error=False, group="dupes-undo")
    def _undo(self, done: DoneMerge) -> None:
        from crmtui.domain.validate import InvalidInput
        from crmtui.services.upkeep.merge import MergeError, undo_merge

        def action(tx: WriteTx) -> None:
            undo_merge(tx=tx, merge_id=done.merge_id)

        daily = self._app.daily
        # Through the recent actions when it is there, so Ctrl+Z does not offer it again.
        step = next((s for s in daily.recent if s.merge_id == done.merge_id), None)
        try:
            if step is not None:
                daily.undo(step)
            else:
                daily.write(action)
        except InvalidInput as exc:
            self.post_message(self.Undone(done, exc.message))
        except MergeError as exc:
            self.post_message(self.Undone(done, str(exc)))
        else:
            self.post_message(self.Undone(done))

    @on(Undone)
    def _undone(self, event: Undone) -> None:
        done = event.done
        self.busy = False
        self.merges.remove(done)
        if event.error is not None:
            self.notify(f"{event.error}; r scans again.", title="Not undone", severity="error")
            self.refresh_bindings()
            return
        self.sides.pop(done.pair.a.id, None)
        self.sides.pop(done.pair.b.id, None)
        back = [done.pair, *done.dropped]
        self.candidates = sorted(
            [*self.candidates, *back], key=lambda c: (-c.score, c.a.id, c.b.id)
        )
        self._fill_pairs(self.candidates.index(done.pair))
        self._show_status()
        self.notify(
            f"Merge {done.merge_id[:8]} undone: {done.survivor_name} and "
            f"{done.merged_name} are back as they were.",
            title="Undone",
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed scan, read or write is said plainly, and the keys come back."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        group = event.worker.group
        if group == "dupes-scan":
            self._stop_scanning()
            self._status(Text(f"Scan failed: {error}", style="bold red"))
            return
        if group in ("dupes-merge", "dupes-undo"):
            self.busy = False
            self.notify(
                f"{error}. Nothing was written; r scans again.",
                title="Could not merge" if group == "dupes-merge" else "Could not undo",
                severity="error",
            )
        else:
            self.notify(str(error), title="Duplicates: that did not work", severity="error")
        self.refresh_bindings()
