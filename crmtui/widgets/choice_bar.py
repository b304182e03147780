"""A one-line row of choices picked with the arrow keys (kind, outcome)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class ChoiceBar(Widget, can_focus=True):
    """Choices side by side; Left/Right move the choice, Enter is left to the owner."""

    DEFAULT_CSS = """
    ChoiceBar {
        height: auto;
        width: 1fr;
    }
    ChoiceBar:focus {
        background: $boost;
    }
    """

    BINDINGS = [
        Binding("left", "step(-1)", "Previous", show=False, id="choice.previous"),
        Binding("right", "step(1)", "Next", show=False, id="choice.next"),
    ]

    index: reactive[int] = reactive(0)

    class Changed(Message):
        """The choice moved to `value`."""

        def __init__(self, bar: ChoiceBar, value: str) -> None:
            super().__init__()
            self.bar = bar
            self.value = value

        @property
        def control(self) -> ChoiceBar:
            """The bar whose choice changed."""
            return self.bar

    def __init__(
        self,
        choices: Sequence[tuple[str, str]],
        *,
        value: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._choices: list[tuple[str, str]] = list(choices)
        self.set_reactive(ChoiceBar.index, self._index_of(value))

    def _index_of(self, value: str | None) -> int:
        values = [v for v, _ in self._choices]
        return values.index(value) if value in values else 0

    @property
    def value(self) -> str | None:
        """The chosen value (None when there are no choices)."""
        if not self._choices:
            return None
        return self._choices[self.index][0]

    def set_choices(self, choices: Sequence[tuple[str, str]], value: str | None = None) -> None:
        """Replace the choices, keeping `value` chosen when it is one of them."""
        self._choices = list(choices)
        self.index = self._index_of(value)
        self.refresh()

    def select(self, value: str) -> None:
        """Choose `value` (ignored when it is not a choice)."""
        self.index = self._index_of(value)

    def action_step(self, delta: int) -> None:
        """Move the choice left or right, wrapping around."""
        if self._choices:
            self.index = (self.index + delta) % len(self._choices)

    def watch_index(self) -> None:
        """Tell the owner which value is chosen now."""
        if self._choices:
            self.post_message(self.Changed(self, self._choices[self.index][0]))

    def render(self) -> Text:
        """Each choice; the chosen one highlighted."""
        if not self._choices:
            return Text("—", style="dim")
        # Wrapped here, between choices: Rich would also break inside "no answer".
        width = self.size.width or 80
        line = Text()
        column = 0
        for i, (_, label) in enumerate(self._choices):
            chunk = f" {label} "
            if column and column + 2 + len(chunk) > width:
                line.append("\n")
                column = 0
            elif column:
                line.append("  ")
                column += 2
            line.append(chunk, style="reverse bold" if i == self.index else "")
            column += len(chunk)
        if self.has_focus and column + 5 <= width:
            line.append("  ←/→", style="dim")
        return line

    def on_resize(self) -> None:
        """Wrap the choices again for the new width."""
        self.refresh(layout=True)

    def on_focus(self) -> None:
        """Show the arrow hint."""
        self.refresh()

    def on_blur(self) -> None:
        """Hide the arrow hint."""
        self.refresh()
