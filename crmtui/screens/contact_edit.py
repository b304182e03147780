"""Edit a contact: every field, tags, consent and cadence, saved in one undoable transaction.

The form starts from the card's values and saves only what was changed, through
`services.contacts.update_contact` (the service `crm contact edit` uses), inside
`DailyContext.write_undoable`, so Ctrl+Z puts the old values back. Problems are
checked with the service's own rules and shown under the field they are about.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea

from crmtui.screens.contact_form import ContactForm
from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.new_contact import split_tags

if TYPE_CHECKING:
    from crmtui.services.contacts import ContactUpdate
    from crmtui.store.journal import WriteTx

# (field, label, placeholder): the text fields, in the order of the form.
TEXT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "Full name (required)"),
    ("company", "Company", "An existing account is reused; a new name creates one"),
    ("title", "Title", "Job title"),
    ("email", "Email", "name@example.com"),
    ("phone", "Phone", "As you would dial it; +country for abroad"),
    ("mobile", "Mobile", "Mobile number"),
    ("city", "City", ""),
    ("country", "Country", "ISO code, e.g. DE"),
    ("tags", "Tags", "Words separated by spaces; delete one to remove it"),
)
LABELS = {name: label for name, label, _ in TEXT_FIELDS} | {
    "notes": "Notes",
    "do_not_call": "Do not call",
    "do_not_email": "Do not email",
    "call_cap": "Call cap",
    "stay_in_touch": "Stay in touch",
}
MAX_DAYS = 3660
MAX_CALLS = 1000
HINT = "ctrl+s saves · Esc cancels · Tab moves"


@dataclass(frozen=True)
class EditResult:
    """What a save changed (field names; empty when nothing was different)."""

    changed: tuple[str, ...]


def parse_days(text: str, label: str) -> int:
    """A whole number of days from "30", "30d" or "2 weeks" (ValueError names the field)."""
    from crmtui.domain.when import BadWhen, parse_duration

    t = text.strip()
    try:
        span = timedelta(days=int(t)) if t.isascii() and t.isdigit() else parse_duration(t)
    except (BadWhen, OverflowError, ValueError):
        raise ValueError(
            f"{label}: {text!r} is not a number of days (try 30d or 2 weeks)"
        ) from None
    if span.total_seconds() <= 0 or span % timedelta(days=1) or span.days > MAX_DAYS:
        raise ValueError(f"{label}: give whole days between 1 and {MAX_DAYS} (try 30d)")
    return span.days


def cadence_fields(text: str) -> dict[str, Any]:
    """The stay-in-touch box as ContactUpdate fields ("" or "off" clears it)."""
    if text.strip().lower() in ("", "off", "none"):
        return {"stay_in_touch_days": None}
    return {"stay_in_touch_days": parse_days(text, "Stay in touch")}


def cap_fields(text: str) -> dict[str, Any]:
    """The call-cap box ("3/30d") as ContactUpdate fields ("" means the default cap)."""
    if text.strip().lower() in ("", "default", "off", "none"):
        return {"max_calls": None, "max_calls_days": None}
    calls, slash, period = text.partition("/")
    calls = calls.strip()
    if not slash or not (calls.isascii() and calls.isdigit()) or not 1 <= int(calls) <= MAX_CALLS:
        raise ValueError(f"Call cap: {text!r} is not N/period (try 3/30d: 3 calls in 30 days)")
    return {"max_calls": int(calls), "max_calls_days": parse_days(period, "Call cap")}


def initial_values(contact: dict[str, Any], company: str | None) -> dict[str, Any]:
    """The form's starting values from a card's contact row."""
    values: dict[str, Any] = {
        name: str(contact.get(name) or "") for name, _, _ in TEXT_FIELDS if name != "tags"
    }
    values["company"] = company or ""
    values["tags"] = " ".join(contact.get("tags") or [])
    values["notes"] = contact.get("notes") or ""
    values["do_not_call"] = bool(contact.get("do_not_call"))
    values["do_not_email"] = bool(contact.get("do_not_email"))
    cap = contact.get("max_calls")
    values["call_cap"] = f"{cap}/{contact.get('max_calls_days')}d" if cap else ""
    days = contact.get("stay_in_touch_days")
    values["stay_in_touch"] = f"{days}d" if days else ""
    return values


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[ContactUpdate, dict[str, str]]:
    """The ContactUpdate for what differs, and {field: problem} for what cannot be read."""
    from crmtui.services.contacts import ContactUpdate

    given: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, value in after.items():
        if value == before.get(key):
            continue
        if key == "tags":
            given["tags"] = split_tags(value)
        elif key == "call_cap":
            try:
                given |= cap_fields(value)
            except ValueError as exc:
                problems[key] = str(exc)
        elif key == "stay_in_touch":
            try:
                given |= cadence_fields(value)
            except ValueError as exc:
                problems[key] = str(exc)
        else:
            # A blank text clears the field ("" is what the service reads as "clear").
            given[key] = value
    return ContactUpdate.model_validate(given), problems


def field_problems(data: ContactUpdate, *, region: str) -> dict[str, str]:
    """The service's objections to the changed fields, one per field, naming it."""
    from crmtui.services.contacts import ContactCreate, contact_problems

    given = data.model_dump(exclude_unset=True)
    probe: dict[str, Any] = {"name": given.get("name", "x")}
    for key in ("company", "title", "email", "phone", "mobile", "city", "country", "notes"):
        if key in given:
            probe[key] = given[key] or None
    if "tags" in given:
        probe["tags"] = given["tags"]
    found = contact_problems(ContactCreate(**probe), region=region)
    return {k: f"{LABELS.get(k, k)}: {v}" for k, v in found.items() if k in given}


class ContactEditScreen(UsesDaily, ContactForm[EditResult | None]):
    """Every field of one contact; ctrl+s (or the Save button) saves, Escape writes nothing."""

    STATUS_ID = "edit-status"
    WHAT = "Edit contact"
    FIELD_LABELS: ClassVar[dict[str, str]] = LABELS
    CSS_PATH = "contact_edit.tcss"
    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="contact_edit.cancel", tooltip="Close, saving nothing"
        ),
        Binding("ctrl+s", "save", "Save", id="contact_edit.save", tooltip="Save the changes"),
    ]

    def __init__(
        self, db: sqlite3.Connection, contact_id: str, contact: dict[str, Any], company: str | None
    ) -> None:
        super().__init__()
        self._db = db
        self.contact_id = contact_id
        self.contact_name = str(contact.get("name") or "")
        self.before = initial_values(contact, company)
        self.saving = False

    def compose(self) -> ComposeResult:
        """The fields, each with its problem line, the consent flags, cadence, then the keys."""
        v = self.before
        with Vertical(id="form"):
            yield Label(Text(f"Edit {self.contact_name}"), id="form-title")
            with VerticalScroll(id="fields"):
                for name, label, placeholder in TEXT_FIELDS:
                    with Horizontal(classes="row"):
                        yield Label(label)
                        yield Input(v[name], placeholder=placeholder, id=f"f-{name}", compact=True)
                    yield Static("", id=f"p-{name}", classes="problem")
                with Horizontal(classes="row notes-row"):
                    yield Label("Notes")
                    yield TextArea(v["notes"], id="f-notes", compact=True, soft_wrap=True)
                yield Static("", id="p-notes", classes="problem")
                with Horizontal(classes="row"):
                    yield Label("Consent")
                    yield Checkbox(
                        "Do not call", v["do_not_call"], id="f-do_not_call", compact=True
                    )
                    yield Checkbox(
                        "Do not email", v["do_not_email"], id="f-do_not_email", compact=True
                    )
                with Horizontal(classes="row"):
                    yield Label("Call cap")
                    yield Input(
                        v["call_cap"],
                        placeholder="3/30d (blank: the default)",
                        id="f-call_cap",
                        compact=True,
                    )
                yield Static("", id="p-call_cap", classes="problem")
                with Horizontal(classes="row"):
                    yield Label("In touch")
                    yield Input(
                        v["stay_in_touch"],
                        placeholder="every 30d, 2 weeks (blank: no cadence)",
                        id="f-stay_in_touch",
                        compact=True,
                    )
                yield Static("", id="p-stay_in_touch", classes="problem")
            with Horizontal(id="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)
            yield Static(HINT, id="edit-status")

    def on_mount(self) -> None:
        """Cursor in the name."""
        self.query_one("#f-name", Input).focus()

    def values(self) -> dict[str, Any]:
        """The form as it is now, by field."""
        out: dict[str, Any] = {
            name: self.query_one(f"#f-{name}", Input).value for name, _, _ in TEXT_FIELDS
        }
        out["notes"] = self.query_one("#f-notes", TextArea).text
        out["do_not_call"] = self.query_one("#f-do_not_call", Checkbox).value
        out["do_not_email"] = self.query_one("#f-do_not_email", Checkbox).value
        out["call_cap"] = self.query_one("#f-call_cap", Input).value
        out["stay_in_touch"] = self.query_one("#f-stay_in_touch", Input).value
        return out

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
        """Check and save the changed fields in one transaction (in a worker)."""
        if self.saving:
            return
        self.saving = True
        self._status("Saving…")
        self.save(self.values())

    @work(thread=True, exclusive=True, exit_on_error=False, group="contact-edit-save")
    def save(self, after: dict[str, Any]) -> None:
        """Validate, then update the contact as one undoable write (unless changed since read)."""
        from crmtui.domain.validate import InvalidInput
        from crmtui.screens.read_guard import changed_since, changed_since_message
        from crmtui.search.lookup import contact_card
        from crmtui.services.contacts import update_contact

        daily = self.daily
        region = daily.settings().default_region
        data, problems = changes(self.before, after)
        problems |= field_problems(data, region=region)
        if problems:
            self.post_message(self.Invalid(problems))
            return
        if not data.model_fields_set:
            self.post_message(self.Saved(EditResult(())))
            return
        contact_id = self.contact_id
        before = self.before
        edited = [name for name, value in after.items() if value != before.get(name)]

        def write(tx: WriteTx) -> list[str]:
            # The stale-read guard (read_guard): the contact as stored now, read the way
            # the card read it, must still hold what this form started from.
            card = contact_card(tx.db, contact_id)
            if card is not None:
                stored = initial_values(card.contact, (card.account or {}).get("name"))
                stale = changed_since(before, stored, edited)
                if stale is not None:
                    raise InvalidInput(stale, changed_since_message(stored[stale]))
            return update_contact(tx=tx, contact_id=contact_id, data=data, region=region)

        try:
            changed = daily.write_undoable(f"Edit {self.contact_name}", write)
        except InvalidInput as exc:  # e.g. the company, checked by its account
            self.post_message(
                self.Invalid({exc.field: f"{LABELS.get(exc.field, exc.field)}: {exc.message}"})
            )
            return
        self.post_message(self.Saved(EditResult(tuple(changed))))

    def form_problems(self, problems: dict[str, str]) -> dict[str, str]:
        """The services' names for the call cap and stay-in-touch fields as this form's."""
        problems = super().form_problems(problems)
        if "max_calls" in problems or "max_calls_days" in problems:
            problems["call_cap"] = problems.pop("max_calls", "") or problems.pop("max_calls_days")
        if "stay_in_touch_days" in problems:
            problems["stay_in_touch"] = problems.pop("stay_in_touch_days")
        return problems

    def action_cancel(self) -> None:
        """Escape: close, writing nothing (not while a save is under way)."""
        if not self.saving:
            self.dismiss(None)
