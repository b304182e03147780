"""A contact's phones, emails and postal addresses: add, change, remove, mark primary.

Each item is a synced record of its own (`ContactPhone`, `ContactEmail`,
`ContactAddress`). The contact's phone, mobile, email, city and country columns
are kept equal to the items' primaries (`crmtui.domain.contact_details`) in the
same transaction, so the search, the call list and `crm find` read one row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import col, select

from crmtui.domain.contact_details import (
    ITEM_TABLES,
    PRIMARY_COLUMNS,
    AddressItem,
    EmailItem,
    PhoneItem,
    items_from_columns,
    primary_columns,
)
from crmtui.domain.identity import extension as typed_extension
from crmtui.domain.validate import InvalidInput, normalize_email, normalize_phone, optional_text
from crmtui.store.bulk import uuid7_batch
from crmtui.store.journal import WriteTx
from crmtui.store.models import (
    ADDRESS_KINDS,
    CONTACT_ITEMS,
    EMAIL_KINDS,
    PHONE_KINDS,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactPhone,
)
from crmtui.store.resolve import NotFound, get_live

Item = ContactPhone | ContactEmail | ContactAddress
WORDS = {"contact_phone": "phone", "contact_email": "email", "contact_address": "address"}
"""What a person calls each item entity."""


def _live(tx: WriteTx, model: type[Item], contact_id: str) -> list[Any]:
    rows = tx.session.exec(
        select(model).where(model.contact_id == contact_id, col(model.deleted_at).is_(None))
    ).all()
    return sorted(rows, key=lambda r: r.id)


def phones_of(tx: WriteTx, contact_id: str) -> list[ContactPhone]:
    """A contact's live phones, oldest first."""
    return _live(tx, ContactPhone, contact_id)


def emails_of(tx: WriteTx, contact_id: str) -> list[ContactEmail]:
    """A contact's live emails, oldest first."""
    return _live(tx, ContactEmail, contact_id)


def addresses_of(tx: WriteTx, contact_id: str) -> list[ContactAddress]:
    """A contact's live postal addresses, oldest first."""
    return _live(tx, ContactAddress, contact_id)


def derived_columns(
    db: sqlite3.Connection, contact_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per contact that has any item row (live or not), its primary columns from its live items.

    Read with SQL on the raw connection: the remote applier calls it for a pulled
    page, the services for one contact. A contact with no item rows at all (made by
    an older version of the program) is left out: its columns are all it has.
    """
    ids = sorted(set(contact_ids))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        phones: dict[str, list[PhoneItem]] = {}
        emails: dict[str, list[EmailItem]] = {}
        addresses: dict[str, list[AddressItem]] = {}
        has_items: set[str] = set()
        for cid, iid, kind, number, e164, primary, dead in db.execute(
            "SELECT contact_id, id, kind, number, e164, is_primary, deleted_at IS NOT NULL"
            f" FROM contact_phone WHERE contact_id IN ({marks})",
            chunk,
        ):
            has_items.add(cid)
            if not dead:
                phones.setdefault(cid, []).append(PhoneItem(iid, kind, number, e164, bool(primary)))
        for cid, iid, kind, address, primary, dead in db.execute(
            "SELECT contact_id, id, kind, address, is_primary, deleted_at IS NOT NULL"
            f" FROM contact_email WHERE contact_id IN ({marks})",
            chunk,
        ):
            has_items.add(cid)
            if not dead:
                emails.setdefault(cid, []).append(EmailItem(iid, kind, address, bool(primary)))
        for cid, iid, kind, city, country, primary, dead in db.execute(
            "SELECT contact_id, id, kind, city, country, is_primary, deleted_at IS NOT NULL"
            f" FROM contact_address WHERE contact_id IN ({marks})",
            chunk,
        ):
            has_items.add(cid)
            if not dead:
                addresses.setdefault(cid, []).append(
                    AddressItem(iid, kind, city, country, bool(primary))
                )
        for cid in has_items:
            out[cid] = primary_columns(
                phones.get(cid, []), emails.get(cid, []), addresses.get(cid, [])
            )
    return out


def searched_values(
    db: sqlite3.Connection, contact_ids: Iterable[str]
) -> dict[str, tuple[list[str], list[tuple[str | None, str | None]]]]:
    """Per contact, its live items' emails and phones (as typed, E.164) for its search entry."""
    ids = sorted(set(contact_ids))
    out: dict[str, tuple[list[str], list[tuple[str | None, str | None]]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for cid, address in db.execute(
            "SELECT contact_id, address FROM contact_email WHERE deleted_at IS NULL"
            f" AND contact_id IN ({marks}) ORDER BY id",
            chunk,
        ):
            out.setdefault(cid, ([], []))[0].append(address)
        for cid, number, e164 in db.execute(
            "SELECT contact_id, number, e164 FROM contact_phone WHERE deleted_at IS NULL"
            f" AND contact_id IN ({marks}) ORDER BY id",
            chunk,
        ):
            out.setdefault(cid, ([], []))[1].append((number, e164))
    return out


def derive_columns(items: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The primary columns of item values not yet written ({table: [values]})."""
    return primary_columns(
        [
            PhoneItem(p["id"], p["kind"], p["number"], p["e164"], p["is_primary"])
            for p in items.get("contact_phone", [])
        ],
        [
            EmailItem(e["id"], e["kind"], e["address"], e["is_primary"])
            for e in items.get("contact_email", [])
        ],
        [
            AddressItem(a["id"], a["kind"], a["city"], a["country"], a["is_primary"])
            for a in items.get("contact_address", [])
        ],
    )


def refresh_primaries(tx: WriteTx, contact: Contact) -> list[str]:
    """Set the contact's primary columns from its items (journaled); returns what changed."""
    tx.session.flush()
    values = derived_columns(tx.db, [contact.id]).get(contact.id)
    if values is None:
        values = dict.fromkeys(PRIMARY_COLUMNS)
    return tx.update(contact, values)


def _kind(value: str | None, kinds: tuple[str, ...], word: str) -> str:
    kind = (value or "work").strip().lower()
    if kind not in kinds:
        raise InvalidInput(f"{word} kind", f"{value!r} is not one of {', '.join(kinds)}")
    return kind


def _unmark(tx: WriteTx, rows: Iterable[Any], keep: Any) -> None:
    for row in rows:
        if row is not keep and row.is_primary:
            tx.update(row, {"is_primary": False})


def clean_phone(kind: str | None, number: str, ext: str | None, *, region: str) -> dict[str, Any]:
    """A phone item's values from what a person typed (no writes); bad input raises."""
    kind = _kind(kind, PHONE_KINDS, "phone")
    phone = normalize_phone(number, region=region, field="phone")
    ext = (ext or "").strip() or typed_extension(phone.typed)
    if ext is not None and (not ext.isdigit() or len(ext) > 20):
        raise InvalidInput("phone", f"extension {ext!r} must be at most 20 digits")
    return {"kind": kind, "number": phone.typed, "e164": phone.e164, "extension": ext}


def clean_email(kind: str | None, address: str) -> dict[str, Any]:
    """An email item's values from what a person typed (no writes)."""
    kind = _kind(kind, EMAIL_KINDS, "email")
    return {"kind": kind, "address": normalize_email(address, field="email")}


def clean_address(kind: str | None, parts: Mapping[str, str | None]) -> dict[str, Any]:
    """An address item's values from its parts (no writes)."""
    kind = _kind(kind, ADDRESS_KINDS, "address")
    out: dict[str, Any] = {"kind": kind}
    limits = {"street": 300, "city": 120, "region": 120, "postcode": 20, "country": 2}
    for name, limit in limits.items():
        out[name] = optional_text(parts.get(name), f"address {name}", max_len=limit)
    if out["country"]:
        out["country"] = out["country"].upper()
    if not any(out[n] for n in limits):
        raise InvalidInput("address", "has no street, city, region, postcode or country")
    return out


def add_phone(
    tx: WriteTx,
    contact: Contact,
    values: Mapping[str, Any],
    *,
    primary: bool | None = None,
) -> ContactPhone:
    """Add a phone (values from `clean_phone`); dialled when asked, or when none is yet."""
    phones = phones_of(tx, contact.id)
    key = (values["e164"], values.get("extension"))
    if any((p.e164, p.extension) == key for p in phones):
        raise InvalidInput("phone", f"{values['number']!r} is already one of this contact's phones")
    if primary and values["kind"] == "fax":
        raise InvalidInput("phone", "a fax cannot be the number the call list dials")
    if primary is None:
        primary = values["kind"] != "fax" and not any(p.is_primary for p in phones)
    row = ContactPhone(contact_id=contact.id, is_primary=primary, **values)
    tx.add(row)
    if primary:
        _unmark(tx, phones, row)
    refresh_primaries(tx, contact)
    return row


_Row = TypeVar("_Row", ContactEmail, ContactAddress)


def _add(
    tx: WriteTx, contact: Contact, row: _Row, siblings: list[_Row], primary: bool | None
) -> _Row:
    """Write a new email or address: primary when asked, or when none is yet."""
    row.is_primary = not any(s.is_primary for s in siblings) if primary is None else primary
    tx.add(row)
    if row.is_primary:
        _unmark(tx, siblings, row)
    refresh_primaries(tx, contact)
    return row


def add_email(
    tx: WriteTx, contact: Contact, values: Mapping[str, Any], *, primary: bool | None = None
) -> ContactEmail:
    """Add an email (values from `clean_email`); primary when asked, or when it is the first."""
    emails = emails_of(tx, contact.id)
    if any(e.address.lower() == values["address"].lower() for e in emails):
        raise InvalidInput(
            "email", f"{values['address']!r} is already one of this contact's emails"
        )
    return _add(tx, contact, ContactEmail(contact_id=contact.id, **values), emails, primary)


def add_address(
    tx: WriteTx, contact: Contact, values: Mapping[str, Any], *, primary: bool | None = None
) -> ContactAddress:
    """Add a postal address (values from `clean_address`); primary when asked or the first."""
    row = ContactAddress(contact_id=contact.id, **values)
    return _add(tx, contact, row, addresses_of(tx, contact.id), primary)


def add_item(tx: WriteTx, contact: Contact, entity: str, values: Mapping[str, Any]) -> Item:
    """Add an item of any entity (values already checked), primary only when it is the first.

    For importers that bring items as data. A phone kept as typed (no E.164) is added
    as it is: it cannot be compared with the others, so it is never refused as a repeat.
    """
    if entity == "contact_phone":
        if values.get("e164") is None:
            row = ContactPhone(contact_id=contact.id, is_primary=False, **values)
            tx.add(row)
            refresh_primaries(tx, contact)
            return row
        return add_phone(tx, contact, values)
    if entity == "contact_email":
        return add_email(tx, contact, values)
    return add_address(tx, contact, values)


def get_item(tx: WriteTx, entity: str, item_id: str) -> Any:
    """A live item by entity and id (NotFound when gone)."""
    return get_live(tx, CONTACT_ITEMS[entity], item_id)


def update_item(tx: WriteTx, item: Any, values: Mapping[str, Any]) -> list[str]:
    """Change an item's values (already cleaned); returns the fields that changed."""
    if isinstance(item, ContactPhone) and values.get("kind") == "fax" and item.is_primary:
        raise InvalidInput("phone", "the dialled phone cannot become a fax (mark another first)")
    changed = tx.update(item, dict(values))
    if changed:
        refresh_primaries(tx, get_live(tx, Contact, item.contact_id))
    return changed


def set_primary(tx: WriteTx, item: Any) -> list[str]:
    """Make an item its contact's primary (for a phone: the one the call list dials)."""
    if isinstance(item, ContactPhone) and item.kind == "fax":
        raise InvalidInput("phone", "a fax cannot be the number the call list dials")
    siblings = _live(tx, type(item), item.contact_id)
    changed = tx.update(item, {"is_primary": True})
    _unmark(tx, siblings, item)
    refresh_primaries(tx, get_live(tx, Contact, item.contact_id))
    return changed


def remove_item(tx: WriteTx, item: Any) -> None:
    """Tombstone an item; when it was the primary, the next one (by the same rule) becomes it."""
    tx.delete(item)
    contact = get_live(tx, Contact, item.contact_id)
    if item.is_primary:
        rest = _live(tx, type(item), item.contact_id)
        if isinstance(item, ContactPhone):
            rest = [p for p in rest if p.kind != "fax"]
        if rest:
            tx.update(rest[0], {"is_primary": True})
    refresh_primaries(tx, contact)


def find_item(tx: WriteTx, contact_id: str, entity: str, ref: str) -> Any:
    """One of a contact's items named by id, number, address or kind; unclear names raise."""
    rows = _live(tx, CONTACT_ITEMS[entity], contact_id)
    word = WORDS[entity]
    text = ref.strip()
    low = text.lower()
    digits = "".join(ch for ch in text if ch.isdigit())

    def matches(row: Any) -> bool:
        if row.id == text or row.kind == low:
            return True
        if isinstance(row, ContactPhone):
            mine = "".join(ch for ch in (row.e164 or row.number) if ch.isdigit())
            typed = "".join(ch for ch in row.number if ch.isdigit())
            return bool(digits) and (digits in (mine, typed) or mine.endswith(digits.lstrip("0")))
        if isinstance(row, ContactEmail):
            return row.address.lower() == low
        return low in ((row.city or "").lower(), (row.street or "").lower())

    found = [r for r in rows if matches(r)]
    if not found:
        raise NotFound(f"no {word} {text!r} on this contact")
    if len(found) > 1:
        raise InvalidInput(word, f"{text!r} names {len(found)} {word}s; give the number or address")
    return found[0]


def adopt_columns(tx: WriteTx, contact: Contact, values: Mapping[str, Any]) -> None:
    """Put primary column values (phone, mobile, email, city, country) into the items.

    For writers that speak in columns (`crm contact add --phone`, CSV import, lead
    conversion): a given phone replaces the dialled phone's number (or adds a work
    phone), a mobile the first other mobile, an email the primary email, a city or
    country the primary address's; "" or None removes it. Then the columns are
    derived again from the items.
    """
    phones = phones_of(tx, contact.id)
    dial = next((p for p in phones if p.is_primary and p.kind != "fax"), None)
    for name in ("phone", "mobile"):
        if name not in values:
            continue
        if name == "phone":
            row = dial
        else:
            row = next((p for p in phones if p.kind == "mobile" and p is not dial), None)
        typed, e164 = values[name], values.get(f"{name}_e164")
        if not typed:
            if row is not None:
                remove_item(tx, row)
            continue
        item = {"number": typed, "e164": e164, "extension": typed_extension(typed)}
        if row is not None:
            tx.update(row, item)
        else:
            kind = "work" if name == "phone" else "mobile"
            # The old columns' rule: the phone is dialled, the mobile when there is no phone.
            primary = name == "phone" or dial is None
            if primary:
                _unmark(tx, phones, None)
            row = ContactPhone(contact_id=contact.id, kind=kind, is_primary=primary, **item)
            tx.add(row)
            phones.append(row)
            if primary:
                dial = row
    if "email" in values:
        emails = emails_of(tx, contact.id)
        main = next((e for e in emails if e.is_primary), emails[0] if emails else None)
        if not values["email"]:
            if main is not None:
                remove_item(tx, main)
        elif main is not None:
            tx.update(main, {"address": values["email"]})
        else:
            tx.add(ContactEmail(contact_id=contact.id, address=values["email"], is_primary=True))
    place = {k: values[k] for k in ("city", "country") if k in values}
    if place:
        addresses = addresses_of(tx, contact.id)
        home = next((a for a in addresses if a.is_primary), addresses[0] if addresses else None)
        if home is not None:
            tx.update(home, place)
            if not any((home.street, home.city, home.region, home.postcode, home.country)):
                remove_item(tx, home)
        elif any(place.values()):
            tx.add(ContactAddress(contact_id=contact.id, is_primary=True, **place))
    refresh_primaries(tx, contact)


def item_rows(contacts: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The item values of new contacts' primary columns, per item table (CSV import).

    Ids are UUIDv7 made in one batch, in order: the contacts are new, so there is no
    other laptop's item to agree with (the migration's derived ids, `item_id`, are
    for that), and ids that only grow are appended to the item tables' and the
    journal's indexes instead of landing all over them (~350k items per 100k rows).
    """
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in ITEM_TABLES}
    ids = iter(uuid7_batch(4 * len(contacts)))  # at most a phone, a mobile, an email, a place

    def fresh(_contact: str, _slot: str) -> str:
        return next(ids)

    for c in contacts:
        made = items_from_columns(
            c["id"],
            c.get("phone"),
            c.get("phone_e164"),
            c.get("mobile"),
            c.get("mobile_e164"),
            c.get("email"),
            c.get("city"),
            c.get("country"),
            now="",
            new_id=fresh,
        )
        for table, rows in made.items():
            for row in rows:
                del row["created_at"], row["updated_at"]
            out[table] += rows
    return out


@dataclass
class ItemEdit:
    """A form's changes to a contact's items: what to remove, what to add, which phone to dial."""

    remove: list[tuple[str, str]] = field(default_factory=list)  # (entity, item id)
    add: list[tuple[str, dict[str, Any], bool | None]] = field(default_factory=list)
    """(entity, clean values, primary: True to make it the primary, None by the usual rule)."""
    dial: str | None = None  # the phone item to dial (None: as it is)

    def __bool__(self) -> bool:
        return bool(self.remove or self.add or self.dial)


def edit_items(tx: WriteTx, contact_id: str, edit: ItemEdit) -> list[str]:
    """Apply an item edit in the caller's transaction: removals, additions, then the dialled phone.

    Returns what changed in words ("removed phone", "added email", "dialled phone").
    """
    contact = get_live(tx, Contact, contact_id)
    done: list[str] = []
    removed: set[str] = set()
    for entity, item_id in edit.remove:
        item = get_item(tx, entity, item_id)
        if item.contact_id != contact_id:
            raise NotFound(f"{WORDS[entity]} {item_id} is not this contact's")
        remove_item(tx, item)
        removed.add(item_id)
        done.append(f"removed {WORDS[entity]}")
    for entity, values, primary in edit.add:
        if entity == "contact_phone":
            add_phone(tx, contact, values, primary=primary)
        elif entity == "contact_email":
            add_email(tx, contact, values, primary=primary)
        else:
            add_address(tx, contact, values, primary=primary)
        done.append(f"added {WORDS[entity]}")
    if edit.dial is not None:
        if edit.dial in removed:
            raise InvalidInput("dial", "the dialled phone cannot be one that is removed")
        phone = get_item(tx, "contact_phone", edit.dial)
        if phone.contact_id != contact_id:
            raise NotFound(f"phone {edit.dial} is not this contact's")
        if not phone.is_primary and set_primary(tx, phone):
            done.append("dialled phone")
    return done
