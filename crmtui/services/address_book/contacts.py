"""Contact services: create, edit, tag, archive, delete (tombstone), restore.

Each function takes the write transaction and changes rows, the journal and the
search index together; a bad value raises `InvalidInput` before anything is
written, and the caller's transaction rolls back on any error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import SQLModel

from crmtui.domain.contact_details import (
    PRIMARY_COLUMNS,
    parse_address_spec,
    parse_email_spec,
    parse_phone_spec,
)
from crmtui.domain.validate import (
    InvalidInput,
    clean_tags,
    long_text,
    normalize_email,
    normalize_phone,
    optional_text,
    require_text,
    split_name,
)
from crmtui.services import contact_items as items
from crmtui.services.address_book.accounts import account_for_company
from crmtui.services.contact_items import clean_address, clean_email, clean_phone
from crmtui.services.plan_progress import contact_changed
from crmtui.services.reindex import reindex_contact
from crmtui.store.journal import WriteTx
from crmtui.store.models import ADDRESS_KINDS, EMAIL_KINDS, PHONE_KINDS, Contact
from crmtui.store.resolve import get_live


class PersonFields(SQLModel):
    """More about the person (0007), the same on a new contact and a change."""

    birthday: date | None = None
    nickname: str | None = None
    salutation: str | None = None
    department: str | None = None
    website: str | None = None
    source_uid: str | None = None
    extra: str | None = None


class ContactCreate(PersonFields):
    """What a user may say about a new contact."""

    name: str
    company: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    city: str | None = None
    country: str | None = None
    tags: list[str] = []
    notes: str | None = None
    do_not_call: bool = False
    do_not_email: bool = False
    stay_in_touch_days: int | None = None
    source: str | None = None
    external_id: str | None = None
    # More phones, emails and addresses, as specs ("work:+4930123;ext=12;primary",
    # "home:x@example.org", "work:street=...;city=...;country=DE"; see contact_details).
    phones: list[str] = []
    emails: list[str] = []
    addresses: list[str] = []


class ContactUpdate(PersonFields):
    """Fields to change on a contact; unset fields stay as they are ("" clears a field)."""

    name: str | None = None
    company: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    city: str | None = None
    country: str | None = None
    tags: list[str] | None = None
    notes: str | None = None
    do_not_call: bool | None = None
    do_not_email: bool | None = None
    stay_in_touch_days: int | None = None
    max_calls: int | None = None
    max_calls_days: int | None = None
    phones: list[str] = []
    """Phones to add (specs, as on `ContactCreate`)."""
    emails: list[str] = []
    addresses: list[str] = []
    remove_phones: list[str] = []
    """Phones to remove, each named by number, id or kind (`contact_items.find_item`)."""
    remove_emails: list[str] = []
    remove_addresses: list[str] = []
    primary_phone: str | None = None
    """The phone the call list dials from now on (named as for a removal)."""
    primary_email: str | None = None
    primary_address: str | None = None


_TEXT = {
    "title": 120,
    "city": 120,
    "country": 2,
    "source": 60,
    "external_id": 120,
    "nickname": 120,
    "salutation": 40,
    "department": 120,
    "website": 300,
    "source_uid": 300,
}
ITEM_FIELDS = (
    "phones",
    "emails",
    "addresses",
    "remove_phones",
    "remove_emails",
    "remove_addresses",
    "primary_phone",
    "primary_email",
    "primary_address",
)
"""Fields of the forms that change items, not columns."""


def _clean(tx: WriteTx, values: dict[str, Any], *, region: str) -> dict[str, Any]:
    """Validate and normalise user values into column values (no writes but the account)."""
    out = _clean_fields({k: v for k, v in values.items() if k != "company"}, region=region)
    # The account is resolved last, so a bad phone or email writes nothing at all.
    if "company" in values:
        company = values["company"]
        if company is None or not str(company).strip():
            out["account_id"] = None
        else:
            out["account_id"] = account_for_company(tx=tx, company=company, region=region).id
    return out


def _clean_fields(values: dict[str, Any], *, region: str) -> dict[str, Any]:
    """`_clean` for every field but the company (which needs the transaction)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            out["name"] = require_text(value, "name")
            out["given_name"], out["family_name"] = split_name(out["name"])
        elif key in _TEXT:
            out[key] = optional_text(value, key, max_len=_TEXT[key])
        elif key == "notes":
            out[key] = long_text(value, key, max_len=10_000)
        elif key in ("phone", "mobile"):
            if value is None or not value.strip():
                out[key], out[f"{key}_e164"] = None, None
            else:
                phone = normalize_phone(value, region=region, field=key)
                out[key], out[f"{key}_e164"] = phone.typed, phone.e164
        elif key == "email":
            out[key] = normalize_email(value) if value and value.strip() else None
        elif key == "tags":
            out[key] = clean_tags(value or [])
        elif key in ("stay_in_touch_days", "max_calls", "max_calls_days"):
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise InvalidInput(key, "must be a whole number above 0")
            out[key] = value
        elif key in ("do_not_call", "do_not_email"):
            out[key] = bool(value)
        elif key == "birthday":
            out[key] = value or None
        elif key == "extra":
            out[key] = _extra(value)
        else:
            raise InvalidInput(key, "is not a contact field")
    if out.get("country"):
        out["country"] = out["country"].upper()
    return out


def _extra(value: str | None) -> str | None:
    """Unmodelled properties: a JSON object as text, or none."""
    if value is None or not value.strip():
        return None
    try:
        decoded = json.loads(value)
    except ValueError as exc:
        raise InvalidInput("extra", "is not JSON text") from exc
    if not isinstance(decoded, dict):
        raise InvalidInput("extra", "must be a JSON object")
    return value


@dataclass
class _ItemPlan:
    """Item changes checked before anything is written."""

    phones: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    emails: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    addresses: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    removals: list[tuple[str, str]] = field(default_factory=list)
    primaries: list[tuple[str, str]] = field(default_factory=list)


def _plan_items(values: dict[str, Any], *, region: str) -> _ItemPlan:
    """Parse and check the item specs of a form (no writes); bad input raises."""
    plan = _ItemPlan()
    for spec in values.get("phones") or []:
        kind, number, ext, primary = parse_phone_spec(spec, PHONE_KINDS)
        if primary and kind == "fax":
            raise InvalidInput("phone", "a fax cannot be the number the call list dials")
        plan.phones.append((clean_phone(kind, number, ext, region=region), primary))
    for spec in values.get("emails") or []:
        kind, address, primary = parse_email_spec(spec, EMAIL_KINDS)
        plan.emails.append((clean_email(kind, address), primary))
    for spec in values.get("addresses") or []:
        kind, parts, primary = parse_address_spec(spec, ADDRESS_KINDS)
        plan.addresses.append((clean_address(kind, parts), primary))
    for word in ("phone", "email", "address"):
        entity = f"contact_{word}"
        plural = "addresses" if word == "address" else f"{word}s"
        plan.removals += [(entity, ref) for ref in values.get(f"remove_{plural}") or []]
        if values.get(f"primary_{word}"):
            plan.primaries.append((entity, values[f"primary_{word}"]))
    return plan


def _apply_items(tx: WriteTx, contact: Contact, plan: _ItemPlan) -> bool:
    """Write a checked item plan; returns whether anything changed."""
    for entity, ref in plan.removals:
        items.remove_item(tx, items.find_item(tx, contact.id, entity, ref))
    for values, primary in plan.phones:
        items.add_phone(tx, contact, values, primary=primary or None)
    for values, primary in plan.emails:
        items.add_email(tx, contact, values, primary=primary or None)
    for values, primary in plan.addresses:
        items.add_address(tx, contact, values, primary=primary or None)
    for entity, ref in plan.primaries:
        items.set_primary(tx, items.find_item(tx, contact.id, entity, ref))
    return bool(plan.removals or plan.phones or plan.emails or plan.addresses or plan.primaries)


def contact_problems(data: ContactCreate, *, region: str) -> dict[str, str]:
    """What `create_contact` would refuse, every field at once: {field: reason}; {} saves.

    The same checks, one field at a time, so a form can show each problem under its
    field (a save stops at the first). The company is checked as the text it is;
    finding or creating its account is the save's job. Tag problems come under "tags".
    """
    problems: dict[str, str] = {}
    for key, value in data.model_dump().items():
        try:
            if key in ITEM_FIELDS:
                _plan_items({key: value}, region=region)
            elif key == "company":
                optional_text(value, "company")
            else:
                _clean_fields({key: value}, region=region)
        except InvalidInput as exc:
            problems[key] = exc.message
    return problems


def _split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A form's values: (column fields, item fields)."""
    plain = {k: v for k, v in values.items() if k not in ITEM_FIELDS}
    return plain, {k: v for k, v in values.items() if k in ITEM_FIELDS}


def create_contact(*, tx: WriteTx, data: ContactCreate, region: str) -> Contact:
    """Create a contact (and its account, when the company is new) with its items."""
    plain, extra = _split(data.model_dump())
    plan = _plan_items(extra, region=region)
    values = _clean(tx, plain, region=region)
    # The primaries go into the create too: the items made from them derive the same.
    primaries = {k: values[k] for k in PRIMARY_COLUMNS if values.get(k)}
    contact = Contact.model_validate(values)
    tx.add(contact)
    if primaries:
        items.adopt_columns(tx, contact, primaries)
    _apply_items(tx, contact, plan)
    reindex_contact(tx, contact)
    return contact


def update_contact(*, tx: WriteTx, contact_id: str, data: ContactUpdate, region: str) -> list[str]:
    """Change a contact's fields and items; returns the fields that changed."""
    contact = get_live(tx, Contact, contact_id)
    plain, extra = _split(data.model_dump(exclude_unset=True))
    plan = _plan_items(extra, region=region)
    values = _clean(tx, plain, region=region)
    primaries = {k: values.pop(k) for k in PRIMARY_COLUMNS if k in values}
    before = {k: getattr(contact, k) for k in PRIMARY_COLUMNS}
    changed = tx.update(contact, values)
    if primaries:
        items.adopt_columns(tx, contact, primaries)
    touched = _apply_items(tx, contact, plan)
    changed += [k for k in PRIMARY_COLUMNS if getattr(contact, k) != before[k]]
    if touched and not changed:
        changed.append("items")
    if changed:
        reindex_contact(tx, contact)
        contact_changed(tx, contact.id)  # consent gates its plan steps
    return changed


def tag_contact(
    *, tx: WriteTx, contact_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[str]:
    """Add and remove tags; returns the new tag list."""
    contact = get_live(tx, Contact, contact_id)
    gone = set(clean_tags(list(remove))) if remove else set()
    tags = [t for t in clean_tags(list(contact.tags) + list(add)) if t not in gone]
    if tx.update(contact, {"tags": tags}):
        reindex_contact(tx, contact)
    return tags


def archive_contact(*, tx: WriteTx, contact_id: str, archived: bool = True) -> list[str]:
    """Archive (hidden from default search) or unarchive a contact."""
    contact = get_live(tx, Contact, contact_id)
    changed = tx.update(contact, {"archived_at": tx.now if archived else None})
    if changed:
        reindex_contact(tx, contact)
        contact_changed(tx, contact.id)  # archiving ends its plans
    return changed


def delete_contact(*, tx: WriteTx, contact_id: str) -> Contact:
    """Tombstone a contact: gone from search and lists, restorable, journaled for sync."""
    contact = get_live(tx, Contact, contact_id)
    tx.delete(contact)
    reindex_contact(tx, contact)
    contact_changed(tx, contact.id)
    return contact


def restore_contact(*, tx: WriteTx, contact_id: str) -> Contact:
    """Undo a delete."""
    contact = get_live(tx, Contact, contact_id, deleted=True)
    tx.update(contact, {"deleted_at": None})
    reindex_contact(tx, contact)
    return contact
