"""The `?` screen: the keys of the screen you are on, then the ones that work everywhere.

The list is read from the screen's active bindings when `?` is pressed, so it
shows what the keys do right there (a key switched off there is not listed) and
cannot drift from the code. Escape or `?` closes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

# Not listed: the key that opened this screen.
HELP_ACTIONS = frozenset({"help", "app.help"})


@dataclass(frozen=True)
class KeyRow:
    """One line of the help: the keys, what they do, and a longer word when there is one."""

    keys: str
    description: str
    tooltip: str = ""


@dataclass(frozen=True)
class KeyAction:
    """One thing a key does on a screen: its keys, its words, and where the action runs."""

    row: KeyRow
    action: str
    node: DOMNode
    is_global: bool


def key_actions(app: App[Any], bindings: Mapping[str, ActiveBinding]) -> list[KeyAction]:
    """Every described binding that applies, keys doing the same thing together.

    The `?` screen and the command palette both read this, so neither can drift
    from the bindings (nor from each other).
    """
    groups: dict[tuple[bool, str, str], list[str]] = {}
    nodes: dict[tuple[bool, str, str], DOMNode] = {}
    tips: dict[tuple[bool, str, str], str] = {}
    # crmtui's keys (they all have an id) first, the screen's before the focused
    # widget's; Textual's own (focus next, copy) last.
    ordered = sorted(
        bindings.values(),
        key=lambda a: (a.binding.id is None, not isinstance(a.node, Screen)),
    )
    for active in ordered:
        binding: Binding = active.binding
        if binding.action in HELP_ACTIONS or not binding.description:
            continue
        what = (active.node is app, binding.description, binding.action)
        key = binding.key_display or app.get_key_display(binding)
        if len(key) <= 3 and key[:1] == "f" and key[1:].isdigit():
            key = key.upper()  # F1, as printed on the keyboard
        if key not in groups.setdefault(what, []):
            groups[what].append(key)
        nodes.setdefault(what, active.node)
        if active.tooltip or binding.tooltip:
            tips.setdefault(what, active.tooltip or binding.tooltip)
    return [
        KeyAction(
            KeyRow(" / ".join(keys), what[1], tips.get(what, "")), what[2], nodes[what], what[0]
        )
        for what, keys in groups.items()
    ]


def key_rows(
    app: App[Any], bindings: Mapping[str, ActiveBinding]
) -> tuple[list[KeyRow], list[KeyRow]]:
    """The screen's keys and the global (app) keys; keys doing the same thing share a row."""
    actions = key_actions(app, bindings)
    return [a.row for a in actions if not a.is_global], [a.row for a in actions if a.is_global]


def rows_table(rows: list[KeyRow]) -> Table:
    """Keys in the first column, what they do after them."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    for row in rows:
        text = Text(row.description)
        if row.tooltip and row.tooltip != row.description:
            text.append(f" — {row.tooltip}", style="dim")
        grid.add_row(row.keys, text)
    return grid


class HelpScreen(ModalScreen[None]):
    """The keys of one screen and the global ones; Escape or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $border; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: auto; max-height: 1fr; }
    HelpScreen .help--title { text-style: bold; color: $text-accent; }
    HelpScreen #help-global-title { margin: 1 0 0 0; }
    HelpScreen .help--hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("question_mark", "close", "Close", show=False, id="help.close_again"),
    ]

    def __init__(self, title: str, screen_rows: list[KeyRow], global_rows: list[KeyRow]) -> None:
        super().__init__()
        self._title = title
        self.screen_rows = screen_rows
        self.global_rows = global_rows

    def compose(self) -> ComposeResult:
        """The screen's keys, then the global ones, in one scrolling list."""
        with Vertical():
            with VerticalScroll():
                yield Label(f"Keys on {self._title}", classes="help--title")
                yield Static(
                    rows_table(self.screen_rows)
                    if self.screen_rows
                    else Text("No keys of its own.", style="dim"),
                    id="help-screen-keys",
                )
                yield Label("Everywhere", classes="help--title", id="help-global-title")
                yield Static(rows_table(self.global_rows), id="help-global-keys")
            yield Static("Escape closes · Ctrl+P finds any action by name", classes="help--hint")

    def action_close(self) -> None:
        """Back to the screen."""
        self.dismiss(None)
