"""vCard in and out (3.0 and 4.0 read, 2.1 from Outlook too; 3.0 written), with vobject.

Import splits the text into cards itself, so one broken card is reported by its
position (card number and line) while the others still import; each card becomes
the same field record a CSV row does, and goes through the same checks, matching
and bulk write (`csv_import.plan_records` / `apply_import`).

Export writes one vCard 3.0 (or 4.0) per live contact with `UID` = the contact id, so
importing an export again matches every card to its contact (no duplicates);
cards from elsewhere keep their UID as the contact's external id for the same
reason. Cards are read by crmtui.formats.vcard_lines (2.1 as phones and Outlook
write it); photos are skipped on import and not exported; a fax is never the
dialled number (kept in the notes); every property not read is listed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crmtui.domain.identity import extension
from crmtui.formats.encodings import Decoded, decode_file
from crmtui.formats.vcard_lines import (
    BINARY,
    CardSyntaxError,
    Prop,
    is_quoted_printable,
    read_props,
    split_unescaped,
    unescape,
)

_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD\s*$", re.IGNORECASE)
_UID_PREFIX = re.compile(r"^urn:uuid:", re.IGNORECASE)
VCARD_SUFFIXES = (".vcf", ".vcard")


@dataclass
class CardText:
    """The text of one card and where it starts (card number in its file, line)."""

    file: str
    number: int
    line: int
    text: str


def decode(data: bytes) -> Decoded:
    """vCard bytes as text: UTF-8 (with or without BOM), lines that are not as Windows-1252."""
    return decode_file(data)


def split_cards(text: str, file: str) -> Iterator[CardText | tuple[str, int, int, str]]:
    """Each card's text; a card without END as (reason, number, line, its text)."""
    number = 0
    current: list[str] | None = None
    start = 0
    # CR CR LF (some Windows tools) is one line end, not two.
    text = text.replace("\r\r\n", "\n")
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if _BEGIN.match(line):
            if current is not None:
                yield ("no END:VCARD before the next card", number, start, "\n".join(current))
            number += 1
            current, start = [line], i
        elif current is not None:
            current.append(line)
            if _END.match(line):
                yield CardText(file, number, start, "\n".join(current) + "\n")
                current = None
    if current is not None:
        yield ("no END:VCARD at the end of the file", number, start, "\n".join(current))


# Properties read into fields, and format bookkeeping nobody misses; every other
# property is listed as dropped in the import's summary.
_READ = frozenset(
    {
        "FN", "N", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "NOTE", "CATEGORIES", "UID",
        "BDAY", "NICKNAME", "URL", "KIND",
    }
    | {"X-ADDRESSBOOK-SERVER-KIND", "X-ABSHOWAS"}
)  # fmt: skip
_BDAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")
_BOOKKEEPING = frozenset({"BEGIN", "END", "VERSION", "PRODID", "REV", "X-ABLABEL", "X-ABADR"})
_TEL_RANK = ("PREF", "WORK", "VOICE", "MAIN")


def _tel_value(value: str) -> str:
    value = value.strip()
    return value[4:] if value.lower().startswith("tel:") else value


def _tel_kind(tel: Prop) -> str:
    types = tel.types
    for vcard, kind in (("FAX", "fax"), ("CELL", "mobile"), ("HOME", "home"), ("WORK", "work")):
        if vcard in types:
            return kind
    return "work" if types & {"VOICE", "MAIN", "PREF"} or not types else "other"


def _kind_of(prop: Prop) -> str:
    types = prop.types
    return "home" if "HOME" in types else "work" if "WORK" in types or not types else "other"


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def prop_line(prop: Prop) -> str:
    """A property as one unfolded vCard line (group, name, parameters, value), for keeping.

    A quoted-printable value was decoded when read: it is kept as 3.0 text (line breaks
    and commas escaped, ENCODING and CHARSET dropped), so an export writes a line every
    reader takes, not a "QUOTED-PRINTABLE" label over plain text and raw line breaks.
    A control character it decoded to is kept as U+FFFD.
    """
    given = prop.params
    value = prop.value
    if is_quoted_printable(given):
        given = {k: v for k, v in given.items() if k not in ("ENCODING", "CHARSET")}
        lines = value.replace("\r\n", "\n").replace("\r", "\n")
        # 2.1 text has no escapes: its commas are text, which 3.0 writes as "\,".
        escaped = lines.replace("\\", "\\\\").replace(",", "\\,").replace("\n", "\\n")
        value = _CONTROLS.sub("\ufffd", escaped)
    params = "".join(f";{k}={','.join(v)}" if v else f";{k}" for k, v in given.items())
    return f"{prop.group + '.' if prop.group else ''}{prop.name}{params}:{value}"


def _items(by_name: dict[str, list[Prop]], fields: dict[str, str]) -> dict[str, Any]:
    """Every TEL, EMAIL and ADR as items; the chosen phone (or mobile) and email primary."""
    phones: list[list[Any]] = []
    for tel in by_name.get("TEL", []):
        value = _tel_value(unescape(tel.value))
        if value:
            phones.append([_tel_kind(tel), value, False])
    # One primary: the dialled number, on a non-mobile TEL when the same number is also
    # listed as the mobile (both would be marked, and the phone column lost).
    chosen = fields.get("phone")
    wanted = [p for p in phones if p[1] == chosen and p[0] not in ("mobile", "fax")]
    if not wanted and chosen is None:
        wanted = [p for p in phones if p[1] == fields.get("mobile")]
    if wanted:
        wanted[0][2] = True
    emails: list[list[Any]] = []
    for email in by_name.get("EMAIL", []):
        value = unescape(email.value).strip()
        if value:
            marked = value == fields.get("email") and not any(e[2] for e in emails)
            emails.append([_kind_of(email), value, marked])
    addresses = []
    listed = by_name.get("ADR", [])
    first = next((i for i, a in enumerate(listed) if "PREF" in a.types), 0)
    for i, adr in enumerate(listed):
        parts = [p.strip() for p in [*split_unescaped(adr.value, ";"), *[""] * 7]]
        street = " ".join(p for p in (parts[1], parts[2]) if p) or parts[0]
        values = {
            "kind": _kind_of(adr),
            "street": street,
            "city": parts[3],
            "region": parts[4],
            "postcode": parts[5],
            "country": parts[6],
        }
        if any(v for k, v in values.items() if k != "kind"):
            addresses.append({**values, "primary": i == first})
    return {"phones": phones, "emails": emails, "addresses": addresses}


def _phones(tels: list[Prop], fields: dict[str, str], kept: list[str]) -> None:
    """The dialled phone and mobile (a fax never); the others are listed in `kept`."""
    usable = [t for t in tels if _tel_value(t.value)]
    faxes = [t for t in usable if "FAX" in t.types]
    pagers = [t for t in usable if "PAGER" in t.types and t not in faxes]
    cells = [t for t in usable if "CELL" in t.types and t not in faxes]
    voices = [t for t in usable if t not in faxes and t not in cells and t not in pagers]
    voices.sort(key=lambda t: [r not in t.types for r in _TEL_RANK])  # stable: file order
    cells.sort(key=lambda t: "PREF" not in t.types)
    used: list[Prop] = []
    if voices:
        fields["phone"] = _tel_value(voices[0].value)
        used.append(voices[0])
    if cells:
        fields["mobile"] = _tel_value(cells[0].value)
        used.append(cells[0])
    for tel in usable:
        if any(tel is u for u in used):
            continue
        label = "fax" if tel in faxes else "pager" if tel in pagers else "phone"
        kinds = sorted(tel.types - {"PREF", "VOICE", "FAX", "PAGER", "INTERNET"})
        suffix = f" ({', '.join(k.lower() for k in kinds)})" if kinds else ""
        kept.append(f"{label}{suffix}: {_tel_value(tel.value)}")


ORG, GROUP = "org", "group"


def card_kind(props: list[Prop]) -> str | None:
    """ "org" for an organisation's card, "group" for a contact group, None for a person.

    vCard 4.0 says KIND:org / KIND:group; Apple's 3.0 cards say
    X-ADDRESSBOOK-SERVER-KIND:group for a group and X-ABShowAs:COMPANY for a
    company card. A group is a list of members, neither a person nor an account.
    """
    for prop in props:
        value = prop.value.strip().lower()
        if prop.name in ("KIND", "X-ADDRESSBOOK-SERVER-KIND"):
            if value in ("org", "organization", "organisation"):
                return ORG
            if value == "group":
                return GROUP
        elif prop.name == "X-ABSHOWAS" and value == "company":
            return ORG
    return None


def _who(by_name: dict[str, list[Prop]], fields: dict[str, str], dropped: list[str]) -> None:
    """Name, family and given name, company and title."""
    if "FN" in by_name:
        fields["name"] = " ".join(unescape(by_name["FN"][0].value).split())
    if "N" in by_name:
        parts = [*split_unescaped(by_name["N"][0].value, ";"), "", "", ""]
        fields["family_name"], fields["given_name"] = parts[0].strip(), parts[1].strip()
        # The honorific prefix ("Dr."); the middle names and suffixes are in FN.
        fields["salutation"] = parts[3].strip()
    if "ORG" in by_name:
        units = split_unescaped(by_name["ORG"][0].value, ";")
        fields["company"] = units[0].strip()
        if any(u.strip() for u in units[2:]):
            # ORG:IBM;Accounting;Payroll: the first unit is the department (`_person`).
            dropped.append("ORG units after the department")
    if "TITLE" in by_name:
        fields["title"] = unescape(by_name["TITLE"][0].value).strip()


def card_fields(props: list[Prop]) -> dict[str, str]:
    """The import fields of one card's properties (strings, unchecked).

    "_dropped" lists the properties not read (one per line), "_notes" what the
    import should tell (numbers kept in the notes rather than dialled) and
    "_kind" is "org" or "group" for cards that are not a person's.
    """
    fields: dict[str, str] = {}
    by_name: dict[str, list[Prop]] = {}
    for prop in props:
        by_name.setdefault(prop.name, []).append(prop)
    dropped: list[str] = []
    _who(by_name, fields, dropped)
    emails = [e for e in by_name.get("EMAIL", []) if e.value.strip()]
    if emails:
        emails.sort(key=lambda e: "PREF" not in e.types)
        fields["email"] = unescape(emails[0].value).strip()
    _phones(by_name.get("TEL", []), fields, [])
    addresses = by_name.get("ADR", [])
    if addresses:
        addresses = sorted(addresses, key=lambda a: "PREF" not in a.types)
        parts = [*split_unescaped(addresses[0].value, ";"), *[""] * 7]
        fields["city"], fields["country"] = parts[3].strip(), parts[6].strip()
    notes = [" ".join(unescape(n.value).split()) for n in by_name.get("NOTE", [])]
    if any(notes):
        fields["notes"] = " / ".join(n for n in notes if n)
    tags: list[str] = []
    for cats in by_name.get("CATEGORIES", []):
        tags += [c.strip() for c in split_unescaped(cats.value, ",")]
    tags = [t for t in tags if t and t.lower() != "mycontacts"]  # Google's own group
    if tags:
        fields["tags"] = ",".join(tags)
    if "UID" in by_name:
        uid = _UID_PREFIX.sub("", unescape(by_name["UID"][0].value).strip())
        fields["external_id"] = uid
        fields["source_uid"] = uid
    extra: list[str] = []
    _person(by_name, fields, extra)
    for name, found in by_name.items():
        if name in BINARY:
            dropped.append(f"{name} (skipped)")
        elif name not in _READ and name not in _BOOKKEEPING:
            # Not modelled, but kept: an export writes it back (`Contact.extra`).
            extra += [prop_line(p) for p in found]
    items = _items(by_name, fields)
    out = {k: v for k, v in fields.items() if v}
    if any(items.values()):
        out["_items"] = json.dumps(items, ensure_ascii=False)
    if extra:
        out["extra"] = json.dumps({"vcard": extra}, ensure_ascii=False)
    if dropped:
        out["_dropped"] = "\n".join(dropped)
    return out


def _person(by_name: dict[str, list[Prop]], fields: dict[str, str], extra: list[str]) -> None:
    """Birthday, nickname, department and website (a birthday without a year is kept as is)."""
    if "BDAY" in by_name:
        found = _BDAY.match(unescape(by_name["BDAY"][0].value).strip())
        if found:
            fields["birthday"] = "-".join(found.groups())
        else:
            extra.append(prop_line(by_name["BDAY"][0]))
    if "NICKNAME" in by_name:
        fields["nickname"] = split_unescaped(by_name["NICKNAME"][0].value, ",")[0].strip()
    if "ORG" in by_name:
        units = split_unescaped(by_name["ORG"][0].value, ";")
        if len(units) > 1:
            fields["department"] = units[1].strip()
    if "URL" in by_name:
        fields["website"] = unescape(by_name["URL"][0].value).strip()


def parse_card(card: CardText) -> dict[str, str] | str:
    """A card's fields, or the reason it cannot be read."""
    try:
        props = read_props(card.text, card.line)
    except CardSyntaxError as exc:
        return f"not a readable vCard ({exc})"
    fields = card_fields(props)
    kind = card_kind(props)
    if kind is not None:
        fields["_kind"] = kind
    if kind == ORG and "name" not in fields and "company" in fields:
        fields["name"] = fields["company"]  # an organisation's card may name it in ORG only
    if not any(k in fields for k in ("name", "given_name", "family_name")):
        return "no name (FN or N)"
    return fields


def read_cards(
    path: Path, notes: list[str] | None = None, texts: list[str] | None = None
) -> list[tuple[str, int, int, dict[str, str] | str]]:
    """Every card under `path` (a file, or a folder of .vcf files): file, number, line, fields.

    How each file was decoded, when it was not plain UTF-8, is added to `notes`;
    each card's raw text, in the same order, to `texts` (for the rejected-cards file).
    An organisation's card has "_kind" "org" (an account), a group's "group".
    """
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() in VCARD_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    out: list[tuple[str, int, int, dict[str, str] | str]] = []
    for file in files:
        decoded = decode(file.read_bytes())
        if decoded.note and notes is not None:
            notes.append(f"{file.name}: {decoded.note}")
        for item in split_cards(decoded.text, file.name):
            if isinstance(item, CardText):
                out.append((file.name, item.number, item.line, parse_card(item)))
                text = item.text
            else:
                reason, number, line, text = item
                out.append((file.name, number, line, reason))
            if texts is not None:
                texts.append(text)
    return out


VCARD_VERSIONS = ("3.0", "4.0")

_TEL_TYPES = {
    "work": "WORK,VOICE",
    "mobile": "CELL",
    "home": "HOME,VOICE",
    "fax": "FAX",
    "other": "VOICE",
}
_KIND_TYPES = {"work": "WORK", "home": "HOME", "other": "OTHER"}


def _item_lines(items: dict[str, list[dict[str, Any]]], four: bool = False) -> list[str]:
    """TEL, EMAIL and ADR lines of a contact's items; the primary ones carry PREF.

    vCard 4.0 writes types in lower case, PREF=1 as its own parameter and no INTERNET
    (a 3.0 type that 4.0 dropped).
    """

    def params(types: str, primary: bool) -> str:
        if four:
            types = ",".join(t for t in types.lower().split(",") if t != "internet")
            return f";TYPE={types}" + (";PREF=1" if primary else "")
        return f";TYPE={types}" + (",PREF" if primary else "")

    lines = []
    for p in items.get("contact_phone", []):
        lines.append(f"TEL{params(_TEL_TYPES[p['kind']], p['is_primary'])}:{tel_text(p)}")
    for e in items.get("contact_email", []):
        kinds = f"INTERNET,{_KIND_TYPES[e['kind']]}"
        lines.append(f"EMAIL{params(kinds, e['is_primary'])}:{_escape(e['address'])}")
    for a in items.get("contact_address", []):
        parts = ["", "", a["street"], a["city"], a["region"], a["postcode"], a["country"]]
        value = ";".join(_escape(x or "") for x in parts)
        lines.append(f"ADR{params(_KIND_TYPES[a['kind']], a['is_primary'])}:{value}")
    return lines


def tel_text(phone: Any) -> str:
    """A phone item's number as a card writes it (a dict or a row with number, e164, extension)."""
    get = phone.get if isinstance(phone, dict) else lambda k: getattr(phone, k)
    # As typed when it is international (it comes back the same), else E.164: a
    # national number would be read in the importer's region.
    typed = str(get("number"))
    number = typed if typed.startswith("+") or not get("e164") else get("e164")
    if get("extension") and extension(number) != get("extension"):
        number = f"{number} ext. {get('extension')}"  # E.164 alone would lose it
    return str(number)


def _escape(text: str) -> str:
    """A text value escaped for a vCard 3.0 line."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _kept_lines(extra: str | None) -> list[str]:
    if not extra:
        return []
    return [str(line) for line in json.loads(extra).get("vcard", [])]


def contact_card(
    row: dict[str, Any],
    company: str | None,
    items: dict[str, list[dict[str, Any]]] | None = None,
    version: str = "3.0",
) -> str:
    """A vCard (3.0, or 4.0) for one contact row (as stored) and its items, as text.

    The UID is the source's own (a card imported from elsewhere keeps it), else the
    contact id; properties the card came with that we do not model are written back.
    """
    import vobject

    four = version == "4.0"
    card = vobject.vCard()
    card.add("version").value = version
    if row.get("source_uid"):
        card.add("uid").value = row["source_uid"]  # the source's own: it comes back the same
    else:
        card.add("uid").value = f"urn:uuid:{row['id']}" if four else row["id"]
    card.add("fn").value = row["name"]
    card.add("n").value = vobject.vcard.Name(
        family=row["family_name"] or "",
        given=row["given_name"] or "",
        prefix=row.get("salutation") or "",
    )
    if company or row.get("department"):
        card.add("org").value = [
            company or "",
            *([row["department"]] if row.get("department") else []),
        ]
    if row["title"]:
        card.add("title").value = row["title"]
    for key in ("nickname", "url"):
        value = row.get("website" if key == "url" else key)
        if value:
            card.add(key).value = value
    if row.get("birthday"):
        card.add("bday").value = str(row["birthday"])
    if items is None:
        items = _column_items(row)
    if row["notes"]:
        card.add("note").value = row["notes"]
    tags = json.loads(row["tags"] or "[]")
    if tags:
        card.add("categories").value = tags
    card.add("rev").value = row["updated_at"].replace("-", "").replace(":", "")[:15] + "Z"
    text = card.serialize()
    more = [*_item_lines(items, four), *_kept_lines(row.get("extra"))]
    if more:
        end = text.rindex("END:VCARD")
        text = text[:end] + "".join(f"{_fold(line)}\r\n" for line in more) + text[end:]
    return text


def _fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 6350 3.2), never inside a UTF-8 sequence."""
    out, width, current = [], 0, ""
    for ch in line:
        size = len(ch.encode("utf-8"))
        if width + size > 75:
            out.append(current)
            current, width = " ", 1
        current += ch
        width += size
    return "\r\n".join([*out, current])


def _column_items(row: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Items for a contact row that has none (made by an older version): from its columns."""
    from crmtui.domain.contact_details import items_from_columns

    return items_from_columns(
        row["id"],
        row["phone"],
        row["phone_e164"],
        row["mobile"],
        row["mobile_e164"],
        row["email"],
        row["city"],
        row["country"],
        now="",
    )


def _items_by_contact(
    db: Any, where: str = "", params: tuple[Any, ...] = ()
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Live items per contact; `where` (SQL on `contact c`) limits them to those contacts."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    only = (
        f" AND contact_id IN (SELECT c.id FROM contact c WHERE c.deleted_at IS NULL AND ({where}))"
        if where
        else ""
    )
    for table in ("contact_phone", "contact_email", "contact_address"):
        cursor = db.execute(
            f"SELECT * FROM {table} WHERE deleted_at IS NULL{only} ORDER BY id", params
        )
        names = [d[0] for d in cursor.description]
        for values in cursor:
            item = dict(zip(names, values, strict=True))
            out.setdefault(item["contact_id"], {}).setdefault(table, []).append(item)
    return out


def export_cards(
    db: Any, out: TextIO | None = None, directory: Path | None = None, version: str = "3.0"
) -> int:
    """Write live contacts as vCards: all to `out`, or one `<id>.vcf` each into `directory`."""
    items = _items_by_contact(db)
    cursor = db.execute(
        "SELECT c.*, a.name AS company FROM contact c "
        "LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL "
        "WHERE c.deleted_at IS NULL ORDER BY c.name, c.id"
    )
    names = [d[0] for d in cursor.description]
    count = 0
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        text = contact_card(
            row, row["company"], items.get(row["id"]) or _column_items(row), version
        )
        if directory is not None:
            (directory / f"{row['id']}.vcf").write_text(text, encoding="utf-8", newline="")
        elif out is not None:
            out.write(text)
        count += 1
    return count


def contact_cards(
    db: Any, where: str = "1 = 1", params: tuple[Any, ...] = (), version: str = "3.0"
) -> dict[str, str]:
    """{contact id: vCard text} of the live contacts matching `where` (SQL on `contact c`)."""
    items = _items_by_contact(db, where, params)
    cursor = db.execute(
        "SELECT c.*, a.name AS company FROM contact c "
        "LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL "
        f"WHERE c.deleted_at IS NULL AND ({where}) ORDER BY c.id",
        params,
    )
    names = [d[0] for d in cursor.description]
    out = {}
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        out[row["id"]] = contact_card(
            row, row["company"], items.get(row["id"]) or _column_items(row), version
        )
    return out
