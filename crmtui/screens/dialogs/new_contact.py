"""New contact: a form that shows probable duplicates while it is filled in, offline.

As the name, email or phones are typed, a debounced worker checks the form with
the service's own rules (`services.address_book.contacts.contact_problems`, shown under each
field) and looks for stored contacts it may duplicate (`quality.dedupe.duplicates_of`:
index lookups only, milliseconds on a million contacts). Enter saves through the
app's writer; when a probable duplicate is found (the CLI's threshold, where
`crm contact add` wants `--allow-duplicate`) it asks first, and only `y` saves
anyway. Enter on a listed contact opens that one instead; Escape writes nothing.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.contact_form import ContactForm
from crmtui.screens.dialogs.prompts import SafeConfirm
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.services.address_book.contacts import ContactCreate
    from crmtui.store.journal import WriteTx

# (field, label, placeholder), in the order of the form and of ContactCreate.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", 'Full name, e.g. "Anna Müller" (required)'),
    ("company", "Company", "An existing account is reused; a new name creates one"),
    ("email", "Email", "name@example.com"),
    ("phone", "Phone", "As you would dial it; +country for abroad"),
    ("mobile", "Mobile", "Mobile number"),
    ("title", "Title", "Job title"),
    ("city", "City", ""),
    ("country", "Country", "ISO code, e.g. DE"),
    ("tags", "Tags", "Words separated by spaces or commas"),
)
LOOKUP_FIELDS = frozenset({"name", "email", "phone", "mobile"})
"""What a probable duplicate is looked up by; any field is checked for problems."""
DEBOUNCE_SECONDS = 0.25
SHOW_THRESHOLD = 50
"""Listed from this score: a namesake (a name alone scores up to 60) is worth seeing."""
SHOWN = 5
HINT = "Enter saves · Esc cancels · Tab or ↑↓ move"


@dataclass(frozen=True)
class Duplicate:
    """A stored contact the new one may duplicate: who, the score, and why."""

    id: str
    name: str
    company: str | None
    city: str | None
    score: float
    evidence: tuple[str, ...]
    strong: bool
    """At the CLI's threshold: saving needs a deliberate confirmation."""


@dataclass(frozen=True)
class NewContactResult:
    """What the form ended with: the contact saved, or an existing one to open instead."""

    contact_id: str
    name: str
    existing: bool = False


def split_tags(text: str) -> list[str]:
    """Tags as typed ("vip, trial partner") into words; the service checks each one."""
    return [t for t in re.split(r"[,\s]+", text) if t]


def form_data(values: dict[str, str]) -> ContactCreate:
    """The service's input from the form's texts (blank means not given)."""
    from crmtui.services.address_book.contacts import ContactCreate

    given: dict[str, Any] = {
        k: v.strip() or None for k, v in values.items() if k not in {"tags", "name"}
    }
    return ContactCreate(
        name=values.get("name", ""), tags=split_tags(values.get("tags", "")), **given
    )


def find_duplicates(
    db: sqlite3.Connection, values: dict[str, str], *, region: str
) -> list[Duplicate]:
    """Stored contacts the typed values probably duplicate, best first (a read; from a worker)."""
    from crmtui.quality.dedupe import DEFAULT_THRESHOLD, duplicates_of, typed_person

    person = typed_person(
        values.get("name", ""),
        values.get("email"),
        (values.get("phone"), values.get("mobile")),
        region=region,
    )
    if not person.name.strip() and not person.email and not person.phones:
        return []
    found = duplicates_of(db, person, threshold=SHOW_THRESHOLD)[:SHOWN]
    accounts = {b.account_id for b in (c.b for c in found) if b.account_id}
    names: dict[str, str] = {}
    if accounts:
        marks = ",".join("?" * len(accounts))
        names = dict(
            db.execute(f"SELECT id, name FROM account WHERE id IN ({marks})", sorted(accounts))
        )
    return [
        Duplicate(
            id=c.b.id,
            name=c.b.name,
            company=names.get(c.b.account_id or ""),
            city=c.b.city,
            score=c.score,
            evidence=tuple(c.evidence),
            strong=c.score >= DEFAULT_THRESHOLD,
        )
        for c in found
    ]


def describe_duplicate(dupe: Duplicate) -> Text:
    """One line: score, who, and the evidence."""
    text = Text()
    text.append(f"{dupe.score:3.0f} ", style="bold red" if dupe.strong else "bold yellow")
    text.append(dupe.name, style="bold")
    where = " · ".join(x for x in (dupe.company, dupe.city) if x)
    if where:
        text.append(f" · {where}")
    text.append(f"  {'; '.join(dupe.evidence)}", style="dim")
    return text


class ConfirmDuplicate(SafeConfirm):
    """A probable duplicate exists: save anyway only on a deliberate `y`."""

    DEFAULT_CSS = """
    ConfirmDuplicate > Vertical {
        width: 84;
    }
    """
    BINDINGS = [
        Binding("escape", "answer(False)", "Go back", id="new_contact.confirm_cancel"),
        Binding("y", "answer(True)", "Save anyway", id="new_contact.confirm_save"),
    ]
    YES = "Save anyway"
    NO = "Go back"

    def __init__(self, name: str, duplicates: list[Duplicate]) -> None:
        super().__init__()
        self._name = name
        self._duplicates = duplicates

    def question(self) -> str:
        """The question."""
        return f"“{self._name}” is probably already here"

    def details(self) -> Text:
        """Who it may be."""
        return Text("\n").join(describe_duplicate(d) for d in self._duplicates)

    def hint(self) -> str:
        """The two ways out."""
        return (
            "Go back to open the existing contact (ctrl+o, then Enter), "
            "or save a second one anyway; they can be merged later (crm merge)."
        )


class NewContactScreen(UsesDaily, ContactForm[NewContactResult | None]):
    """The new-contact form; Enter saves, Escape cancels, duplicates are shown as you type."""

    STATUS_ID = "new-status"
    WHAT = "New contact"
    FIELD_LABELS: ClassVar[dict[str, str]] = {name: label for name, label, _ in FIELDS}

    CSS_PATH = "new_contact.tcss"

    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="new_contact.cancel", tooltip="Close, saving nothing"
        ),
        Binding("ctrl+s", "save", "Save", id="new_contact.save", tooltip="Save the contact"),
        Binding(
            "ctrl+o",
            "pick_existing",
            "Open existing",
            id="new_contact.pick_existing",
            tooltip="To the list of probable duplicates: Enter opens one instead",
        ),
        # A form: the arrows move between fields (the list, once there, uses its own).
        Binding("down", "app.focus_next", "Next field", show=False, id="new_contact.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="new_contact.prev"),
    ]

    class Checked(Message):
        """The form's problems and probable duplicates, as of `generation`."""

        def __init__(
            self, generation: int, problems: dict[str, str], duplicates: list[Duplicate]
        ) -> None:
            super().__init__()
            self.generation = generation
            self.problems = problems
            self.duplicates = duplicates

    class LooksDuplicate(Message):
        """The save found probable duplicates and wants a confirmation."""

        def __init__(self, duplicates: list[Duplicate]) -> None:
            super().__init__()
            self.duplicates = duplicates

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._db = db
        self._generation = 0
        self._shown: tuple[int, dict[str, str]] = (0, {})
        """The generation and texts whose check is on screen (see `checked`)."""
        self._checking: tuple[int, dict[str, str]] = (0, {})
        self._timer: Timer | None = None
        self._touched: set[str] = set()
        """Fields typed in: only their problems show while typing (all of them on a save)."""
        self._lookup_key: tuple[str, ...] | None = None
        self.problems: dict[str, str] = {}
        self.duplicates: list[Duplicate] = []
        self.saving = False

    def compose(self) -> ComposeResult:
        """The fields, each with its problem line, then the duplicates and the keys."""
        with Vertical(id="form"):
            yield Label("New contact", id="form-title")
            for name, label, placeholder in FIELDS:
                with Horizontal(classes="row"):
                    yield Label(label)
                    yield FieldInput(placeholder=placeholder, id=f"f-{name}", compact=True)
                yield Static("", id=f"p-{name}", classes="problem")
            yield Static("", id="dupes-title")
            yield OptionList(id="dupes")
            yield Static(HINT, id="new-status")

    def on_mount(self) -> None:
        """Cursor in the name; the services' modules load in the background meanwhile."""
        self.query_one("#dupes", OptionList).display = False
        self.query_one("#dupes-title", Static).display = False
        self.query_one("#f-name", Input).focus()
        self._warm_up()

    @work(thread=True, exit_on_error=False, group="new-contact-warm")
    def _warm_up(self) -> None:
        """Import the validation and dedupe code before the first check needs it."""
        import crmtui.quality.dedupe
        import crmtui.services.address_book.contacts  # noqa: F401

        self.daily.settings()

    # ----------------------------------------------------------------- checking

    def values(self) -> dict[str, str]:
        """The form's texts by field."""
        return {name: self.query_one(f"#f-{name}", Input).value for name, _, _ in FIELDS}

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id is None or not event.input.id.startswith("f-"):
            return
        self._touched.add(event.input.id.removeprefix("f-"))
        self._generation += 1
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._check_now)

    def _check_now(self) -> None:
        self._timer = None
        values = self.values()
        # A change to the title or tags does not need the duplicates looked up again.
        key = tuple(values[f] for f in sorted(LOOKUP_FIELDS))
        lookup = key != self._lookup_key
        self._lookup_key = key
        self._checking = (self._generation, values)
        self.check(self._generation, values, lookup)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-contact-check")
    def check(self, generation: int, values: dict[str, str], lookup: bool) -> None:
        """Problems and probable duplicates of the form as it is (from a worker)."""
        from crmtui.services.address_book.contacts import contact_problems

        region = self.daily.settings().default_region
        problems = contact_problems(form_data(values), region=region)
        duplicates = find_duplicates(self._db, values, region=region) if lookup else self.duplicates
        self.post_message(self.Checked(generation, problems, duplicates))

    @property
    def checked(self) -> bool:
        """True once the form as it is now has been checked and what was found is shown."""
        shown_generation, shown_values = self._shown
        return (
            self._timer is None
            and shown_generation == self._generation
            and shown_values == self.values()
        )

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        if event.generation != self._generation or self.saving:
            return  # typed on since, or a save has the last word
        self._shown = self._checking
        self.show_problems(event.problems, only=self._touched)
        self._show_duplicates(event.duplicates)
        if not any(name in self._touched for name in event.problems):
            self._status(HINT)  # an earlier "Not saved: …" no longer holds

    def _show_duplicates(self, duplicates: list[Duplicate]) -> None:
        self.duplicates = duplicates
        title = self.query_one("#dupes-title", Static)
        options = self.query_one("#dupes", OptionList)
        title.display = options.display = bool(duplicates)
        if not duplicates:
            options.clear_options()
            return
        strong = any(d.strong for d in duplicates)
        title.update(
            ("Probably already here" if strong else "Similar contacts")
            + " — ctrl+o to pick one, Enter opens it instead"
        )
        highlighted = options.highlighted
        options.set_options(Option(describe_duplicate(d), id=d.id) for d in duplicates)
        options.highlighted = highlighted if highlighted is not None else 0

    def action_pick_existing(self) -> None:
        """Put the cursor in the list of probable duplicates."""
        options = self.query_one("#dupes", OptionList)
        if options.display and options.option_count:
            options.focus()

    @on(OptionList.OptionSelected, "#dupes")
    def _open_existing(self, event: OptionList.OptionSelected) -> None:
        dupe = self.duplicates[event.option_index]
        self.dismiss(NewContactResult(dupe.id, dupe.name, existing=True))

    # ----------------------------------------------------------------- saving

    def action_save(self) -> None:
        """Enter: check, look for duplicates (asking first if one is found), then write."""
        if not self.saving:
            self.start_save(force=False)

    def start_save(self, *, force: bool) -> None:
        """Save in a worker; the form stays open until it is done."""
        self.saving = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._status("Saving…")
        self.save(self.values(), force=force)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-contact-save")
    def save(self, values: dict[str, str], *, force: bool) -> None:
        """Check, look for duplicates unless `force`, then create in one transaction."""
        from crmtui.domain.validate import InvalidInput
        from crmtui.services.address_book.contacts import contact_problems, create_contact

        daily = self.daily
        region = daily.settings().default_region
        data = form_data(values)
        problems = contact_problems(data, region=region)
        if problems:
            self.post_message(self.Invalid(problems))
            return
        # Looked up again here, not taken from the screen: Enter may come before
        # the debounced check of the last keystrokes has answered.
        if not force:
            strong = [d for d in find_duplicates(self._db, values, region=region) if d.strong]
            if strong:
                self.post_message(self.LooksDuplicate(strong))
                return

        def write(tx: WriteTx) -> tuple[str, str]:
            contact = create_contact(tx=tx, data=data, region=region)
            return contact.id, contact.name

        try:
            contact_id, name = daily.write_undoable(f"Add {data.name}", write)
        except InvalidInput as exc:  # e.g. the company name, checked by its account
            self.post_message(self.Invalid({exc.field: exc.message}))
            return
        self.post_message(self.Saved(NewContactResult(contact_id, name)))

    @on(LooksDuplicate)
    def _looks_duplicate(self, event: LooksDuplicate) -> None:
        # Show them in the form too: going back, the list is there to open one.
        if {d.id for d in event.duplicates} - {d.id for d in self.duplicates}:
            self._show_duplicates(event.duplicates)

        def answered(save_anyway: bool | None) -> None:
            if save_anyway:
                self.start_save(force=True)
            else:
                self.saving = False
                self._status(
                    "Not saved: ctrl+o picks the existing contact, Enter asks again.", error=True
                )

        self._status("Probably already here: save anyway?")
        name = self.query_one("#f-name", Input).value.strip()
        self.app.push_screen(ConfirmDuplicate(name, event.duplicates), answered)
