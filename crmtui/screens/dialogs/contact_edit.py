"""Edit a contact: every field, tags, consent and cadence, saved in one undoable transaction.

The form starts from the card's values and saves only what was changed, through
`services.address_book.contacts.update_contact` (the service `crm contact edit` uses), inside
`DailyContext.write_undoable`, so Ctrl+Z puts the old values back. Problems are
checked with the service's own rules and shown under the field they are about.

Below the fields, the contact's phones, emails and addresses: each can be removed
(its checkbox), one more of each can be added (a spec such as "mobile:+49 151 2345678"
or "home:street=Hauptstr. 1;city=Berlin"), and the phone the call list dials is
chosen; all through `services.contact_items.edit_items`, in the same transaction as
the fields, so one Ctrl+Z undoes the whole edit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static, TextArea

from crmtui.domain.identity import phone_text
from crmtui.screens.daily_context import UsesDaily
from crmtui.screens.dialogs.contact_form import ContactForm
from crmtui.screens.dialogs.new_contact import split_tags
from crmtui.widgets.text_area_field import FieldArea
from crmtui.widgets.text_fields import FieldInput

if TYPE_CHECKING:
    from crmtui.services.address_book.contacts import ContactUpdate
    from crmtui.services.contact_items import ItemEdit
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
    "add_phone": "Add phone",
    "add_email": "Add email",
    "add_address": "Add address",
    "dial": "Dialled",
}
# (field, label, placeholder): the boxes that add one item each.
ADD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("add_phone", "+ phone", "mobile:+49 151 2345678;ext=12 (work, mobile, home, fax, other)"),
    ("add_email", "+ email", "home:ann@example.org (work, home, other)"),
    ("add_address", "+ address", "home:street=Hauptstr. 1;city=Berlin;postcode=10115;country=DE"),
)
ENTITY_OF = {"phones": "contact_phone", "emails": "contact_email", "addresses": "contact_address"}
MAX_DAYS = 3660
MAX_CALLS = 1000
HINT = "ctrl+s saves · Esc cancels · Tab moves"


@dataclass(frozen=True)
class EditResult:
    """What a save changed (the form's labels; empty when nothing was different)."""

    changed: tuple[str, ...]


# The stored columns a save reports, by the label the user edited them under; item edits
# ("added phone", "dialled phone") are words already.
COLUMN_LABELS = {
    "account_id": "Company",
    "phone_e164": "Phone",
    "mobile_e164": "Mobile",
    "max_calls": "Call cap",
    "max_calls_days": "Call cap",
    "stay_in_touch_days": "Stay in touch",
    "items": "phones, emails or addresses",
}


def changed_labels(changed: list[str]) -> tuple[str, ...]:
    """The changed columns as the form's labels, each once, in order."""
    words = (COLUMN_LABELS.get(name) or LABELS.get(name) or name for name in changed)
    return tuple(dict.fromkeys(words))


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
    from crmtui.services.address_book.contacts import ContactUpdate

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


def item_text(section: str, item: dict[str, Any]) -> str:
    """One item as the form lists it ("+49 30 1234 ext. 12", "ann@x.de", "Hauptstr. 1, Berlin")."""
    if section == "phones":
        return phone_text(str(item["number"]), item.get("extension"))
    if section == "emails":
        return str(item["address"])
    from crmtui.domain.contact_details import address_line

    return address_line(item)


def dialled_id(phones: list[dict[str, Any]]) -> str | None:
    """The phone the call list dials now (the one rule of `domain.contact_details`)."""
    from crmtui.domain.contact_details import PhoneItem, dialled

    found = dialled(
        [
            PhoneItem(p["id"], p["kind"], p["number"], p.get("e164"), bool(p.get("is_primary")))
            for p in phones
        ]
    )
    return found.id if found is not None else None


def item_edit(
    items: dict[str, list[dict[str, Any]]],
    removed: set[str],
    dial: str | None,
    added: dict[str, str],
    *,
    region: str,
) -> tuple[ItemEdit, dict[str, str]]:
    """The form's item changes as an `ItemEdit`, and {field: problem} for what cannot be read."""
    from crmtui.domain.contact_details import (
        parse_address_spec,
        parse_email_spec,
        parse_phone_spec,
    )
    from crmtui.domain.validate import InvalidInput
    from crmtui.services.contact_items import ItemEdit, clean_address, clean_email, clean_phone
    from crmtui.store.models import ADDRESS_KINDS, EMAIL_KINDS, PHONE_KINDS

    edit = ItemEdit()
    problems: dict[str, str] = {}
    for section, rows in items.items():
        edit.remove += [(ENTITY_OF[section], r["id"]) for r in rows if r["id"] in removed]
    if dial is not None and dial != dialled_id(items.get("phones", [])):
        if dial in removed:
            problems["dial"] = "Dialled: that phone is being removed; choose another"
        edit.dial = dial
    entities = {"add_phone": "contact_phone", "add_email": "contact_email"}
    for name, _label, _ in ADD_FIELDS:
        spec = added.get(name, "").strip()
        if not spec:
            continue
        try:
            if name == "add_phone":
                kind, number, ext, primary = parse_phone_spec(spec, PHONE_KINDS)
                values = clean_phone(kind, number, ext, region=region)
            elif name == "add_email":
                kind, address, primary = parse_email_spec(spec, EMAIL_KINDS)
                values = clean_email(kind, address)
            else:
                kind, parts, primary = parse_address_spec(spec, ADDRESS_KINDS)
                values = clean_address(kind, dict(parts))
        except InvalidInput as exc:
            problems[name] = f"{LABELS[name]}: {exc.message}"
            continue
        # ";primary" in the spec makes it the primary (for a phone: the dialled one).
        edit.add.append((entities.get(name, "contact_address"), values, primary or None))
    return edit, problems


def field_problems(data: ContactUpdate, *, region: str) -> dict[str, str]:
    """The service's objections to the changed fields, one per field, naming it."""
    from crmtui.services.address_book.contacts import ContactCreate, contact_problems

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
        self,
        db: sqlite3.Connection,
        contact_id: str,
        contact: dict[str, Any],
        company: str | None,
        items: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__()
        self._db = db
        self.items = items or {}
        self.dialled = dialled_id(self.items.get("phones", []))
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
                        yield FieldInput(
                            v[name], placeholder=placeholder, id=f"f-{name}", compact=True
                        )
                    yield Static("", id=f"p-{name}", classes="problem")
                with Horizontal(classes="row notes-row"):
                    yield Label("Notes")
                    yield FieldArea(v["notes"], id="f-notes", compact=True, soft_wrap=True)
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
                    yield FieldInput(
                        v["call_cap"],
                        placeholder="3/30d (blank: the default)",
                        id="f-call_cap",
                        compact=True,
                    )
                yield Static("", id="p-call_cap", classes="problem")
                with Horizontal(classes="row"):
                    yield Label("In touch")
                    yield FieldInput(
                        v["stay_in_touch"],
                        placeholder="every 30d, 2 weeks (blank: no cadence)",
                        id="f-stay_in_touch",
                        compact=True,
                    )
                yield Static("", id="p-stay_in_touch", classes="problem")
                yield from self._compose_items()
            with Horizontal(id="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)
            yield Static(HINT, id="edit-status")

    def _compose_items(self) -> ComposeResult:
        """Each phone, email and address with its remove box, the dialled phone, the add boxes."""
        yield Label("Phones, emails and addresses (tick to remove)", classes="section")
        for section in ("phones", "emails", "addresses"):
            for item in self.items.get(section, []):
                with Horizontal(classes="row"):
                    yield Label(str(item["kind"]))
                    yield Checkbox(
                        item_text(section, item), False, id=f"rm-{item['id']}", compact=True
                    )
        phones = [p for p in self.items.get("phones", []) if p["kind"] != "fax"]
        if len(phones) > 1:
            with Horizontal(classes="row dial-row"):
                yield Label("Dialled")
                with RadioSet(id="f-dial", compact=True):
                    for p in phones:
                        yield RadioButton(
                            f"{p['kind']} {item_text('phones', p)}",
                            p["id"] == self.dialled,
                            id=f"dial-{p['id']}",
                        )
            yield Static("", id="p-dial", classes="problem")
        for name, label, placeholder in ADD_FIELDS:
            with Horizontal(classes="row"):
                yield Label(label)
                yield FieldInput("", placeholder=placeholder, id=f"f-{name}", compact=True)
            yield Static("", id=f"p-{name}", classes="problem")

    def item_values(self) -> tuple[set[str], str | None, dict[str, str]]:
        """The items ticked for removal, the phone chosen to dial, and the add boxes' text."""
        removed = {
            box.id[3:]
            for box in self.query(Checkbox)
            if box.id and box.id.startswith("rm-") and box.value
        }
        dial = self.dialled
        for chosen in self.query("#f-dial").results(RadioSet):
            button = chosen.pressed_button
            if button is not None and button.id:
                dial = button.id[len("dial-") :]
        added = {name: self.query_one(f"#f-{name}", Input).value for name, _, _ in ADD_FIELDS}
        return removed, dial, added

    # Rows around the scrolled fields: the border (2), title, buttons with their margin (2), status.
    CHROME = 6

    def on_mount(self) -> None:
        """Cursor in the name; the fields scroll within the screen's height."""
        self._fit_fields()
        self.query_one("#f-name", Input).focus()

    def on_resize(self) -> None:
        """Keep the buttons on screen when the terminal changes size."""
        self._fit_fields()

    def _fit_fields(self) -> None:
        # A height:auto form grows past the screen with many items; "1fr" does not bound an
        # auto parent, so the fields get the rows the chrome leaves.
        self.query_one("#fields").styles.max_height = max(3, self.size.height - self.CHROME)

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

    def save_values(self) -> None:
        """Check and save the changed fields in one transaction (in a worker)."""
        self.save(self.values(), self.item_values())

    @work(thread=True, exclusive=True, exit_on_error=False, group="contact-edit-save")
    def save(
        self, after: dict[str, Any], item_after: tuple[set[str], str | None, dict[str, str]]
    ) -> None:
        """Validate, then write the fields and items as one undoable, stale-guarded write."""
        from crmtui.domain.validate import InvalidInput
        from crmtui.screens.dialogs.read_guard import changed_since, changed_since_message
        from crmtui.search.lookup import contact_card
        from crmtui.services.address_book.contacts import update_contact
        from crmtui.services.contact_items import edit_items
        from crmtui.store.resolve import NotFound

        daily = self.daily
        region = daily.settings().default_region
        data, problems = changes(self.before, after)
        problems |= field_problems(data, region=region)
        removed, dial, added = item_after
        edit, item_problems = item_edit(self.items, removed, dial, added, region=region)
        problems |= item_problems
        if problems:
            self.post_message(self.Invalid(problems))
            return
        if not data.model_fields_set and not edit:
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
            changed = []
            if data.model_fields_set:
                changed = update_contact(tx=tx, contact_id=contact_id, data=data, region=region)
            try:
                return changed + edit_items(tx, contact_id, edit)
            except NotFound as exc:  # removed meanwhile (a sync, the shell): nothing written
                raise InvalidInput(
                    "dial", f"an item changed meanwhile ({exc}); reopen the form"
                ) from exc

        try:
            changed = daily.write_undoable(f"Edit {self.contact_name}", write)
        except InvalidInput as exc:  # e.g. the company, checked by its account
            self.post_message(
                self.Invalid({exc.field: f"{LABELS.get(exc.field, exc.field)}: {exc.message}"})
            )
            return
        self.post_message(self.Saved(EditResult(changed_labels(changed))))

    def form_problems(self, problems: dict[str, str]) -> dict[str, str]:
        """The services' names for the call cap and stay-in-touch fields as this form's."""
        problems = super().form_problems(problems)
        if "max_calls" in problems or "max_calls_days" in problems:
            problems["call_cap"] = problems.pop("max_calls", "") or problems.pop("max_calls_days")
        if "stay_in_touch_days" in problems:
            problems["stay_in_touch"] = problems.pop("stay_in_touch_days")
        return problems
