"""What the contact forms (new contact, edit) share: the save's messages and problems per field.

Each form names its fields in `FIELD_LABELS` (form order); a field `name` has its
widget `#f-name` and a problem line `#p-name` under it. The messages are defined
here once, so their handlers are `on_contact_form_saved` / `on_contact_form_invalid`
(Textual names a handler after the class that defines the message); the forms use
`@on(...)`, which does not depend on the name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import Static

from crmtui.screens.dialogs.prompts import FormResult, SavingForm


class ContactForm(SavingForm[FormResult]):
    """A contact form that saves in a worker and shows refusals under their fields."""

    FIELD_LABELS: ClassVar[dict[str, str]]
    """{field name: label}, in the order of the form."""
    problems: dict[str, str]

    class Saved(Message):
        """The save was written (or there was nothing to write)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class Invalid(Message):
        """The save refused the input: {field: reason}."""

        def __init__(self, problems: dict[str, str]) -> None:
            super().__init__()
            self.problems = problems

    def form_problems(self, problems: dict[str, str]) -> dict[str, str]:
        """The services' field names as this form's (a form may rename more)."""
        return {("tags" if k == "tag" else k): v for k, v in problems.items()}

    def show_problems(self, problems: dict[str, str], *, only: set[str] | None = None) -> None:
        """Each problem under its field (only the fields in `only`, when given); the rest cleared."""
        self.problems = problems
        for name in self.FIELD_LABELS:
            problem = problems.get(name) if only is None or name in only else None
            for line in self.query(f"#p-{name}").results(Static):
                line.set_class(problem is not None, "-shown")
                line.update(Text(problem or ""))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self.dismiss(event.result)

    @on(Invalid)
    def _invalid(self, event: Invalid) -> None:
        self.saving = False
        problems = self.form_problems(event.problems)
        self.show_problems(problems)
        named = [label for name, label in self.FIELD_LABELS.items() if name in problems]
        self._status(f"Not saved: check {', '.join(named) or 'the form'}.", error=True)
        first = next((name for name in self.FIELD_LABELS if name in problems), None)
        if first is not None:
            self.query_one(f"#f-{first}").focus()
