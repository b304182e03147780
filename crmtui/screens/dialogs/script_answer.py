"""The call script's answer prompt: a choice by its number (or arrows and Enter), or typed text."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.domain.call_scripts import AnswerError, Question
from crmtui.screens.dialogs.prompts import PROMPT_CSS
from crmtui.widgets.text_fields import FieldInput


class ScriptAnswerPrompt(ModalScreen[str | None]):
    """Asks one question of a call script; dismisses with the answer as the script spells it."""

    DEFAULT_CSS = (
        PROMPT_CSS.format(name="ScriptAnswerPrompt")
        + """
    ScriptAnswerPrompt OptionList { height: auto; max-height: 12; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="script.answer.cancel")]

    def __init__(self, question: Question, *, title: str = "") -> None:
        super().__init__()
        self.question = question
        self._title = title

    def compose(self) -> ComposeResult:
        """The question, then its choices or a text box."""
        with Vertical():
            if self._title:
                yield Label(self._title, classes="prompt--hint")
            yield Label(Text(self.question.text), classes="prompt--title")
            if self.question.answers:
                yield OptionList(
                    *(
                        Option(Text(f"{n}  {a}"), id=str(n))
                        for n, a in enumerate(self.question.answers, 1)
                    ),
                    id="choices",
                )
                hint = f"1-{len(self.question.answers)} or arrows and Enter · Esc cancels"
            else:
                yield FieldInput(placeholder="the answer", id="answer")
                hint = "Enter keeps the answer · Esc cancels"
            yield Static("", id="problem", classes="prompt--error")
            yield Static(hint, classes="prompt--hint")

    def on_mount(self) -> None:
        """Focus the choices or the text box."""
        if self.question.answers:
            choices = self.query_one("#choices", OptionList)
            choices.highlighted = 0
            choices.focus()
        else:
            self.query_one("#answer", Input).focus()

    def on_key(self, event: Key) -> None:
        """A digit picks that choice at once."""
        if self.question.answers and event.character and event.character.isdigit():
            number = int(event.character)
            if 1 <= number <= len(self.question.answers):
                event.stop()
                self.dismiss(self.question.answers[number - 1])

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.question.answers[event.option_index])

    @on(Input.Submitted, "#answer")
    def _typed(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(self.question.match(event.value))
        except AnswerError as exc:
            self.query_one("#problem", Static).update(Text(str(exc)))

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)
