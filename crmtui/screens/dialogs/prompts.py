"""Small modal prompts of the daily loop: a moment in plain words, and a consent override."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from crmtui.domain.date_style import in_full
from crmtui.widgets.text_fields import FieldInput

PROMPT_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > Vertical {{
    width: 64;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    padding: 1 2;
    border: round $border;
    background: $surface;
}}
{name} .prompt--title {{
    text-style: bold;
    margin: 0 0 1 0;
}}
{name} .prompt--hint {{
    color: $text-muted;
}}
{name} .prompt--error {{
    color: $text-error;
}}
"""


class WhenPrompt(ModalScreen[datetime | None]):
    """Asks for a moment in plain words ("2h", "tomorrow 9am"); shows what it reads."""

    DEFAULT_CSS = PROMPT_CSS.format(name="WhenPrompt")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        read: Callable[[str], datetime],
        *,
        default: str = "",
        hint: str = 'Plain words: "2h", "tomorrow 9am", "next fri", "3d", "2026-04-01 14:00"',
    ) -> None:
        super().__init__()
        self._title = title
        self._read = read
        self._default = default
        self._hint = hint

    def compose(self) -> ComposeResult:
        """Title, the words, and what they mean."""
        with Vertical():
            yield Label(self._title, classes="prompt--title")
            yield FieldInput(value=self._default, placeholder="when?", id="when")
            yield Static("", id="reading", classes="prompt--hint")
            yield Static(self._hint, classes="prompt--hint")

    def on_mount(self) -> None:
        """Cursor in the box, with the default read back."""
        self.query_one("#when", Input).focus()
        self._show_reading(self._default)

    def _parse(self, text: str) -> tuple[datetime | None, str]:
        if not text.strip():
            return None, ""
        try:
            return self._read(text), ""
        except ValueError as exc:  # BadWhen is a ValueError
            return None, str(exc)

    def _show_reading(self, text: str) -> None:
        moment, error = self._parse(text)
        reading = self.query_one("#reading", Static)
        reading.set_class(bool(error), "prompt--error")
        if moment is not None:
            reading.update(Text(f"→ {in_full(moment)}"))
        else:
            reading.update(Text(error))

    @on(Input.Changed, "#when")
    def _changed(self, event: Input.Changed) -> None:
        self._show_reading(event.value)

    @on(Input.Submitted, "#when")
    def _submitted(self, event: Input.Submitted) -> None:
        moment, error = self._parse(event.value)
        if moment is None:
            self._show_reading(event.value)
            if not error:
                self.query_one("#reading", Static).update(Text("Type when, or Escape to cancel"))
            return
        self.dismiss(moment)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class SafeConfirm(ModalScreen[bool]):
    """A risky yes/no: Esc, Enter and the focused button say no; only `y` (or a click) says yes."""

    DEFAULT_CSS = (
        PROMPT_CSS.format(name="SafeConfirm")
        + """
    SafeConfirm Horizontal {
        height: auto;
        margin: 1 0 0 0;
    }
    SafeConfirm Button {
        margin: 0 2 0 0;
    }
    """
    )
    YES = "Yes"
    NO = "No"

    def question(self) -> str:
        """The question, shown in the error colour."""
        raise NotImplementedError

    def details(self) -> Text:
        """Why it is asked."""
        raise NotImplementedError

    def hint(self) -> str:
        """What each answer leads to."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        """The question, why, and the two ways out (the safe one focused)."""
        with Vertical():
            yield Label(self.question(), classes="prompt--title prompt--error")
            yield Static(self.details(), id="reasons")
            yield Static(self.hint(), classes="prompt--hint")
            with Horizontal():
                yield Button(f"{self.YES} (y)", variant="error", id="yes")
                yield Button(f"{self.NO} (Esc)", variant="primary", id="no")

    def on_mount(self) -> None:
        """The safe answer has the focus, so Enter, Enter never says yes."""
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)


class ConfirmOverride(SafeConfirm):
    """Consent said no: show why, and offer to log anyway as a recorded override."""

    BINDINGS = [
        Binding("escape", "answer(False)", "Don't log", id="override.cancel"),
        Binding("y", "answer(True)", "Log anyway", id="override.confirm"),
    ]
    YES = "Log anyway"
    NO = "Don't log"

    def __init__(self, reasons: list[str]) -> None:
        super().__init__()
        self._reasons = reasons

    def question(self) -> str:
        """The question."""
        return "Consent rules say no"

    def details(self) -> Text:
        """The reasons."""
        return Text("\n".join(f"• {r}" for r in self._reasons))

    def hint(self) -> str:
        """When to override."""
        return (
            "Log it anyway only if the person asked for this contact; "
            "the override is recorded on the activity."
        )


FormResult = TypeVar("FormResult")


class SavingForm(ModalScreen[FormResult]):
    """A modal form that saves in a worker: one status line, and failures said there.

    Enter in a field and a `#save` button save, a `#cancel` button cancels; a save
    runs once at a time (`saving`) and Escape does nothing while one is under way.
    A form starts its worker in `save_values`, or overrides `action_save` when it
    checks more before saving.
    """

    STATUS_ID: ClassVar[str]
    """The id of the form's status Static."""
    WHAT: ClassVar[str]
    """What the form does, for the failure notification ("Quick log failed: ...")."""
    saving: bool

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        """Save in a worker (once at a time)."""
        if self.saving:
            return
        self.saving = True
        self._status("Saving…")
        self.save_values()

    def save_values(self) -> None:
        """Start the form's save worker with what the form holds."""
        raise NotImplementedError(f"{type(self).__name__} saves through its own action_save")

    def action_cancel(self) -> None:
        """Escape: close, writing nothing (not while a save is under way)."""
        if not self.saving:
            self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker is said in the form and as a notification."""
        if event.state is WorkerState.ERROR:
            self.saving = False
            self._status(f"Failed: {event.worker.error}", error=True)
            self.notify(f"{self.WHAT} failed: {event.worker.error}", severity="error")

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one(f"#{self.STATUS_ID}", Static)
        status.set_class(error, "-error")
        status.update(Text(text))
