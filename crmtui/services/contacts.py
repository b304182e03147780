"""Contact services: create, edit, tag, archive, delete (tombstone), restore.

Each function takes the write transaction and changes rows, the journal and the
search index together; a bad value raises `InvalidInput` before anything is
written, and the caller's transaction rolls back on any error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import SQLModel

from crmtui.domain.validate import (
    InvalidInput,
    clean_tags,
    normalize_email,
    normalize_phone,
    optional_text,
    require_text,
    split_name,
)
from crmtui.services.accounts import account_for_company
from crmtui.services.reindex import reindex_contact
from crmtui.store.journal import WriteTx
from crmtui.store.models import Contact
from crmtui.store.resolve import get_live


class ContactCreate(SQLModel):
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


class ContactUpdate(SQLModel):
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


_TEXT = {"title": 120, "city": 120, "country": 2, "source": 60, "external_id": 120}


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
            out[key] = optional_text(value, key, max_len=10_000)
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
        else:
            raise InvalidInput(key, "is not a contact field")
    if out.get("country"):
        out["country"] = out["country"].upper()
    return out


def contact_problems(data: ContactCreate, *, region: str) -> dict[str, str]:
    """What `create_contact` would refuse, every field at once: {field: reason}; {} saves.

    The same checks, one field at a time, so a form can show each problem under its
    field (a save stops at the first). The company is checked as the text it is;
    finding or creating its account is the save's job. Tag problems come under "tags".
    """
    problems: dict[str, str] = {}
    for key, value in data.model_dump().items():
        try:
            if key == "company":
                optional_text(value, "company")
            else:
                _clean_fields({key: value}, region=region)
        except InvalidInput as exc:
            problems[key] = exc.message
    return problems


def create_contact(*, tx: WriteTx, data: ContactCreate, region: str) -> Contact:
    """Create a contact (and its account, when the company is new)."""
    contact = Contact.model_validate(_clean(tx, data.model_dump(), region=region))
    tx.add(contact)
    reindex_contact(tx, contact)
    return contact


def update_contact(*, tx: WriteTx, contact_id: str, data: ContactUpdate, region: str) -> list[str]:
    """Change a contact's fields; returns the fields that changed."""
    contact = get_live(tx, Contact, contact_id)
    changed = tx.update(contact, _clean(tx, data.model_dump(exclude_unset=True), region=region))
    if changed:
        reindex_contact(tx, contact)
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
    return changed


def delete_contact(*, tx: WriteTx, contact_id: str) -> Contact:
    """Tombstone a contact: gone from search and lists, restorable, journaled for sync."""
    contact = get_live(tx, Contact, contact_id)
    tx.delete(contact)
    reindex_contact(tx, contact)
    return contact


def restore_contact(*, tx: WriteTx, contact_id: str) -> Contact:
    """Undo a delete."""
    contact = get_live(tx, Contact, contact_id, deleted=True)
    tx.update(contact, {"deleted_at": None})
    reindex_contact(tx, contact)
    return contact
