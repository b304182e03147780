"""vCard in and out (3.0 and 4.0 read, 2.1 from Outlook too; 3.0 written), with vobject.

Import splits the text into cards itself, so one broken card is reported by its
position (card number and line) while the others still import; each card becomes
the same field record a CSV row does, and goes through the same checks, matching
and bulk write (`csv_import.plan_records` / `apply_import`).

Export writes one vCard 3.0 per live contact with `UID` = the contact id, so
importing an export again matches every card to its contact (no duplicates);
cards from elsewhere keep their UID as the contact's external id for the same
reason. Photos are ignored on import and not exported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD\s*$", re.IGNORECASE)
_QP = re.compile(r"ENCODING=QUOTED-PRINTABLE|;QUOTED-PRINTABLE[;:]", re.IGNORECASE)
_UID_PREFIX = re.compile(r"^urn:uuid:", re.IGNORECASE)
VCARD_SUFFIXES = (".vcf", ".vcard")


@dataclass
class CardText:
    """The text of one card and where it starts (card number in its file, line)."""

    file: str
    number: int
    line: int
    text: str


def decode(data: bytes) -> str:
    """vCard bytes as text: UTF-8 (with or without BOM), else Windows-1252 (old Outlook)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def split_cards(text: str, file: str) -> Iterator[CardText | tuple[str, int, int]]:
    """Each card's text; a card without END (or stray text) as (reason, number, line)."""
    number = 0
    current: list[str] | None = None
    start = 0
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if _BEGIN.match(line):
            if current is not None:
                yield ("no END:VCARD before the next card", number, start)
            number += 1
            current, start = [line], i
        elif current is not None:
            current.append(line)
            if _END.match(line):
                yield CardText(file, number, start, "\r\n".join(_join_qp(current)) + "\r\n")
                current = None
    if current is not None:
        yield ("no END:VCARD at the end of the file", number, start)


def _join_qp(lines: list[str]) -> list[str]:
    """Undo quoted-printable soft line breaks ("=" at the end), which vobject does not."""
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if prev.endswith("=") and _QP.search(prev.split(":", 1)[0] + ":"):
            out[-1] = prev[:-1] + line
        else:
            out.append(line)
    return out


def _types(line: Any) -> set[str]:
    types = {t.upper() for v in line.params.get("TYPE", []) for t in v.split(",")}
    return types | {p.upper() for p in getattr(line, "singletonparams", [])}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v)
    return str(value or "").strip()


def card_fields(card: Any) -> dict[str, str]:
    """The import fields of a parsed vobject card (strings, unchecked)."""
    fields: dict[str, str] = {}
    contents = card.contents
    if "fn" in contents:
        fields["name"] = _text(contents["fn"][0].value)
    if "n" in contents:
        n = contents["n"][0].value
        fields["given_name"] = _text(getattr(n, "given", ""))
        fields["family_name"] = _text(getattr(n, "family", ""))
    if "org" in contents:
        org = contents["org"][0].value
        fields["company"] = _text(org[0] if isinstance(org, list) and org else org)
    if "title" in contents:
        fields["title"] = _text(contents["title"][0].value)
    emails = contents.get("email", [])
    if emails:
        preferred = [e for e in emails if "PREF" in _types(e) or e.params.get("PREF")]
        fields["email"] = _text((preferred or emails)[0].value)
    for tel in contents.get("tel", []):
        number = _text(tel.value)
        number = number[4:] if number.lower().startswith("tel:") else number
        key = "mobile" if "CELL" in _types(tel) else "phone"
        fields.setdefault(key, number)
    addresses = contents.get("adr", [])
    if addresses:
        preferred = [a for a in addresses if "PREF" in _types(a)]
        adr = (preferred or addresses)[0].value
        fields["city"] = _text(getattr(adr, "city", ""))
        fields["country"] = _text(getattr(adr, "country", ""))
    if "note" in contents:
        fields["notes"] = " ".join(_text(contents["note"][0].value).split())
    tags: list[str] = []
    for cats in contents.get("categories", []):
        tags += [c for c in cats.value if c and c.lower() != "mycontacts"]  # Google's own group
    if tags:
        fields["tags"] = ",".join(tags)
    if "uid" in contents:
        fields["external_id"] = _UID_PREFIX.sub("", _text(contents["uid"][0].value))
    return {k: v for k, v in fields.items() if v}


def parse_card(card: CardText) -> dict[str, str] | str:
    """A card's fields, or the reason it cannot be read."""
    import vobject

    try:
        parsed = vobject.readOne(card.text)
    except Exception as exc:  # noqa: BLE001 (see below)
        # vobject raises ParseError, ValueError, AttributeError and more on bad input;
        # any of them means "this card is broken", reported, while the rest import.
        return f"not a readable vCard ({exc})".replace("\n", " ")
    fields = card_fields(parsed)
    if not any(k in fields for k in ("name", "given_name", "family_name")):
        return "no name (FN or N)"
    return fields


def read_cards(path: Path) -> list[tuple[str, int, int, dict[str, str] | str]]:
    """Every card under `path` (a file, or a folder of .vcf files): file, number, line, fields."""
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() in VCARD_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    out: list[tuple[str, int, int, dict[str, str] | str]] = []
    for file in files:
        for item in split_cards(decode(file.read_bytes()), file.name):
            if isinstance(item, CardText):
                out.append((file.name, item.number, item.line, parse_card(item)))
            else:
                reason, number, line = item
                out.append((file.name, number, line, reason))
    return out


def contact_card(row: dict[str, Any], company: str | None) -> Any:
    """A vobject vCard 3.0 for one contact row (as stored)."""
    import json

    import vobject

    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("uid").value = row["id"]
    card.add("fn").value = row["name"]
    card.add("n").value = vobject.vcard.Name(
        family=row["family_name"] or "", given=row["given_name"] or ""
    )
    if company:
        card.add("org").value = [company]
    if row["title"]:
        card.add("title").value = row["title"]
    if row["email"]:
        email = card.add("email")
        email.value = row["email"]
        email.type_param = "INTERNET"
    for key, kind in (("phone", "WORK"), ("mobile", "CELL")):
        number = row[f"{key}_e164"] or row[key]
        if number:
            tel = card.add("tel")
            tel.value = number
            tel.type_param = kind
    if row["city"] or row["country"]:
        adr = card.add("adr")
        adr.value = vobject.vcard.Address(city=row["city"] or "", country=row["country"] or "")
    if row["notes"]:
        card.add("note").value = row["notes"]
    tags = json.loads(row["tags"] or "[]")
    if tags:
        card.add("categories").value = tags
    card.add("rev").value = row["updated_at"].replace("-", "").replace(":", "")[:15] + "Z"
    return card


def export_cards(db: Any, out: TextIO | None = None, directory: Path | None = None) -> int:
    """Write live contacts as vCards: all to `out`, or one `<id>.vcf` each into `directory`."""
    cursor = db.execute(
        "SELECT c.*, a.name AS company FROM contact c "
        "LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL "
        "WHERE c.deleted_at IS NULL ORDER BY c.name, c.id"
    )
    names = [d[0] for d in cursor.description]
    count = 0
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        text = contact_card(row, row["company"]).serialize()
        if directory is not None:
            (directory / f"{row['id']}.vcf").write_text(text, encoding="utf-8", newline="")
        elif out is not None:
            out.write(text)
        count += 1
    return count
