"""Outlook's contact export: named columns ("Business Phone 2", "Home Street",
"E-mail 3 Address"), "Title" as the salutation, its defaults on every row; a German
Outlook's column names too."""

from __future__ import annotations

from collections.abc import Sequence

from crmtui.formats.address_books.person import NO_DATE, Person, Row, fill, joined

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


def outlook_keys(keys: Sequence[str]) -> list[str]:
    """A German Outlook header's keys by their English names (others as they are)."""
    if len(_OUTLOOK_DE_SIGNS.intersection(keys)) < 2:
        return list(keys)
    return [_OUTLOOK_DE.get(k, k) for k in keys]


# Outlook's "Title" is Mr/Ms/Dr; the job is "Job Title".
_OUTLOOK_FIELDS = {
    "salutation": "title", "nickname": "nickname", "company": "company", "title": "job title",
    "department": "department", "website": "web page", "notes": "notes", "tags": "categories",
}  # fmt: skip


OUTLOOK_PHONES = (
    ("primary phone", "work"), ("business phone", "work"), ("business phone 2", "work"),
    ("company main phone", "work"), ("home phone", "home"), ("home phone 2", "home"),
    ("mobile phone", "mobile"), ("car phone", "mobile"), ("other phone", "other"),
    ("assistant's phone", "other"), ("callback", "other"), ("isdn", "other"),
    ("radio phone", "other"), ("tty/tdd phone", "other"), ("telex", "other"),
    ("pager", "other"), ("business fax", "fax"), ("home fax", "fax"), ("other fax", "fax"),
)  # fmt: skip
OUTLOOK_PLACES = (("business", "work"), ("home", "home"), ("other", "other"))
OUTLOOK_EMAILS = ("e-mail address", "e-mail 2 address", "e-mail 3 address")


_OUTLOOK_DEFAULTS = {
    "gender": frozenset({"unspecified", "nicht angegeben"}),
    "priority": frozenset({"normal"}),
    "sensitivity": frozenset({"normal"}),
    "private": frozenset({"false", "aus"}),
    "anniversary": NO_DATE,
    **{
        key: frozenset({"smtp"})
        for key in ("e-mail type", "e-mail 2 type", "e-mail 3 type", "e-mail-typ",
                    "e-mail 2: typ", "e-mail 3: typ")
    },
}  # fmt: skip
"""Values Outlook writes on every row (its defaults, in English and German): not kept."""


def outlook_default(key: str, text: str) -> bool:
    return text.lower() in _OUTLOOK_DEFAULTS.get(key, ())


def read_outlook(row: Row) -> Person:
    person = Person()
    f = person.fields
    given, family = row.get("first name"), row.get("last name")
    f["given_name"], f["family_name"] = given, family
    f["name"] = joined(given, row.get("middle name"), family, row.get("suffix"))
    fill(row, person, _OUTLOOK_FIELDS)
    for key, kind in OUTLOOK_PHONES:
        person.phone(kind, row.get(key), key == "primary phone")
    for key in OUTLOOK_EMAILS:
        person.email("work", row.get(key))
    for prefix, kind in OUTLOOK_PLACES:
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


def outlook_read() -> set[str]:
    """The header keys the Outlook reader takes."""
    keys = {
        "first name", "last name", "middle name", "suffix", "title", "nickname", "company",
        "job title", "department", "web page", "notes", "categories", "birthday",
        *(k for k, _ in OUTLOOK_PHONES), *OUTLOOK_EMAILS,
    }  # fmt: skip
    for prefix, _ in OUTLOOK_PLACES:
        keys |= {
            f"{prefix} {part}"
            for part in (
                "street", "street 2", "street 3", "address po box", "city", "state",
                "postal code", "country", "country/region", "address",
            )
        }  # fmt: skip
    return keys
