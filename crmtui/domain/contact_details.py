"""A contact's phones, emails and addresses as items: which are primary, and the spec syntax.

The items (`contact_phone`, `contact_email`, `contact_address`) are the truth; the
contact's phone, mobile, email, city and country columns are their primaries,
derived here by one pure rule so every laptop derives the same values from the
same items (`primary_columns`):

- the dialled phone: the one marked primary (never a fax), else the first work,
  home or other phone, else the first mobile;
- phone: the dialled phone unless it is a mobile; mobile: the dialled phone when
  it is a mobile, else the first mobile. The call list dials `phone`, else
  `mobile`, so it dials the dialled phone; and a contact's old phone and mobile
  columns become items that give back exactly those columns;
- email: the email marked primary, else the first;
- city and country: the address marked primary, else the first.

"First" is by item id (UUIDv7: creation order). When two laptops each marked a
different item primary without seeing each other's, both stay marked and the
newest item (highest id) wins, the same on every laptop.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from hashlib import sha1
from typing import Any, TypeVar

from crmtui.domain.identity import extension
from crmtui.domain.validate import InvalidInput

PHONE_ORDER = ("work", "home", "other", "mobile")
"""Kinds the call list may dial when no phone is marked, in order of preference (no fax)."""
_NAMESPACE = uuid.UUID("6b1d6a5c-3f0e-4c55-9f6a-0d3c7c1f0e07")
_NAMESPACE_BYTES = _NAMESPACE.bytes
PRIMARY_COLUMNS = (
    "phone",
    "phone_e164",
    "mobile",
    "mobile_e164",
    "email",
    "city",
    "country",
)
"""The contact columns derived from its items."""


@dataclass(frozen=True, slots=True)
class PhoneItem:
    """A phone item as the derivation reads it."""

    id: str
    kind: str
    number: str
    e164: str | None
    is_primary: bool = False
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class EmailItem:
    """An email item as the derivation reads it."""

    id: str
    kind: str
    address: str
    is_primary: bool = False


@dataclass(frozen=True, slots=True)
class AddressItem:
    """An address item as the derivation reads it."""

    id: str
    kind: str
    city: str | None
    country: str | None
    is_primary: bool = False


_Item = TypeVar("_Item", EmailItem, AddressItem)


def item_id(contact_id: str, slot: str) -> str:
    """The id of an item made from a contact's old column (`slot`), the same on every laptop.

    The migration and `adopt_columns` make items from columns every laptop already
    holds; deriving the id from the contact means two laptops make one item, not two.
    """
    # `str(uuid.uuid5(_NAMESPACE, name))` spelled out: a 100k-row import makes ~350k
    # of these, and the UUID object costs more than the hash (tests/test_contact_items.py).
    b = bytearray(sha1(_NAMESPACE_BYTES + f"{contact_id}/{slot}".encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _marked(items: Sequence[_Item]) -> _Item | None:
    marked = [i for i in items if i.is_primary]
    if marked:
        return max(marked, key=lambda i: i.id)
    return min(items, key=lambda i: i.id) if items else None


def dialled(phones: Sequence[PhoneItem]) -> PhoneItem | None:
    """The phone the call list dials: the marked one (never a fax), else by kind and age."""
    dialable = [p for p in phones if p.kind != "fax"]
    marked = [p for p in dialable if p.is_primary]
    if marked:
        return max(marked, key=lambda p: p.id)
    ordered = sorted(dialable, key=lambda p: (PHONE_ORDER.index(p.kind), p.id))
    return ordered[0] if ordered else None


def dial_mark(phone: dict[str, Any]) -> str | None:
    """How a card marks a phone: "dialled" for the marked one the call list can dial, a
    warning for a marked one it cannot (kept as typed, no country known)."""
    if not phone.get("is_primary"):
        return None
    return "dialled" if phone.get("e164") else "marked, cannot be dialled"


def address_line(address: dict[str, Any]) -> str:
    """An address on one line: street, postcode and city, region, country (a street of
    several lines, as phones and vCards write it, joined with commas)."""
    street = ", ".join(s.strip() for s in (address.get("street") or "").splitlines() if s.strip())
    place = " ".join(filter(None, [address.get("postcode"), address.get("city")]))
    parts = (street, place, address.get("region"), address.get("country"))
    return ", ".join(p for p in parts if p)


def primary_columns(
    phones: Sequence[PhoneItem], emails: Sequence[EmailItem], addresses: Sequence[AddressItem]
) -> dict[str, str | None]:
    """The contact's primary columns derived from its live items (see the module docstring)."""
    dial = dialled(phones)
    mobiles = sorted((p for p in phones if p.kind == "mobile"), key=lambda p: p.id)
    mobile = dial if dial is not None and dial.kind == "mobile" else None
    if mobile is None and mobiles:
        mobile = mobiles[0]
    if dial is not None and dial.kind == "mobile":
        dial = None
    email = _marked(emails)
    address = _marked(addresses)
    return {
        "phone": dial.number if dial else None,
        "phone_e164": dial.e164 if dial else None,
        "mobile": mobile.number if mobile else None,
        "mobile_e164": mobile.e164 if mobile else None,
        "email": email.address if email else None,
        "city": address.city if address else None,
        "country": address.country if address else None,
    }


_KIND = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*)$", re.DOTALL)


def _split_kind(spec: str, kinds: Sequence[str], default: str, field: str) -> tuple[str, str]:
    found = _KIND.match(spec)
    if found and found.group(1).lower() in kinds:
        return found.group(1).lower(), found.group(2).strip()
    if found and not found.group(2).strip().startswith("//") and "@" not in found.group(1):
        # "kind:value" with a kind we do not know (an email "x@y" has no colon before "@")
        raise InvalidInput(
            field, f"{found.group(1)!r} is not a kind (use one of {', '.join(kinds)})"
        )
    return default, spec.strip()


def _options(rest: str, field: str, allowed: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Split "value;name=x;primary" into the value and its options (names in `allowed`)."""
    value, *pieces = rest.split(";")
    options: dict[str, str] = {}
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        name, _, given = piece.partition("=")
        name = name.strip().lower()
        if name not in allowed:
            raise InvalidInput(field, f"{piece!r} is not an option (options: {', '.join(allowed)})")
        options[name] = given.strip()
    return value.strip(), options


def parse_phone_spec(spec: str, kinds: Sequence[str]) -> tuple[str, str, str | None, bool]:
    """`"work:+49 30 1234;ext=12;primary"` -> (kind, number, extension, primary).

    The kind defaults to work; `primary` makes it the number the call list dials.
    """
    kind, rest = _split_kind(spec, kinds, "work", "phone")
    number, options = _options(rest, "phone", ("ext", "primary"))
    if not number:
        raise InvalidInput(
            "phone", f"{spec!r} has no number (write kind:number, e.g. work:+4930123)"
        )
    ext = options.get("ext") or None
    if ext is not None and not ext.isdigit():
        raise InvalidInput("phone", f"extension {ext!r} must be digits")
    return kind, number, ext, "primary" in options


def parse_email_spec(spec: str, kinds: Sequence[str]) -> tuple[str, str, bool]:
    """`"home:x@example.org;primary"` -> (kind, address, primary); the kind defaults to work."""
    kind, rest = _split_kind(spec, kinds, "work", "email")
    address, options = _options(rest, "email", ("primary",))
    if not address:
        raise InvalidInput("email", f"{spec!r} has no address (write kind:address)")
    return kind, address, "primary" in options


ADDRESS_PARTS = ("street", "city", "region", "postcode", "country")


def parse_address_spec(spec: str, kinds: Sequence[str]) -> tuple[str, dict[str, str], bool]:
    """`"work:street=Hauptstr. 1;city=Berlin;country=DE;primary"` -> (kind, parts, primary)."""
    kind, rest = _split_kind(spec, kinds, "work", "address")
    parts: dict[str, str] = {}
    primary = False
    for piece in filter(None, (p.strip() for p in rest.split(";"))):
        if piece.lower() == "primary":
            primary = True
            continue
        name, sep, value = piece.partition("=")
        name = name.strip().lower()
        if not sep or name not in ADDRESS_PARTS:
            raise InvalidInput(
                "address",
                f"{piece!r} is not part=value (parts: {', '.join(ADDRESS_PARTS)})",
            )
        parts[name] = value.strip()
    if not any(parts.values()):
        raise InvalidInput("address", f"{spec!r} names no street, city, postcode or country")
    return kind, parts, primary


ITEM_TABLES = ("contact_phone", "contact_email", "contact_address")


def items_from_columns(
    cid: str,
    phone: str | None,
    phone_e164: str | None,
    mobile: str | None,
    mobile_e164: str | None,
    email: str | None,
    city: str | None,
    country: str | None,
    *,
    now: str,
    new_id: Callable[[str, str], str] = item_id,
) -> dict[str, list[dict[str, object]]]:
    """The item rows a contact's old primary columns become, ids from `new_id(cid, slot)`.

    The phone is the dialled one (the call list dialled it first before items), the
    mobile is dialled only when there is no phone.
    """
    base = {"contact_id": cid, "created_at": now, "updated_at": now}
    out: dict[str, list[dict[str, object]]] = {t: [] for t in ITEM_TABLES}
    has_phone = bool(phone or phone_e164)
    for slot, kind, typed, e164, primary in (
        ("phone", "work", phone, phone_e164, True),
        ("mobile", "mobile", mobile, mobile_e164, not has_phone),
    ):
        if typed or e164:
            out["contact_phone"].append(
                {
                    "id": new_id(cid, slot),
                    **base,
                    "kind": kind,
                    "number": typed or e164,
                    "e164": e164,
                    "extension": extension(typed),
                    "is_primary": primary,
                }
            )
    if email:
        out["contact_email"].append(
            {
                "id": new_id(cid, "email"),
                **base,
                "kind": "work",
                "address": email,
                "is_primary": True,
            }
        )
    if city or country:
        out["contact_address"].append(
            {
                "id": new_id(cid, "address"),
                **base,
                "kind": "work",
                "city": city,
                "country": country,
                "is_primary": True,
            }
        )
    return out


def merged_primaries(
    survivor: tuple[Sequence[PhoneItem], Sequence[EmailItem], Sequence[AddressItem]],
    merged: tuple[Sequence[PhoneItem], Sequence[EmailItem], Sequence[AddressItem]],
    chosen: dict[str, object],
) -> dict[str, str | None]:
    """The survivor's primary columns after a merge (what `services.upkeep.merge` makes of the items).

    The merged side's items join the survivor's unmarked (a repeat of one of the
    survivor's goes); then the items holding the chosen phone, email and city are
    marked, and the columns are derived as always.
    """
    phones = list(survivor[0])
    keys = {(p.e164 or p.number, p.extension or "") for p in phones}
    phones += [
        replace(p, is_primary=False)
        for p in merged[0]
        if (p.e164 or p.number, p.extension or "") not in keys
    ]
    emails = list(survivor[1])
    seen = {e.address.lower() for e in emails}
    emails += [replace(e, is_primary=False) for e in merged[1] if e.address.lower() not in seen]
    addresses = list(survivor[2]) + [replace(a, is_primary=False) for a in merged[2]]

    def mark(items: list[Any], name: str, value: object) -> list[Any]:
        match = next(
            (i for i in items if getattr(i, name) == value and getattr(i, "kind", "") != "fax"),
            None,
        )
        if value is None or match is None:
            return items
        return [replace(i, is_primary=i is match) for i in items]

    return primary_columns(
        mark(phones, "e164", chosen.get("phone_e164")),
        mark(emails, "address", chosen.get("email")),
        mark(addresses, "city", chosen.get("city")),
    )
