"""One small form for every everyday write from a card: account, deal, reminder, activity, lead.

Each form is a list of one-line fields (a label, the text, and a line under it that
shows what a date or an amount reads as, or the problem with it) and a `save`
function. `save` runs in a thread worker with the app's `DailyContext`: it reads the
texts, calls a service inside `write_undoable` (one transaction, journaled, on the
recent-actions list) and returns what to say. A refusal (`InvalidInput`) is shown
under the field it names, nothing written. The box is at most the screen's width
and height, so it fits at 80x24.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.prompts import SavingForm
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.screens.daily_context import DailyContext

DIALOG_CSS = """
{screen} {{
    align: center middle;
    background: $background 60%;
}}
{screen} > {box} {{
    width: 76;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    padding: 0 1;
    border: round $border;
    background: $surface;
}}
"""
"""A centred box at most 76 cells wide and never larger than the screen (80x24 included)."""

HINT = "Enter or ctrl+s saves · Esc cancels · Tab moves"


class FieldProblem(ValueError):
    """A field's text cannot be read; `name` is the form field, the text says why."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class FormField:
    """One line of a form: its name, label, starting text, and how to preview it."""

    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    preview: Callable[[str], str] | None = None
    """What the text reads as ("→ Tue 10 Mar 2026 09:00"); raises ValueError when unreadable.
    Runs on the UI thread, so it must not touch the database."""
    aliases: tuple[str, ...] = field(default_factory=tuple)
    """The services' names for this field (InvalidInput.field), when they differ."""
    required: bool = False
    """Blank is refused (with every other bad field, before the save runs)."""


def field_problems(fields: Sequence[FormField], values: dict[str, str]) -> dict[str, str]:
    """{field name: why} for every field that cannot be read: blank where required, or
    a text its preview refuses. The save is not run while there is one, so a form names
    every bad field at once, as the contact forms do."""
    problems: dict[str, str] = {}
    for f in fields:
        text = values.get(f.name, "")
        if not text.strip():
            if f.required:
                problems[f.name] = f"{f.label}: required"
            continue
        if f.preview is None:
            continue
        try:
            f.preview(text)
        except ValueError as exc:
            problems[f.name] = str(exc)
    return problems


@dataclass(frozen=True)
class Saved:
    """What a save did: the message to show, and the record it made or changed."""

    summary: str
    record_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


SaveFn = Callable[["DailyContext", dict[str, str]], Saved]


class RecordForm(UsesDaily, SavingForm[Saved | None]):
    """A titled list of fields saved by one service call; Escape writes nothing."""

    STATUS_ID = "form-status"
    WHAT = "Save"
    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="record_form.cancel", tooltip="Close, saving nothing"
        ),
        Binding("ctrl+s", "save", "Save", id="record_form.save", tooltip="Save"),
    ]
    DEFAULT_CSS = (
        DIALOG_CSS.format(screen="RecordForm", box="#form")
        + """
    RecordForm #form-title {
        text-style: bold;
        width: 1fr;
        margin: 0 0 1 0;
    }
    RecordForm #form-about {
        color: $text-muted;
        margin: 0 0 1 0;
    }
    RecordForm #fields {
        height: auto;
        max-height: 50vh;
    }
    RecordForm .row {
        height: 1;
    }
    RecordForm .row > Label {
        width: 12;
        color: $text-muted;
    }
    RecordForm .row > Input {
        width: 1fr;
    }
    RecordForm .reading {
        margin: 0 0 0 12;
        color: $text-muted;
        height: auto;
    }
    RecordForm .reading.-error {
        color: $text-error;
    }
    RecordForm #buttons {
        height: 1;
        margin: 1 0 0 0;
    }
    RecordForm #buttons > Button {
        margin: 0 2 0 0;
    }
    RecordForm #form-status {
        color: $text-muted;
    }
    RecordForm #form-status.-error {
        color: $text-error;
    }
    """
    )

    class Done(Message):
        """The save finished."""

        def __init__(self, result: Saved) -> None:
            super().__init__()
            self.result = result

    class Refused(Message):
        """The save refused the input: the form field (or "") and why."""

        def __init__(self, name: str, message: str) -> None:
            super().__init__()
            self.name = name
            self.message = message

    class Invalid(Message):
        """Fields that cannot be read, checked before the save: {field: why}."""

        def __init__(self, problems: dict[str, str]) -> None:
            super().__init__()
            self.problems = problems

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        save: SaveFn,
        *,
        about: str = "",
        button: str = "Save",
    ) -> None:
        super().__init__()
        self.form_title = title
        self.fields = tuple(fields)
        self._save = save
        self.about = about
        self.button = button
        self.saving = False

    def compose(self) -> ComposeResult:
        """Title, what it is about, the fields with their readings, the buttons, the status."""
        with Vertical(id="form"):
            yield Label(Text(self.form_title, overflow="ellipsis", no_wrap=True), id="form-title")
            if self.about:
                yield Static(Text(self.about), id="form-about")
            with VerticalScroll(id="fields"):
                for f in self.fields:
                    with Horizontal(classes="row"):
                        yield Label(f.label)
                        # No select-on-focus: a key typed ahead of the form's first
                        # focus must not replace a prefilled value (seen under load).
                        yield FieldInput(
                            f.value,
                            placeholder=f.placeholder,
                            id=f"f-{f.name}",
                            compact=True,
                            select_on_focus=False,
                        )
                    yield Static("", id=f"r-{f.name}", classes="reading")
            with Horizontal(id="buttons"):
                yield Button(f"{self.button} (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)
            yield Static(HINT, id="form-status")

    def on_mount(self) -> None:
        """Cursor in the first field; every preview read once."""
        for f in self.fields:
            self._show_reading(f, f.value)
        if self.fields:
            self.query_one(f"#f-{self.fields[0].name}", Input).focus()

    def values(self) -> dict[str, str]:
        """The form's texts by field name."""
        return {f.name: self.query_one(f"#f-{f.name}", Input).value for f in self.fields}

    def _show_reading(self, f: FormField, text: str, problem: str = "") -> None:
        reading = self.query_one(f"#r-{f.name}", Static)
        shown = ""
        if problem:
            shown = problem
        elif f.preview is not None and text.strip():
            try:
                shown = f.preview(text)
            except ValueError as exc:
                problem = shown = str(exc)
        reading.set_class(bool(problem), "-error")
        reading.update(Text(shown))
        reading.display = bool(shown)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("f-")
        for f in self.fields:
            if f.name == name:
                self._show_reading(f, event.value)

    def save_values(self) -> None:
        """Save the fields' texts in a worker."""
        self.save(self.values())

    @work(thread=True, exclusive=True, exit_on_error=False, group="record-form-save")
    def save(self, values: dict[str, str]) -> None:
        """Run the form's save; a refusal goes back to the form, naming the field."""
        from crmtui.domain.validate import InvalidInput
        from crmtui.store.resolve import NotFound

        problems = field_problems(self.fields, values)
        if problems:
            self.post_message(self.Invalid(problems))
            return
        try:
            result = self._save(self.daily, values)
        except FieldProblem as exc:
            self.post_message(self.Refused(exc.name, str(exc)))
            return
        except InvalidInput as exc:
            self.post_message(
                self.Refused(self._field_of(exc.field), f"{exc.field}: {exc.message}")
            )
            return
        except NotFound as exc:
            self.post_message(self.Refused("", str(exc)))
            return
        self.post_message(self.Done(result))

    def _field_of(self, service_name: str) -> str:
        for f in self.fields:
            if service_name == f.name or service_name in f.aliases:
                return f.name
        return ""

    @on(Done)
    def _done(self, event: Done) -> None:
        self.dismiss(event.result)

    @on(Invalid)
    def _invalid(self, event: Invalid) -> None:
        self.saving = False
        values = self.values()
        named: list[str] = []
        for f in self.fields:
            problem = event.problems.get(f.name, "")
            # A field put right since the last try shows its reading again.
            self._show_reading(f, values[f.name], problem)
            if problem:
                if not named:
                    self.query_one(f"#f-{f.name}", Input).focus()
                named.append(f.label)
        self._status(f"Not saved: check {', '.join(named)}.", error=True)

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        self.saving = False
        for f in self.fields:
            if f.name == event.name:
                self._show_reading(f, "", event.message)
                self.query_one(f"#f-{f.name}", Input).focus()
                label = f.label
                break
        else:
            label = ""
        self._status(
            f"Not saved: {event.message}" if not label else f"Not saved: check {label}.", error=True
        )
