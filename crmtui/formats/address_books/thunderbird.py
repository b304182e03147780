"""Thunderbird's address book export: named columns, with the words its builds use by
locale ("Organisation", "Home County", "Work Zip"), and a birthday in three columns."""

from __future__ import annotations

from crmtui.formats.address_books.person import Person, Row, fill, joined, read_birthday

_THUNDERBIRD_FIELDS = {
    "name": "display name", "nickname": "nickname", "title": "job title",
    "department": "department", "website": "web page 1", "notes": "notes",
}  # fmt: skip
# Thunderbird words some columns by its build's locale (a UK build: "Organisation",
# "Home County", "Home Post Code"; older ones "Home Address2", "Work Zip").
_THUNDERBIRD_PARTS = {
    "street 2": ("address 2", "address2"),
    "region": ("state", "county"),
    "postcode": ("zipcode", "zip", "post code", "postcode"),
}
THUNDERBIRD_PHONES = (
    ("work phone", "work"), ("home phone", "home"), ("mobile number", "mobile"),
    ("pager number", "other"), ("fax number", "fax"),
)  # fmt: skip
THUNDERBIRD_PLACES = (("work", "work"), ("home", "home"))
_BIRTH = ("birth year", "birth month", "birth day")


def read_thunderbird(row: Row) -> Person:
    person = Person()
    f = person.fields
    given, family = row.get("first name"), row.get("last name")
    f["given_name"], f["family_name"] = given, family
    fill(row, person, _THUNDERBIRD_FIELDS)
    f["name"] = f["name"] or joined(given, family)
    f["company"] = row.get("organization") or row.get("organisation")
    year, month, day = (row.get(k) for k in _BIRTH)
    if year or month or day:
        if year.isdigit() and month.isdigit() and day.isdigit():
            read_birthday(f"{int(year):04d}-{int(month):02d}-{int(day):02d}", person, "Birthday")
        else:
            person.kept["Birthday"] = f"{year or '?'}-{month or '?'}-{day or '?'}"
            person.notes.append(
                f"birthday (year {year or 'none'}, month {month or 'none'}, day"
                f" {day or 'none'}) is not a whole date: kept as written"
            )
    for key, kind in THUNDERBIRD_PHONES:
        person.phone(kind, row.get(key))
    for key in ("primary email", "secondary email"):
        person.email("work", row.get(key))
    for prefix, kind in THUNDERBIRD_PLACES:
        street = ", ".join(
            p for p in (row.get(f"{prefix} address"), _part(row, prefix, "street 2")) if p
        )
        place = {
            "kind": kind,
            "street": street,
            "city": row.get(f"{prefix} city"),
            "region": _part(row, prefix, "region"),
            "postcode": _part(row, prefix, "postcode"),
            "country": row.get(f"{prefix} country"),
        }
        if any(v for k, v in place.items() if k != "kind"):
            person.addresses.append({**place, "primary": False})
    return person


def _part(row: Row, prefix: str, name: str) -> str:
    """An address part under any of the names Thunderbird builds give it."""
    return next((v for k in _THUNDERBIRD_PARTS[name] if (v := row.get(f"{prefix} {k}"))), "")


def thunderbird_read() -> set[str]:
    """The header keys the Thunderbird reader takes."""
    keys = {
        "first name", "last name", *_THUNDERBIRD_FIELDS.values(), *_BIRTH, "organization",
        "organisation", *(k for k, _ in THUNDERBIRD_PHONES), "primary email", "secondary email",
    }  # fmt: skip
    parts = ("address", "city", "country", *(k for ks in _THUNDERBIRD_PARTS.values() for k in ks))
    for prefix, _ in THUNDERBIRD_PLACES:
        keys |= {f"{prefix} {part}" for part in parts}
    return keys
