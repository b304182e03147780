"""Which layout a file is, which of its columns each layout reads, and its rows as records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from crmtui.formats.address_books.google import GOOGLE_PARTS, GOOGLE_READ, NUMBERED, read_google
from crmtui.formats.address_books.outlook import (
    OUTLOOK_EMAILS,
    OUTLOOK_PHONES,
    OUTLOOK_PLACES,
    outlook_default,
    outlook_keys,
    outlook_read,
    read_outlook,
)
from crmtui.formats.address_books.person import Person, Row
from crmtui.formats.address_books.thunderbird import (
    THUNDERBIRD_PHONES,
    THUNDERBIRD_PLACES,
    read_thunderbird,
    thunderbird_read,
)
from crmtui.formats.csv_profiles import header_key

LAYOUTS = ("google", "outlook", "thunderbird")


def detect_layout(headers: Sequence[str]) -> str | None:
    """The layout ("google" or "outlook") when the headers are that product's export."""
    keys = {header_key(h) for h in headers}
    named = keys & {"name", "given name", "family name", "first name", "last name"}
    if named and any(NUMBERED.fullmatch(k) for k in keys):
        return "google"
    if {"first name", "last name", "display name", "primary email"} <= keys:
        return "thunderbird"
    keys |= set(outlook_keys(list(keys)))
    if {"first name", "last name", "e-mail address"} <= keys and keys & {
        "business phone", "home phone", "mobile phone", "business street", "job title",
    }:  # fmt: skip
        return "outlook"
    return None


_NAME_KEYS = frozenset({"name", "given name", "first name", "family name", "last name", "file as"})


def names_people(headers: Sequence[str]) -> bool:
    """Whether some column of the file gives a person's name."""
    return any(header_key(h) in _NAME_KEYS for h in headers)


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
    given = [header_key(h) for h in headers]
    keys = outlook_keys(given) if name == "outlook" else given
    wanted = {header_key(k): v for k, v in (overrides or {}).items()}
    groups: dict[tuple[str, int], dict[str, str]] = {}
    read: set[int] = set()
    fields: dict[int, str] = {}
    dropped: set[int] = set()
    known = {
        "google": GOOGLE_READ,
        "outlook": outlook_read(),
        "thunderbird": thunderbird_read(),
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
        found = NUMBERED.fullmatch(key) if name == "google" else None
        if found:
            what, n, part = found.group(1), int(found.group(2)), found.group(3)
            if part in GOOGLE_PARTS[what] and (what != "organization" or n == 1):
                groups.setdefault((what, n), {})[part] = key
                read.add(i)
    return Layout(name, keys, frozenset(read), groups, fields, frozenset(dropped))


def layout_record(layout: Layout, headers: Sequence[str], cells: list[str]) -> dict[str, str]:
    """One row as the cells `plan_records` reads."""
    row = Row(layout.keys, headers, cells)
    if layout.name == "google":
        person = read_google(row, layout.groups)
    else:
        person = read_outlook(row) if layout.name == "outlook" else read_thunderbird(row)
    for i, value in enumerate(cells):
        text = value.strip()
        if not text or i in layout.read or i in layout.dropped or i >= len(headers):
            continue
        if i in layout.fields:
            _given(person, layout.fields[i], text)
        elif layout.name != "outlook" or not outlook_default(layout.keys[i], text):
            person.kept.setdefault(headers[i].strip() or f"column {i + 1}", text)
    return person.record()


_PLACE_PARTS = ("street", "city", "region", "postcode", "country")


def _given(person: Person, name: str, text: str) -> None:
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
    "categories": "tags", "web page": "website", "display name": "name",
    "primary email": "email", "secondary email": "email", "organization": "company",
    "organisation": "company", "web page 1": "website", "birth year": "birthday",
    "birth month": "birthday", "birth day": "birthday",
}  # fmt: skip
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
    for phone, kind in (*OUTLOOK_PHONES, *THUNDERBIRD_PHONES):
        if key == phone:
            return f"phone ({kind})"
    if key in OUTLOOK_EMAILS:
        return "email"
    prefix = key.split(" ", 1)[0]
    kind = dict((*OUTLOOK_PLACES, *THUNDERBIRD_PLACES)).get(prefix, "other")
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
            elif layout.name == "outlook" and outlook_default(layout.keys[i], text):
                defaults.add(i)
            else:
                kept.add(i)
    return Scan(tuple(sorted(filled)), tuple(sorted(defaults - kept)))


def describe(layout: Layout, found: Scan) -> dict[int, str]:
    """Column -> what it fills, for the columns some row gives a value in."""
    return {i: _describe(layout, i) for i in found.filled}
