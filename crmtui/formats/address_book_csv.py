"""Google Contacts and Outlook CSV exports: every phone, email and address of a row.

Both write one person a row over many typed columns. Google numbers them
("E-mail 2 - Label", "Phone 1 - Value"; values of one label joined by " ::: ", the
primary marked "* "), Outlook names them ("Business Phone 2", "Home Street",
"E-mail 3 Address"). A column-to-field mapping would keep one phone and one email
of them; this module reads them as the items a vCard gives (`csv_import._card_items`),
so a person keeps every number, address and email. What it does not read is kept on
the contact (`extra`), as for any CSV, and a value it cannot read (a birthday without
a year, a date that could be two days) is kept as written and noted for the dry run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

LAYOUTS = ("google", "outlook", "thunderbird")

_NUMBERED = re.compile(r"(e-mail|email|phone|address|website|organization) (\d+) - ([a-z /]+)")
# Google's own groups, which say nothing about the person.
_SYSTEM_GROUPS = frozenset({"mycontacts", "my contacts", "starred", "other contacts"})
_SPLIT = re.compile(r"\s*:::\s*")


def _key(header: str) -> str:
    return " ".join(header.strip().lower().split())


# A German Outlook writes its export's header in German: the columns the reader takes,
# by their English names (the others are kept under their own).
_OUTLOOK_DE = {
    "anrede": "title", "vorname": "first name", "weitere vornamen": "middle name",
    "nachname": "last name", "firma": "company", "abteilung": "department",
    "position": "job title", "straße geschäftlich": "business street",
    "straße geschäftlich 2": "business street 2", "straße geschäftlich 3": "business street 3",
    "ort geschäftlich": "business city", "region geschäftlich": "business state",
    "postleitzahl geschäftlich": "business postal code",
    "land/region geschäftlich": "business country/region",
    "postfach geschäftlich": "business address po box", "straße privat": "home street",
    "straße privat 2": "home street 2", "straße privat 3": "home street 3",
    "ort privat": "home city", "bundesland/kanton privat": "home state",
    "postleitzahl privat": "home postal code", "land/region privat": "home country/region",
    "postfach privat": "home address po box", "weitere straße": "other street",
    "weitere straße 2": "other street 2", "weitere straße 3": "other street 3",
    "weiterer ort": "other city", "weiteres/r bundesland/kanton": "other state",
    "weitere postleitzahl": "other postal code", "weiteres/r land/region": "other country/region",
    "weiteres postfach": "other address po box", "telefon assistent": "assistant's phone",
    "fax geschäftlich": "business fax", "telefon geschäftlich": "business phone",
    "telefon geschäftlich 2": "business phone 2", "rückmeldung": "callback",
    "autotelefon": "car phone", "telefon firma": "company main phone", "fax privat": "home fax",
    "telefon privat": "home phone", "telefon privat 2": "home phone 2",
    "mobiltelefon": "mobile phone", "weiteres fax": "other fax", "weiteres telefon": "other phone",
    "haupttelefon": "primary phone", "telefon für hörbehinderte": "tty/tdd phone",
    "e-mail-adresse": "e-mail address", "e-mail 2: adresse": "e-mail 2 address",
    "e-mail 3: adresse": "e-mail 3 address", "geburtstag": "birthday", "jahrestag": "anniversary",
    "kategorien": "categories", "notizen": "notes", "webseite": "web page",
    "geschlecht": "gender", "priorität": "priority", "vertraulichkeit": "sensitivity",
    "privat": "private",
}  # fmt: skip
# Columns only an Outlook export has together (a German spreadsheet of names and emails is
# not taken for one).
_OUTLOOK_DE_SIGNS = frozenset(
    {"telefon geschäftlich", "straße geschäftlich", "ort geschäftlich", "fax geschäftlich",
     "postleitzahl geschäftlich", "telefon privat"}
)  # fmt: skip


def _outlook_keys(keys: Sequence[str]) -> list[str]:
    """A German Outlook header's keys by their English names (others as they are)."""
    if len(_OUTLOOK_DE_SIGNS.intersection(keys)) < 2:
        return list(keys)
    return [_OUTLOOK_DE.get(k, k) for k in keys]


def detect_layout(headers: Sequence[str]) -> str | None:
    """The layout ("google" or "outlook") when the headers are that product's export."""
    keys = {_key(h) for h in headers}
    named = keys & {"name", "given name", "family name", "first name", "last name"}
    if named and any(_NUMBERED.fullmatch(k) for k in keys):
        return "google"
    if {"first name", "last name", "display name", "primary email"} <= keys:
        return "thunderbird"
    keys |= set(_outlook_keys(list(keys)))
    if {"first name", "last name", "e-mail address"} <= keys and keys & {
        "business phone", "home phone", "mobile phone", "business street", "job title",
    }:  # fmt: skip
        return "outlook"
    return None


_NAME_KEYS = frozenset({"name", "given name", "first name", "family name", "last name", "file as"})


def names_people(headers: Sequence[str]) -> bool:
    """Whether some column of the file gives a person's name."""
    return any(_key(h) in _NAME_KEYS for h in headers)


@dataclass
class _Person:
    """What one row says, as import fields, items and kept values."""

    fields: dict[str, str] = field(default_factory=dict)
    phones: list[list[Any]] = field(default_factory=list)  # [kind, number, primary]
    emails: list[list[Any]] = field(default_factory=list)  # [kind, address, primary]
    addresses: list[dict[str, Any]] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, str]:
        """The cells `csv_import.plan_records` reads (items, kept and notes as JSON/text)."""
        out = {k: v for k, v in self.fields.items() if v}
        _mark_primary(self.phones, dialled=True)
        _mark_primary(self.emails, dialled=False)
        if self.addresses and not any(a["primary"] for a in self.addresses):
            self.addresses[0]["primary"] = True
        for place in self.addresses:
            place.pop("mapped", None)
        if self.phones or self.emails or self.addresses:
            items = {"phones": self.phones, "emails": self.emails, "addresses": self.addresses}
            out["_items"] = json.dumps(items, ensure_ascii=False)
        first = next((a for a in self.addresses if a["primary"]), None)
        if first is not None:
            # The row's country reads its national numbers (as a card's first address).
            out.setdefault("country", first.get("country") or "")
            out.setdefault("city", first.get("city") or "")
        if self.kept:
            out["_kept"] = json.dumps(self.kept, ensure_ascii=False)
        if self.notes:
            out["_notes"] = "\n".join(self.notes)
        return {k: v for k, v in out.items() if v}

    def phone(self, kind: str, number: str, primary: bool = False) -> None:
        """Add a number once (Outlook's Primary Phone repeats another column)."""
        if number and not any(p[1] == number for p in self.phones):
            self.phones.append([kind, number, primary and kind != "fax"])
        elif primary and kind != "fax":
            for p in self.phones:
                p[2] = p[2] or p[1] == number

    def email(self, kind: str, address: str, primary: bool = False) -> None:
        """Add an address once."""
        if address and not any(e[1].lower() == address.lower() for e in self.emails):
            self.emails.append([kind, address, primary])


def _mark_primary(items: list[list[Any]], *, dialled: bool) -> None:
    """One primary: the one the file marked, else the first (a phone: not a mobile, if any)."""
    marked = [i for i in items if i[2]]
    for extra in marked[1:]:
        extra[2] = False
    if marked or not items:
        return
    if dialled:
        usable = [i for i in items if i[0] != "fax"]
        wanted = [i for i in usable if i[0] != "mobile"] or usable
        if wanted:
            wanted[0][2] = True
    else:
        items[0][2] = True


def _values(cell: str) -> list[str]:
    """A Google cell's values (several of one label are joined by " ::: ")."""
    return [v for v in _SPLIT.split(cell.strip()) if v]


def _label(text: str) -> tuple[str, bool]:
    """A Google label without its primary mark, and whether it had one ("* Home")."""
    text = text.strip()
    primary = text.startswith("*")
    return text.lstrip("*").strip(), primary


_PHONE_LABELS = {
    "mobile": "mobile", "cell": "mobile", "work mobile": "mobile", "iphone": "mobile",
    "home": "home", "work": "work", "main": "work", "company main": "work",
    "business": "work", "work fax": "fax", "home fax": "fax", "fax": "fax",
    "other fax": "fax", "other": "other", "pager": "other", "work pager": "other",
}  # fmt: skip
_PLACE_LABELS = {"home": "home", "work": "work", "business": "work", "other": "other"}


def _birthday(text: str, person: _Person, header: str) -> None:
    """An ISO date, a d.m.y one, or a d/m/y or m/d/y one that can only be one day; else
    kept as written, noted."""
    text = text.strip()
    if not text or text in _NO_DATE:
        return  # Outlook's "no date"
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if found:
        parts = tuple(int(g) for g in found.groups())
        day: date | None = _date(parts[0], parts[1], parts[2])
    else:
        day = None
        numeric = re.fullmatch(r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})", text)
        if numeric:
            a, b, year = (int(g) for g in numeric.group(1, 3, 4))
            if numeric.group(2) == ".":
                day = _date(year, b, a)  # dots: day first, as every locale writing them does
            elif a == b or (a > 12) != (b > 12):
                month, dom = (b, a) if a > 12 else (a, b)
                day = _date(year, month, dom)
    if day is not None:
        person.fields["birthday"] = day.isoformat()
        return
    person.kept[header] = text
    person.notes.append(
        f"birthday {text!r} is not one date we can be sure of (no year, or day and month"
        " could be either): kept as written"
    )


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class _Row:
    """One record's cells by header key, and the columns read from it."""

    def __init__(self, keys: list[str], headers: Sequence[str], cells: list[str]) -> None:
        self.keys, self.headers, self.cells = keys, headers, cells
        self.index = {k: i for i, k in enumerate(keys)}

    def get(self, key: str) -> str:
        """A cell by its header key ("" when absent)."""
        i = self.index.get(key)
        return self.cells[i].strip() if i is not None and i < len(self.cells) else ""

    def header(self, key: str) -> str:
        """The column's name as the file writes it."""
        return self.headers[self.index[key]]


def _joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


_GOOGLE_FIELDS = {
    "salutation": "name prefix", "nickname": "nickname", "notes": "notes",
    "company": "organization name", "title": "organization title",
    "department": "organization department",
}  # fmt: skip
# Outlook's "Title" is Mr/Ms/Dr; the job is "Job Title".
_OUTLOOK_FIELDS = {
    "salutation": "title", "nickname": "nickname", "company": "company", "title": "job title",
    "department": "department", "website": "web page", "notes": "notes", "tags": "categories",
}  # fmt: skip


def _fill(row: _Row, person: _Person, fields: dict[str, str]) -> None:
    """The plain fields (field -> header key), and the birthday when it can be read."""
    for name, key in fields.items():
        person.fields[name] = row.get(key)
    if row.get("birthday"):
        _birthday(row.get("birthday"), person, row.header("birthday"))


def _google(row: _Row, groups: dict[tuple[str, int], dict[str, str]]) -> _Person:
    person = _Person()
    f = person.fields
    given = row.get("given name") or row.get("first name")
    middle = row.get("additional name") or row.get("middle name")
    family = row.get("family name") or row.get("last name")
    f["given_name"], f["family_name"] = given, family
    f["name"] = row.get("name") or _joined(given, middle, family, row.get("name suffix"))
    if not f["name"]:
        f["name"] = row.get("file as")
    _fill(row, person, _GOOGLE_FIELDS)
    groups_cell = row.get("group membership") or row.get("labels")
    tags = []
    for value in _values(groups_cell):
        label, _ = _label(value)
        if label and label.lower() not in _SYSTEM_GROUPS:
            tags.append(label)
    f["tags"] = ",".join(tags)
    for (what, n), parts in sorted(groups.items()):
        _google_group(row, person, what, n, parts)
    return person


def _google_group(row: _Row, person: _Person, what: str, n: int, parts: dict[str, str]) -> None:
    """One numbered group of columns ("Phone 2 - ...") into items or fields."""
    label_key = parts.get("label") or parts.get("type")
    label, primary = _label(row.get(label_key)) if label_key else ("", False)
    kind_of = _PHONE_LABELS if what == "phone" else _PLACE_LABELS
    kind = kind_of.get(label.lower(), "other" if label or what == "phone" else "work")
    if label and label.lower() not in kind_of and label_key:
        person.kept[row.header(label_key)] = label  # a label of their own ("Assistant")
    if what in ("e-mail", "email", "phone", "website"):
        values = _values(row.get(parts["value"])) if "value" in parts else []
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
    row: _Row, person: _Person, kind: str, primary: bool, parts: dict[str, str]
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


_OUTLOOK_PHONES = (
    ("primary phone", "work"), ("business phone", "work"), ("business phone 2", "work"),
    ("company main phone", "work"), ("home phone", "home"), ("home phone 2", "home"),
    ("mobile phone", "mobile"), ("car phone", "mobile"), ("other phone", "other"),
    ("assistant's phone", "other"), ("callback", "other"), ("isdn", "other"),
    ("radio phone", "other"), ("tty/tdd phone", "other"), ("telex", "other"),
    ("pager", "other"), ("business fax", "fax"), ("home fax", "fax"), ("other fax", "fax"),
)  # fmt: skip
_OUTLOOK_PLACES = (("business", "work"), ("home", "home"), ("other", "other"))
_OUTLOOK_EMAILS = ("e-mail address", "e-mail 2 address", "e-mail 3 address")
# Columns Outlook fills on every row with its default: nothing about the person.
_NO_DATE = frozenset(
    {"0/0/00", "00/00/00", "0/0/0000", "1/1/4501", "0.0.00", "00.00.00", "0.0.0000"}
)
_OUTLOOK_DEFAULTS = {
    "gender": frozenset({"unspecified", "nicht angegeben"}),
    "priority": frozenset({"normal"}),
    "sensitivity": frozenset({"normal"}),
    "private": frozenset({"false", "aus"}),
    "anniversary": _NO_DATE,
    **{
        key: frozenset({"smtp"})
        for key in ("e-mail type", "e-mail 2 type", "e-mail 3 type", "e-mail-typ",
                    "e-mail 2: typ", "e-mail 3: typ")
    },
}  # fmt: skip
"""Values Outlook writes on every row (its defaults, in English and German): not kept."""


def _outlook_default(key: str, text: str) -> bool:
    return text.lower() in _OUTLOOK_DEFAULTS.get(key, ())


def _outlook(row: _Row) -> _Person:
    person = _Person()
    f = person.fields
    given, family = row.get("first name"), row.get("last name")
    f["given_name"], f["family_name"] = given, family
    f["name"] = _joined(given, row.get("middle name"), family, row.get("suffix"))
    _fill(row, person, _OUTLOOK_FIELDS)
    for key, kind in _OUTLOOK_PHONES:
        person.phone(kind, row.get(key), key == "primary phone")
    for key in _OUTLOOK_EMAILS:
        person.email("work", row.get(key))
    for prefix, kind in _OUTLOOK_PLACES:
        street = ", ".join(
            p for p in (row.get(f"{prefix} street{n}") for n in ("", " 2", " 3")) if p
        )
        box = row.get(f"{prefix} address po box")
        if box:
            street = ", ".join(p for p in (street, f"PO Box {box}") if p)
        place = {
            "kind": kind,
            "street": street,
            "city": row.get(f"{prefix} city"),
            "region": row.get(f"{prefix} state"),
            "postcode": row.get(f"{prefix} postal code"),
            "country": row.get(f"{prefix} country") or row.get(f"{prefix} country/region"),
        }
        if not any(v for k, v in place.items() if k != "kind") and row.get(f"{prefix} address"):
            lines = row.get(f"{prefix} address").splitlines()
            place["street"] = ", ".join(line.strip() for line in lines if line.strip())
        if any(v for k, v in place.items() if k != "kind"):
            person.addresses.append({**place, "primary": False})
    return person


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
_THUNDERBIRD_PHONES = (
    ("work phone", "work"), ("home phone", "home"), ("mobile number", "mobile"),
    ("pager number", "other"), ("fax number", "fax"),
)  # fmt: skip
_THUNDERBIRD_PLACES = (("work", "work"), ("home", "home"))
_BIRTH = ("birth year", "birth month", "birth day")


def _thunderbird(row: _Row) -> _Person:
    person = _Person()
    f = person.fields
    given, family = row.get("first name"), row.get("last name")
    f["given_name"], f["family_name"] = given, family
    _fill(row, person, _THUNDERBIRD_FIELDS)
    f["name"] = f["name"] or _joined(given, family)
    f["company"] = row.get("organization") or row.get("organisation")
    year, month, day = (row.get(k) for k in _BIRTH)
    if year or month or day:
        if year.isdigit() and month.isdigit() and day.isdigit():
            _birthday(f"{int(year):04d}-{int(month):02d}-{int(day):02d}", person, "Birthday")
        else:
            person.kept["Birthday"] = f"{year or '?'}-{month or '?'}-{day or '?'}"
            person.notes.append(
                f"birthday (year {year or 'none'}, month {month or 'none'}, day"
                f" {day or 'none'}) is not a whole date: kept as written"
            )
    for key, kind in _THUNDERBIRD_PHONES:
        person.phone(kind, row.get(key))
    for key in ("primary email", "secondary email"):
        person.email("work", row.get(key))
    for prefix, kind in _THUNDERBIRD_PLACES:
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


def _part(row: _Row, prefix: str, name: str) -> str:
    """An address part under any of the names Thunderbird builds give it."""
    return next((v for k in _THUNDERBIRD_PARTS[name] if (v := row.get(f"{prefix} {k}"))), "")


def _thunderbird_read() -> set[str]:
    """The header keys the Thunderbird reader takes."""
    keys = {
        "first name", "last name", *_THUNDERBIRD_FIELDS.values(), *_BIRTH, "organization",
        "organisation", *(k for k, _ in _THUNDERBIRD_PHONES), "primary email", "secondary email",
    }  # fmt: skip
    parts = ("address", "city", "country", *(k for ks in _THUNDERBIRD_PARTS.values() for k in ks))
    for prefix, _ in _THUNDERBIRD_PLACES:
        keys |= {f"{prefix} {part}" for part in parts}
    return keys


def _outlook_read() -> set[str]:
    """The header keys the Outlook reader takes."""
    keys = {
        "first name", "last name", "middle name", "suffix", "title", "nickname", "company",
        "job title", "department", "web page", "notes", "categories", "birthday",
        *(k for k, _ in _OUTLOOK_PHONES), *_OUTLOOK_EMAILS,
    }  # fmt: skip
    for prefix, _ in _OUTLOOK_PLACES:
        keys |= {
            f"{prefix} {part}"
            for part in (
                "street", "street 2", "street 3", "address po box", "city", "state",
                "postal code", "country", "country/region", "address",
            )
        }  # fmt: skip
    return keys


_GOOGLE_READ = frozenset(
    {
        "name", "given name", "first name", "additional name", "middle name", "family name",
        "last name", "name suffix", "file as", "name prefix", "nickname", "notes",
        "organization name", "organization title", "organization department", "birthday",
        "group membership", "labels",
    }
)  # fmt: skip
_GOOGLE_PARTS = {
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


@dataclass(frozen=True)
class Layout:
    """How a file of one layout is read: which columns it takes, which it leaves."""

    name: str
    keys: list[str]
    read: frozenset[int]  # columns the layout reads
    groups: dict[tuple[str, int], dict[str, str]]  # Google: (what, n) -> part -> header key
    fields: dict[int, str]  # column -> field, given with --map
    dropped: frozenset[int]  # columns --map "Column=" leaves out


def make_layout(
    name: str, headers: Sequence[str], overrides: dict[str, str] | None = None
) -> Layout:
    """The columns a layout reads in these headers (`--map` takes a column out of it)."""
    given = [_key(h) for h in headers]
    keys = _outlook_keys(given) if name == "outlook" else given
    wanted = {_key(k): v for k, v in (overrides or {}).items()}
    groups: dict[tuple[str, int], dict[str, str]] = {}
    read: set[int] = set()
    fields: dict[int, str] = {}
    dropped: set[int] = set()
    known = {
        "google": _GOOGLE_READ,
        "outlook": _outlook_read(),
        "thunderbird": _thunderbird_read(),
    }[name]
    for i, key in enumerate(keys):
        # --map names a column as the file does (or by its English name).
        asked = given[i] if given[i] in wanted else key if key in wanted else None
        if asked is not None:
            if wanted[asked]:
                fields[i] = wanted[asked]
            else:
                dropped.add(i)
            continue
        if key in known:
            read.add(i)
            continue
        found = _NUMBERED.fullmatch(key) if name == "google" else None
        if found:
            what, n, part = found.group(1), int(found.group(2)), found.group(3)
            if part in _GOOGLE_PARTS[what] and (what != "organization" or n == 1):
                groups.setdefault((what, n), {})[part] = key
                read.add(i)
    return Layout(name, keys, frozenset(read), groups, fields, frozenset(dropped))


def layout_record(layout: Layout, headers: Sequence[str], cells: list[str]) -> dict[str, str]:
    """One row as the cells `plan_records` reads."""
    row = _Row(layout.keys, headers, cells)
    if layout.name == "google":
        person = _google(row, layout.groups)
    else:
        person = _outlook(row) if layout.name == "outlook" else _thunderbird(row)
    for i, value in enumerate(cells):
        text = value.strip()
        if not text or i in layout.read or i in layout.dropped or i >= len(headers):
            continue
        if i in layout.fields:
            _given(person, layout.fields[i], text)
        elif layout.name != "outlook" or not _outlook_default(layout.keys[i], text):
            person.kept.setdefault(headers[i].strip() or f"column {i + 1}", text)
    return person.record()


_PLACE_PARTS = ("street", "city", "region", "postcode", "country")


def _given(person: _Person, name: str, text: str) -> None:
    """A column `--map` gives a field: a phone, email or place part joins the items."""
    if name in ("phone", "mobile"):
        person.phone("work" if name == "phone" else "mobile", text)
    elif name == "email":
        person.email("work", text)
    elif name in _PLACE_PARTS:
        mapped = next((a for a in person.addresses if a.get("mapped")), None)
        if mapped is None:
            mapped = {"kind": "work", **dict.fromkeys(_PLACE_PARTS, ""), "primary": False}
            mapped["mapped"] = True
            person.addresses.append(mapped)
        mapped[name] = text
    else:
        person.fields[name] = text


_NAMED = {
    "name": "name", "given name": "given_name", "first name": "given_name",
    "additional name": "name (middle)", "middle name": "name (middle)",
    "family name": "family_name", "last name": "family_name", "name suffix": "name (suffix)",
    "suffix": "name (suffix)", "file as": "name (when no other)", "name prefix": "salutation",
    "nickname": "nickname", "notes": "notes", "organization name": "company",
    "company": "company", "organization title": "title", "job title": "title",
    "organization department": "department", "department": "department",
    "birthday": "birthday", "group membership": "tags", "labels": "tags",
    "categories": "tags", "web page": "website",
}  # fmt: skip
_NAMED.update(
    {
        "display name": "name", "primary email": "email", "secondary email": "email",
        "organization": "company", "organisation": "company", "web page 1": "website", "birth year": "birthday",
        "birth month": "birthday", "birth day": "birthday",
    }
)  # fmt: skip
_WORDS = {"e-mail": "email", "email": "email", "phone": "phone", "website": "website"}


def _describe(layout: Layout, i: int) -> str:
    """What a read column fills, for the dry run ("phone", "address street", ...)."""
    if i in layout.fields:
        return layout.fields[i]
    key = layout.keys[i]
    if layout.name == "outlook" and key == "title":
        return "salutation"
    if key in _NAMED:
        return _NAMED[key]
    for (what, _n), parts in layout.groups.items():
        for part, part_key in parts.items():
            if part_key != key:
                continue
            if what == "organization":
                return {"name": "company"}.get(part, part)
            word = _WORDS.get(what, what)
            if part in ("type", "label"):
                return f"{word} kind"
            return word if part == "value" else f"{word} {part}"
    for phone, kind in (*_OUTLOOK_PHONES, *_THUNDERBIRD_PHONES):
        if key == phone:
            return f"phone ({kind})"
    if key in _OUTLOOK_EMAILS:
        return "email"
    prefix = key.split(" ", 1)[0]
    kind = dict((*_OUTLOOK_PLACES, *_THUNDERBIRD_PLACES)).get(prefix, "other")
    return f"address ({kind})"


@dataclass(frozen=True)
class Scan:
    """Which columns hold a value in some row: read ones, and Outlook's defaults only."""

    filled: tuple[int, ...]
    defaults: tuple[int, ...]


def scan(layout: Layout, headers: Sequence[str], rows: Iterator[list[str]]) -> Scan:
    """Look over every row once, for the dry run's summary."""
    filled: set[int] = set()
    kept: set[int] = set()
    defaults: set[int] = set()
    for cells in rows:
        for i, value in enumerate(cells[: len(headers)]):
            text = value.strip()
            if not text or i in layout.dropped:
                continue
            if i in layout.read or i in layout.fields:
                filled.add(i)
            elif layout.name == "outlook" and _outlook_default(layout.keys[i], text):
                defaults.add(i)
            else:
                kept.add(i)
    return Scan(tuple(sorted(filled)), tuple(sorted(defaults - kept)))


def describe(layout: Layout, found: Scan) -> dict[int, str]:
    """Column -> what it fills, for the columns some row gives a value in."""
    return {i: _describe(layout, i) for i in found.filled}
