"""One row of an address book export as a person: its fields, items and kept values.

The readers (google.py, outlook.py, thunderbird.py) fill a `Person` from a `Row`; its
`record` is what `csv_import.plan_records` reads, items as a vCard's
(`csv_import._card_items`). A value that cannot be read for sure (a birthday without a
year, a date that could be two days) is kept as written and noted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_SPLIT = re.compile(r"\s*:::\s*")


@dataclass
class Person:
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


def values_of(cell: str) -> list[str]:
    """A Google cell's values (several of one label are joined by " ::: ")."""
    return [v for v in _SPLIT.split(cell.strip()) if v]


def label_of(text: str) -> tuple[str, bool]:
    """A Google label without its primary mark, and whether it had one ("* Home")."""
    text = text.strip()
    primary = text.startswith("*")
    return text.lstrip("*").strip(), primary


PHONE_LABELS = {
    "mobile": "mobile", "cell": "mobile", "work mobile": "mobile", "iphone": "mobile",
    "home": "home", "work": "work", "main": "work", "company main": "work",
    "business": "work", "work fax": "fax", "home fax": "fax", "fax": "fax",
    "other fax": "fax", "other": "other", "pager": "other", "work pager": "other",
}  # fmt: skip
PLACE_LABELS = {"home": "home", "work": "work", "business": "work", "other": "other"}


# Columns Outlook fills on every row with its default: nothing about the person.
NO_DATE = frozenset(
    {"0/0/00", "00/00/00", "0/0/0000", "1/1/4501", "0.0.00", "00.00.00", "0.0.0000"}
)


def read_birthday(text: str, person: Person, header: str) -> None:
    """An ISO date, a d.m.y one, or a d/m/y or m/d/y one that can only be one day; else
    kept as written, noted."""
    text = text.strip()
    if not text or text in NO_DATE:
        return  # Outlook's "no date"
    day = certain_date(text)
    if day is not None:
        person.fields["birthday"] = day.isoformat()
        return
    person.kept[header] = text
    person.notes.append(UNSURE_BIRTHDAY.format(text=text))


UNSURE_BIRTHDAY = (
    "birthday {text!r} is not one date we can be sure of (no year, or day and month"
    " could be either): kept as written"
)


def certain_date(text: str) -> date | None:
    """An ISO date, a d.m.y one, or a d/m/y or m/d/y one that can only be one day."""
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
    return day


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class Row:
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


def joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def fill(row: Row, person: Person, fields: dict[str, str]) -> None:
    """The plain fields (field -> header key), and the birthday when it can be read."""
    for name, key in fields.items():
        person.fields[name] = row.get(key)
    if row.get("birthday"):
        read_birthday(row.get("birthday"), person, row.header("birthday"))
