"""Account services: create, edit, tag, archive, delete (tombstone), restore."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import SQLModel, select

from crmtui.domain.validate import (
    InvalidInput,
    clean_tags,
    normalize_phone,
    optional_text,
    require_text,
)
from crmtui.services.reindex import reindex_contact
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Contact, Rep
from crmtui.store.resolve import get_live


class AccountCreate(SQLModel):
    """What a user may say about a new account."""

    name: str
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    phone: str | None = None
    website: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    territory_id: str | None = None
    tags: list[str] = []
    notes: str | None = None
    external_id: str | None = None


class AccountUpdate(SQLModel):
    """Fields to change on an account; unset fields stay as they are."""

    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    phone: str | None = None
    website: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    territory_id: str | None = None
    tags: list[str] | None = None
    notes: str | None = None
    owner_id: str | None = None


_TEXT_FIELDS = ("domain", "industry", "website", "street", "postcode", "city", "country")


def _clean(tx: WriteTx, values: dict[str, object], *, region: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in values.items():
        if key == "name":
            out["name"] = require_text(value if isinstance(value, str) else None, "name")
        elif key in _TEXT_FIELDS:
            out[key] = optional_text(value if isinstance(value, str) else None, key)
        elif key == "notes":
            out[key] = optional_text(value if isinstance(value, str) else None, key, max_len=10_000)
        elif key == "phone":
            if value is None or not str(value).strip():
                out["phone"], out["phone_e164"] = None, None
            else:
                phone = normalize_phone(str(value), region=region)
                out["phone"], out["phone_e164"] = phone.typed, phone.e164
        elif key == "employees":
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInput("employees", "must be a whole number, 0 or more")
            out[key] = value
        elif key == "owner_id":
            out[key] = get_live(tx, Rep, str(value)).id if value else None
        elif key == "tags":
            out[key] = clean_tags(list(value or []))  # type: ignore[call-overload]
        else:
            out[key] = value
    if "country" in out and out["country"] is not None:
        out["country"] = str(out["country"]).upper()
    return out


def find_account_by_name(*, tx: WriteTx, name: str) -> Account | None:
    """A live account with this name, compared case-insensitively (Unicode, as imports do)."""
    stmt = select(Account).where(
        func.unicode_lower(Account.name) == name.strip().lower(),
        Account.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    return tx.session.exec(stmt).first()


def create_account(*, tx: WriteTx, data: AccountCreate, region: str) -> Account:
    """Create an account and journal it."""
    values = _clean(tx, data.model_dump(), region=region)
    account = Account.model_validate(values)
    tx.add(account)
    return account


def account_for_company(*, tx: WriteTx, company: str, region: str) -> Account:
    """The account named `company`, created when there is none yet."""
    name = require_text(company, "company")
    existing = find_account_by_name(tx=tx, name=name)
    if existing is not None:
        return existing
    return create_account(tx=tx, data=AccountCreate(name=name), region=region)


def _contacts_of(tx: WriteTx, account_id: str) -> list[Contact]:
    stmt = select(Contact).where(Contact.account_id == account_id, Contact.deleted_at.is_(None))  # type: ignore[union-attr]
    return list(tx.session.exec(stmt))


def update_account(*, tx: WriteTx, account_id: str, data: AccountUpdate, region: str) -> list[str]:
    """Change an account's fields; returns the fields that changed."""
    account = get_live(tx, Account, account_id)
    changed = tx.update(account, _clean(tx, data.model_dump(exclude_unset=True), region=region))
    if "name" in changed:
        # The company name is part of every contact's search entry.
        for contact in _contacts_of(tx, account.id):
            reindex_contact(tx, contact)
    return changed


def archive_account(*, tx: WriteTx, account_id: str, archived: bool = True) -> list[str]:
    """Archive (or unarchive) an account."""
    account = get_live(tx, Account, account_id)
    return tx.update(account, {"archived_at": tx.now if archived else None})


def delete_account(*, tx: WriteTx, account_id: str) -> None:
    """Tombstone an account; its contacts stay and lose the link."""
    account = get_live(tx, Account, account_id)
    for contact in _contacts_of(tx, account.id):
        tx.update(contact, {"account_id": None})
        reindex_contact(tx, contact)
    tx.delete(account)
