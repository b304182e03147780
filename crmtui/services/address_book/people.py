"""Who each stored contact is, over all its items, and which stored contacts a record may be.

The one reader behind identity everywhere: CSV and vCard import read every
contact at once (`stored_whos`), the new-contact duplicate warning and lead
conversion look one record up (`identity_matches`, indexed lookups only). Both
read a contact's keys from every email and phone item, not only the primaries,
and judge with the one rule, `crmtui.domain.identity.judge`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crmtui.domain.identity import (
    DIFFERENT,
    EVIDENCE,
    SAME,
    Verdict,
    Who,
    dial_part,
    item_key,
    judge,
)
from crmtui.store.sql_in import select_in

_ORDER = {SAME: 0, EVIDENCE: 1, DIFFERENT: 3}


@dataclass(frozen=True, slots=True)
class Match:
    """A stored contact judged against a record: its id, its identity and the verdict."""

    contact_id: str
    who: Who
    verdict: Verdict


def stored_whos(db: sqlite3.Connection, ids: Iterable[str] | None = None) -> dict[str, Who]:
    """Live contacts' identities (all of them, or those of `ids`), every item's keys included.

    One pass over each table for all contacts (an import's index); chunked indexed
    reads for a few. The primary columns count too (a contact made by an older
    version has no items), but they are always one of the items' values.
    """
    wanted = None if ids is None else sorted(set(ids))
    if wanted is not None and not wanted:
        return {}
    base: dict[str, tuple[str, str | None, str | None]] = {}
    emails: dict[str, list[str]] = {}
    phones: dict[str, list[str]] = {}

    def add(store: dict[str, list[str]], cid: str, key: str) -> None:
        keys = store.setdefault(cid, [])
        if key not in keys:
            keys.append(key)

    def rows(select: str, column: str) -> Iterable[tuple[Any, ...]]:
        if wanted is None:
            return db.execute(f"{select} WHERE deleted_at IS NULL")
        return select_in(db, select, wanted, column=column, where="deleted_at IS NULL")

    contact_sql = (
        "SELECT id, name, external_id, source_uid, email, phone_e164, phone, mobile_e164, mobile"
        " FROM contact"
    )
    for cid, name, ext, uid, email, pe, pt, me, mt in rows(contact_sql, "id"):
        base[cid] = (name, ext, uid)
        if email:
            add(emails, cid, email.lower())
        for e164, typed in ((pe, pt), (me, mt)):
            if e164:
                add(phones, cid, item_key(e164, None, typed))
    for cid, address in rows("SELECT contact_id, address FROM contact_email", "contact_id"):
        add(emails, cid, address.lower())
    phone_sql = "SELECT contact_id, e164, extension, number FROM contact_phone"
    for cid, e164, ext, number in rows(phone_sql, "contact_id"):
        if e164:
            add(phones, cid, item_key(e164, ext, number))
    return {
        cid: Who(name, ext, tuple(emails.get(cid, ())), tuple(phones.get(cid, ())), uid)
        for cid, (name, ext, uid) in base.items()
    }


def candidate_ids(db: sqlite3.Connection, who: Who) -> set[str]:
    """Live contacts sharing a strong key or a phone number with `who` (indexed lookups)."""
    found: set[str] = set()
    if who.emails:
        marks = ", ".join("?" * len(who.emails))
        found |= {
            r[0]
            for r in db.execute(
                "SELECT contact_id FROM contact_email WHERE deleted_at IS NULL"
                f" AND lower(address) IN ({marks})",
                [e.lower() for e in who.emails],
            )
        }
    numbers = sorted({dial_part(k) for k in who.phones})
    if numbers:
        marks = ", ".join("?" * len(numbers))
        found |= {
            r[0]
            for r in db.execute(
                f"SELECT contact_id FROM contact_phone WHERE deleted_at IS NULL AND e164 IN ({marks})",
                numbers,
            )
        }
    # External ids and UIDs are rare in a typed record; when given, the column is read.
    for column, value in (("external_id", who.external_id), ("source_uid", who.source_uid)):
        if value:
            found |= {
                r[0]
                for r in db.execute(
                    f"SELECT id FROM contact WHERE deleted_at IS NULL AND {column} = ?", (value,)
                )
            }
    return found


def identity_matches(db: sqlite3.Connection, who: Who, *, also: Iterable[str] = ()) -> list[Match]:
    """Stored contacts sharing a key with `who` (and those of `also`), judged; strongest first.

    Same person (a strong key) first, then evidence (phone and agreeing name), then
    the rest (a shared switchboard, conflicting keys), each by contact id.
    """
    ids = candidate_ids(db, who) | set(also)
    found = [Match(cid, other, judge(who, other)) for cid, other in stored_whos(db, ids).items()]
    return sorted(found, key=lambda m: (_ORDER.get(m.verdict.kind, 2), m.contact_id))
