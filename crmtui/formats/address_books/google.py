"""Google Contacts' CSV export: numbered groups ("Phone 2 - Label", "Phone 2 - Value"),
values of one label joined by " ::: ", the primary marked "* "; both its layouts (the
older "Given Name ... Type" one and the current "First Name ... Label" one)."""

from __future__ import annotations

import re

from crmtui.formats.address_books.person import (
    PHONE_LABELS,
    PLACE_LABELS,
    Person,
    Row,
    fill,
    joined,
    label_of,
    values_of,
)

NUMBERED = re.compile(r"(e-mail|email|phone|address|website|organization) (\d+) - ([a-z /]+)")
# Google's own groups, which say nothing about the person.
_SYSTEM_GROUPS = frozenset({"mycontacts", "my contacts", "starred", "other contacts"})


_GOOGLE_FIELDS = {
    "salutation": "name prefix", "nickname": "nickname", "notes": "notes",
    "company": "organization name", "title": "organization title",
    "department": "organization department",
}  # fmt: skip


def read_google(row: Row, groups: dict[tuple[str, int], dict[str, str]]) -> Person:
    person = Person()
    f = person.fields
    given = row.get("given name") or row.get("first name")
    middle = row.get("additional name") or row.get("middle name")
    family = row.get("family name") or row.get("last name")
    f["given_name"], f["family_name"] = given, family
    f["name"] = row.get("name") or joined(given, middle, family, row.get("name suffix"))
    if not f["name"]:
        f["name"] = row.get("file as")
    fill(row, person, _GOOGLE_FIELDS)
    groups_cell = row.get("group membership") or row.get("labels")
    tags = []
    for value in values_of(groups_cell):
        label, _ = label_of(value)
        if label and label.lower() not in _SYSTEM_GROUPS:
            tags.append(label)
    f["tags"] = ",".join(tags)
    for (what, n), parts in sorted(groups.items()):
        _google_group(row, person, what, n, parts)
    return person


def _google_group(row: Row, person: Person, what: str, n: int, parts: dict[str, str]) -> None:
    """One numbered group of columns ("Phone 2 - ...") into items or fields."""
    label_key = parts.get("label") or parts.get("type")
    label, primary = label_of(row.get(label_key)) if label_key else ("", False)
    kind_of = PHONE_LABELS if what == "phone" else PLACE_LABELS
    kind = kind_of.get(label.lower(), "other" if label or what == "phone" else "work")
    if label and label.lower() not in kind_of and label_key:
        person.kept[row.header(label_key)] = label  # a label of their own ("Assistant")
    if what in ("e-mail", "email", "phone", "website"):
        values = values_of(row.get(parts["value"])) if "value" in parts else []
        for i, value in enumerate(values):
            if what == "phone":
                person.phone(kind, value, primary and i == 0)
            elif what == "website":
                if i == 0 and n == 1:
                    person.fields["website"] = value
                else:
                    person.kept[row.header(parts["value"])] = " ::: ".join(values[i:])
                    break
            else:
                person.email(kind, value, primary and i == 0)
    elif what == "address":
        _google_address(row, person, kind, primary, parts)
    elif what == "organization" and n == 1:
        f = person.fields
        f["company"] = f.get("company") or row.get(parts.get("name", ""))
        f["title"] = f.get("title") or row.get(parts.get("title", ""))
        f["department"] = f.get("department") or row.get(parts.get("department", ""))


def _google_address(
    row: Row, person: Person, kind: str, primary: bool, parts: dict[str, str]
) -> None:
    def part(name: str) -> str:
        return row.get(parts[name]) if name in parts else ""

    street = ", ".join(p for p in (part("street"), part("extended address")) if p)
    if part("po box"):
        street = ", ".join(p for p in (street, f"PO Box {part('po box')}") if p)
    place = {
        "kind": kind,
        "street": street,
        "city": part("city"),
        "region": part("region"),
        "postcode": part("postal code"),
        "country": part("country"),
    }
    if not any(v for k, v in place.items() if k != "kind") and part("formatted"):
        # Only the formatted address: kept whole, as the street line.
        place["street"] = ", ".join(line.strip() for line in part("formatted").splitlines())
    if any(v for k, v in place.items() if k != "kind"):
        person.addresses.append({**place, "primary": primary})


GOOGLE_READ = frozenset(
    {
        "name", "given name", "first name", "additional name", "middle name", "family name",
        "last name", "name suffix", "file as", "name prefix", "nickname", "notes",
        "organization name", "organization title", "organization department", "birthday",
        "group membership", "labels",
    }
)  # fmt: skip
GOOGLE_PARTS = {
    "phone": {"type", "label", "value"},
    "e-mail": {"type", "label", "value"},
    "email": {"type", "label", "value"},
    "website": {"type", "label", "value"},
    "address": {
        "type", "label", "formatted", "street", "city", "po box", "region", "postal code",
        "country", "extended address",
    },
    "organization": {"name", "title", "department"},
}  # fmt: skip
