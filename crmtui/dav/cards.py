"""A card as the phone sees it: the fields we compare, and the changes between two cards.

A phone's card carries no field clocks, so what the phone changed is the difference
between its card and the card last synced (`dav_link.body`). Both are read by the
same vCard reader as the import (`formats.vcards`), into a view whose values compare
equal when a phone only re-formats a card (number spacing, case of an address,
order of the lines, a REV or PRODID it adds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dateutil.parser import isoparse

from crmtui.formats.vcard_lines import CardSyntaxError, read_props, unescape
from crmtui.formats.vcards import card_fields, card_kind

SCALARS = (
    "name",
    "company",
    "title",
    "department",
    "nickname",
    "website",
    "birthday",
    "notes",
    "tags",
)
"""The contact's own fields a card carries (phones, emails and addresses are items)."""
ITEMS = ("phones", "emails", "addresses")


def _digits(number: str) -> str:
    return ("+" if number.strip().startswith("+") else "") + "".join(
        ch for ch in number if ch.isdigit()
    )


@dataclass(frozen=True)
class CardView:
    """The comparable content of one card."""

    uid: str | None
    scalars: dict[str, str]
    items: dict[str, frozenset[tuple[str, ...]]]
    rev: datetime | None = None
    raw_items: dict[str, list[Any]] = field(default_factory=dict, compare=False)

    def same_content(self, other: CardView) -> bool:
        """Whether two cards say the same (the UID and REV aside)."""
        return self.scalars == other.scalars and self.items == other.items


def _rev(fields_: list[Any]) -> datetime | None:
    for prop in fields_:
        if prop.name == "REV":
            try:
                stamp = isoparse(prop.value.strip())
            except ValueError:
                return None
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return None


def card_view(text: str) -> CardView | str:
    """The view of a card's text, or why it cannot be read."""
    try:
        props = read_props(text, 1)
    except CardSyntaxError as exc:
        return f"not a readable vCard ({exc})"
    kind = card_kind(props)
    if kind is not None:
        return f"a card of kind {kind}, not a person's (left alone)"
    fields_ = card_fields(props)
    if not fields_.get("name") and (fields_.get("given_name") or fields_.get("family_name")):
        fields_["name"] = " ".join(
            p for p in (fields_.get("given_name"), fields_.get("family_name")) if p
        )
    if not fields_.get("name"):
        return "no name (FN or N)"
    scalars = {k: " ".join(fields_.get(k, "").split()) for k in SCALARS if k != "notes"}
    # The notes as written, line breaks kept (the import's reader folds them into one line).
    notes = [unescape(p.value).replace("\r\n", "\n").strip() for p in props if p.name == "NOTE"]
    scalars["notes"] = "\n".join(n for n in notes if n)
    scalars["tags"] = ",".join(sorted(t.strip() for t in scalars["tags"].split(",") if t.strip()))
    raw = json.loads(fields_.get("_items", "{}")) or {}
    phones = [(k, _digits(n)) for k, n, _ in raw.get("phones", [])]
    emails = [(k, a.strip().lower()) for k, a, _ in raw.get("emails", [])]
    addresses = [
        tuple(
            " ".join(str(a.get(p) or "").split()).lower()
            for p in ("kind", "street", "city", "region", "postcode", "country")
        )
        for a in raw.get("addresses", [])
    ]
    items = {
        "phones": frozenset(phones),
        "emails": frozenset(emails),
        "addresses": frozenset(addresses),
    }
    return CardView(fields_.get("source_uid"), scalars, items, _rev(props), raw)


@dataclass
class CardChanges:
    """What one side changed against the base: fields with their new values, items in and out."""

    scalars: dict[str, str] = field(default_factory=dict)
    added: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    removed: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.scalars or any(self.added.values()) or any(self.removed.values()))


def changes(base: CardView, new: CardView) -> CardChanges:
    """What `new` changed against `base`: only these are written (and journaled)."""
    out = CardChanges()
    out.scalars = {k: v for k, v in new.scalars.items() if base.scalars.get(k, "") != v}
    for name in ITEMS:
        out.added[name] = set(new.items[name] - base.items[name])
        out.removed[name] = set(base.items[name] - new.items[name])
    return out
