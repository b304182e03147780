"""Both sides of a probable-duplicate pair, and what merging them would make, for a review screen.

The review shows a pair as two columns, A (the scan's `Candidate.a`) and B, and lets
the user pick which column stays and, per field, which column's value is kept. The
merge itself knows only "survivor" and "merged" (its own A and B): `PairChoice`
translates, and `preview_merge` runs the merge's own `plan_merge`, so what the
screen shows is what `merge_contacts` will write.

Reads use a plain sqlite3 connection (the app's read-only one), from a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from crmtui.domain.contact_details import AddressItem, EmailItem, PhoneItem, merged_primaries
from crmtui.services.upkeep.merge import CHOOSABLE, plan_merge
from crmtui.store.models import Contact

COLUMNS = ("A", "B")
_BOOLEANS = ("do_not_call", "do_not_email")
# What a merge decides besides the choosable fields (see crmtui/services/upkeep/merge.py).
_RULED = ("phone_e164", "mobile_e164", "given_name", "family_name", "tags", *_BOOLEANS)


@dataclass(frozen=True)
class PairSide:
    """One contact of a pair as stored, with the names its ids point at and its history's size."""

    contact: Contact
    company: str | None
    owner: str | None
    activities: int
    ticklers: int
    deals: int
    items: tuple[list[PhoneItem], list[EmailItem], list[AddressItem]] = ([], [], [])
    """Its live phones, emails and addresses (the merge moves them to the survivor)."""


def read_items(
    db: sqlite3.Connection, contact_id: str
) -> tuple[list[PhoneItem], list[EmailItem], list[AddressItem]]:
    """A contact's live items, oldest first, as the primaries' rule reads them."""
    live = "WHERE contact_id = ? AND deleted_at IS NULL ORDER BY id"
    phones = [
        PhoneItem(i, k, n, e, bool(p), x)
        for i, k, n, e, p, x in db.execute(
            f"SELECT id, kind, number, e164, is_primary, extension FROM contact_phone {live}",
            (contact_id,),
        )
    ]
    emails = [
        EmailItem(i, k, a, bool(p))
        for i, k, a, p in db.execute(
            f"SELECT id, kind, address, is_primary FROM contact_email {live}", (contact_id,)
        )
    ]
    addresses = [
        AddressItem(i, k, c, n, bool(p))
        for i, k, c, n, p in db.execute(
            f"SELECT id, kind, city, country, is_primary FROM contact_address {live}",
            (contact_id,),
        )
    ]
    return phones, emails, addresses


def _count(db: sqlite3.Connection, table: str, contact_id: str) -> int:
    # Live rows only: what a person counts as this contact's history. The merge
    # moves deleted ones too, which is invisible either way.
    row = db.execute(
        f"SELECT count(*) FROM {table} WHERE contact_id = ? AND deleted_at IS NULL", (contact_id,)
    ).fetchone()
    return int(row[0])


def _name(db: sqlite3.Connection, table: str, row_id: str | None) -> str | None:
    if row_id is None:
        return None
    row = db.execute(f"SELECT name FROM {table} WHERE id = ?", (row_id,)).fetchone()
    return None if row is None else str(row[0])


def read_side(db: sqlite3.Connection, contact_id: str) -> PairSide | None:
    """A live contact with its company and owner names and counts of what hangs on it."""
    cursor = db.execute("SELECT * FROM contact WHERE id = ? AND deleted_at IS NULL", (contact_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    values: dict[str, Any] = dict(zip([c[0] for c in cursor.description], row, strict=True))
    values["tags"] = json.loads(values["tags"] or "[]")
    for key in _BOOLEANS:
        values[key] = bool(values[key])
    # Never added to a session: only the merge plan reads it.
    contact = Contact.model_validate(values)
    return PairSide(
        contact=contact,
        company=_name(db, "account", contact.account_id),
        owner=_name(db, "rep", contact.owner_id),
        activities=_count(db, "activity", contact_id),
        ticklers=_count(db, "tickler", contact_id),
        deals=_count(db, "deal", contact_id),
        items=read_items(db, contact_id),
    )


@dataclass(frozen=True)
class PairChoice:
    """Which column stays (its id, its history gains the other's) and the fields picked by hand."""

    survivor: str = "A"
    picks: tuple[tuple[str, str], ...] = ()
    """(field, column) pairs, fields from `CHOOSABLE`, columns "A" or "B"."""

    def other(self) -> str:
        """The column that is merged away."""
        return "B" if self.survivor == "A" else "A"

    def pick(self, field: str, column: str) -> PairChoice:
        """The same choice with `field` taken from `column`."""
        picks = (*((f, c) for f, c in self.picks if f != field), (field, column))
        return PairChoice(self.survivor, picks)

    def merge_fields(self) -> dict[str, str]:
        """The picks in `merge_contacts` terms, where A is the survivor and B the merged one."""
        return {f: "A" if c == self.survivor else "B" for f, c in self.picks}

    def ids(self, a_id: str, b_id: str) -> tuple[str, str]:
        """(survivor id, merged id) for the pair's A and B ids."""
        return (a_id, b_id) if self.survivor == "A" else (b_id, a_id)


@dataclass(frozen=True)
class MergePreview:
    """The survivor's values after the merge, and the column each choosable field comes from."""

    values: dict[str, Any]
    sources: dict[str, str]
    company: str | None
    owner: str | None


def preview_merge(a: PairSide, b: PairSide, choice: PairChoice) -> MergePreview:
    """What merging the pair with `choice` would make of the survivor (nothing is written)."""
    survivor, merged = (a, b) if choice.survivor == "A" else (b, a)
    plan = plan_merge(survivor.contact, merged.contact, prefer="A", fields=choice.merge_fields())
    values = {
        name: plan.changes.get(name, getattr(survivor.contact, name))
        for name in (*CHOOSABLE, *_RULED)
    }
    # The columns phone .. country are the items' primaries after the merge moves them.
    values.update(merged_primaries(survivor.items, merged.items, values))
    sources = {n: choice.survivor if s == "A" else choice.other() for n, s in plan.sources.items()}
    # The account and owner come from one side or the other: so do their names.
    companies = {a.contact.account_id: a.company, b.contact.account_id: b.company}
    owners = {a.contact.owner_id: a.owner, b.contact.owner_id: b.owner}
    return MergePreview(
        values=values,
        sources=sources,
        company=companies.get(values["account_id"]),
        owner=owners.get(values["owner_id"]),
    )


def choosable(a: PairSide, b: PairSide, field: str) -> bool:
    """True when a person has a real choice for `field`: both sides have it, and differ."""
    if field not in CHOOSABLE:
        return False
    va, vb = getattr(a.contact, field), getattr(b.contact, field)
    return va is not None and vb is not None and va != vb
