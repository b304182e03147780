"""Merging two contacts into one, journaled, and undoing a merge exactly.

`merge_contacts(survivor=A, merged=B)` in one write transaction:
- every field of A gets the chosen value: the preferred side's when it has one,
  else the other's (fill-empty); `--field name=B` forces a side for one field;
- tags are the union; consent is the least permissive (an opt-out on either
  side stays); notes from both are kept; a second phone or email that has no
  column left is written into the notes rather than dropped;
- B's activities, ticklers, deals and converted leads are moved to A;
- B is tombstoned; both changes are ordinary journal ops, so a merge syncs;
- a `merge_record` row keeps both rows as they were and the ids of every moved
  child, which is what `undo_merge` restores from.

Undo puts back exactly the pre-merge values of every column of A, B and the
moved rows. Only `updated_at` differs afterwards: it is bookkeeping that every
change (the undo included) sets to the time of the change, and sync needs it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import SQLModel, col, select

from crmtui.domain.contact_details import PRIMARY_COLUMNS
from crmtui.domain.validate import InvalidInput
from crmtui.services.contact_items import refresh_primaries, set_primary
from crmtui.services.reindex import reindex_contact
from crmtui.store.journal import WriteTx
from crmtui.store.models import (
    CONTACT_ITEMS,
    Activity,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactPhone,
    Deal,
    Lead,
    MergeRecord,
    Tickler,
)
from crmtui.store.resolve import NotFound, get_live

SIDES = ("A", "B")
# Fields a person chooses between; the rest follow rules (see module docstring).
CHOOSABLE = (
    "name", "title", "account_id", "email", "phone", "mobile", "city", "country",
    "territory_id", "owner_id", "source", "external_id", "stay_in_touch_days",
    "max_calls", "max_calls_days", "notes",
)  # fmt: skip
_PAIRED = {
    "name": ("given_name", "family_name"),
    "phone": ("phone_e164",),
    "mobile": ("mobile_e164",),
}
_CHILDREN: tuple[tuple[type[SQLModel], str], ...] = (
    (Activity, "contact_id"),
    (Tickler, "contact_id"),
    (Deal, "contact_id"),
    (Lead, "converted_contact_id"),
    # Phones, emails and addresses move too: the survivor keeps every number.
    (ContactPhone, "contact_id"),
    (ContactEmail, "contact_id"),
    (ContactAddress, "contact_id"),
)
NOTES_MAX = 10_000


class MergeError(ValueError):
    """A merge or undo that cannot be done (same contact twice, already undone ...)."""


@dataclass
class MergePlan:
    """The survivor's new values, and which side each chosen field came from."""

    changes: dict[str, Any]
    sources: dict[str, str]


def _side(a: Contact, b: Contact, side: str) -> Contact:
    return a if side == "A" else b


def plan_merge(
    a: Contact, b: Contact, *, prefer: str = "A", fields: Mapping[str, str] | None = None
) -> MergePlan:
    """What merging B into A changes on A (nothing is written)."""
    if prefer not in SIDES:
        raise InvalidInput("prefer", "must be A or B")
    forced = dict(fields or {})
    for name, side in forced.items():
        if name not in CHOOSABLE:
            raise InvalidInput("field", f"{name!r} cannot be chosen ({', '.join(CHOOSABLE)})")
        if side not in SIDES:
            raise InvalidInput("field", f"{name}={side}: the side must be A or B")
    other = "B" if prefer == "A" else "A"
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in CHOOSABLE:
        if name in forced:
            side = forced[name]
        elif getattr(_side(a, b, prefer), name) is not None:
            side = prefer
        else:
            side = other
        source = _side(a, b, side)
        values[name] = getattr(source, name)
        for paired in _PAIRED.get(name, ()):
            values[paired] = getattr(source, paired)
        sources[name] = side
    leftovers = _leftovers(a, b, values)
    if "notes" not in forced:
        notes = [n for n in (_side(a, b, prefer).notes, _side(a, b, other).notes) if n]
        notes = list(dict.fromkeys(notes)) + (
            [f"merged: also {', '.join(leftovers)}"] if leftovers else []
        )
        values["notes"] = " · ".join(notes)[:NOTES_MAX] or None
    values["tags"] = list(dict.fromkeys([*a.tags, *b.tags]))
    values["do_not_call"] = a.do_not_call or b.do_not_call
    values["do_not_email"] = a.do_not_email or b.do_not_email
    changes = {k: v for k, v in values.items() if getattr(a, k) != v}
    return MergePlan(changes, sources)


def _leftovers(a: Contact, b: Contact, values: dict[str, Any]) -> list[str]:
    """Fill an empty phone/mobile from the other side's numbers; return what still has no place."""
    kept = {values.get("phone_e164"), values.get("mobile_e164")} - {None}
    spare = [
        (typed, e164)
        for typed, e164 in (
            (a.phone, a.phone_e164),
            (a.mobile, a.mobile_e164),
            (b.phone, b.phone_e164),
            (b.mobile, b.mobile_e164),
        )
        if e164 and e164 not in kept
    ]
    spare = list(dict.fromkeys(spare))
    for key in ("phone", "mobile"):
        if values.get(f"{key}_e164") is None and spare:
            values[key], values[f"{key}_e164"] = spare.pop(0)
    left = [typed or e164 for typed, e164 in spare]
    emails = {e for e in (a.email, b.email) if e}
    left += sorted(e for e in emails if e != values.get("email"))
    return left


def _children(tx: WriteTx, contact_id: str) -> dict[str, list[SQLModel]]:
    found: dict[str, list[SQLModel]] = {}
    for model, column in _CHILDREN:
        rows = tx.session.exec(select(model).where(getattr(model, column) == contact_id))
        found[str(model.__tablename__)] = list(rows)
    return found


def merge_contacts(
    *,
    tx: WriteTx,
    survivor_id: str,
    merged_id: str,
    prefer: str = "A",
    fields: Mapping[str, str] | None = None,
) -> MergeRecord:
    """Merge contact B (`merged_id`) into A (`survivor_id`); returns the undo record."""
    a = get_live(tx, Contact, survivor_id)
    b = get_live(tx, Contact, merged_id)
    if a.id == b.id:
        raise MergeError("a contact cannot be merged with itself")
    plan = plan_merge(a, b, prefer=prefer, fields=fields)
    snapshot: dict[str, Any] = {
        "survivor": a.model_dump(mode="json"),
        "merged": b.model_dump(mode="json"),
        "changed": sorted(plan.changes),
        "moved": {},
    }
    snapshot["flags"] = _item_flags(tx, (a.id, b.id))
    snapshot["dropped"] = _drop_repeated_items(tx, a.id, b.id)
    for table, rows in _children(tx, b.id).items():
        column = dict((str(m.__tablename__), c) for m, c in _CHILDREN)[table]
        snapshot["moved"][table] = [r.id for r in rows]  # type: ignore[attr-defined]
        for row in rows:
            changes: dict[str, Any] = {column: a.id}
            if table in CONTACT_ITEMS and getattr(row, "deleted_at", None) is None:
                changes["is_primary"] = False  # the survivor's primaries stay, unless chosen
            tx.update(row, changes)
    tx.update(a, {k: v for k, v in plan.changes.items() if k not in PRIMARY_COLUMNS})
    _choose_primaries(tx, a, plan.changes)
    tx.delete(b)
    reindex_contact(tx, a)
    reindex_contact(tx, b)
    record = MergeRecord(
        entity="contact", survivor_id=a.id, merged_id=b.id, snapshot=snapshot, created_at=tx.now
    )
    tx.session.add(record)
    return record


def _item_flags(tx: WriteTx, contact_ids: tuple[str, ...]) -> dict[str, dict[str, bool]]:
    """Every item's primary flag of the two contacts, as the merge found them (for the undo)."""
    flags: dict[str, dict[str, bool]] = {}
    for entity, model in CONTACT_ITEMS.items():
        rows = tx.session.exec(select(model).where(col(model.contact_id).in_(contact_ids)))
        flags[entity] = {r.id: bool(r.is_primary) for r in rows}
    return flags


def _same(row: Any) -> str:
    if isinstance(row, ContactPhone):
        return f"{row.e164 or row.number};{row.extension or ''}"
    if isinstance(row, ContactEmail):
        return row.address.lower()
    return "|".join(str(getattr(row, n) or "") for n in ("street", "city", "postcode", "country"))


def _drop_repeated_items(tx: WriteTx, a_id: str, b_id: str) -> dict[str, list[str]]:
    """Tombstone B's items that repeat one of A's (one number, not two); their ids."""
    dropped: dict[str, list[str]] = {}
    for entity, model in CONTACT_ITEMS.items():
        live = col(model.deleted_at).is_(None)
        mine = {
            _same(r) for r in tx.session.exec(select(model).where(model.contact_id == a_id, live))
        }
        for row in tx.session.exec(select(model).where(model.contact_id == b_id, live)).all():
            if _same(row) in mine:
                tx.delete(row)
                dropped.setdefault(entity, []).append(row.id)
    return dropped


def _choose_primaries(tx: WriteTx, a: Contact, chosen: Mapping[str, Any]) -> None:
    """Mark as primary the items holding the values the merge chose, then derive the columns."""
    wanted = (
        (ContactPhone, "e164", chosen.get("phone_e164")),
        (ContactEmail, "address", chosen.get("email")),
        (ContactAddress, "city", chosen.get("city")),
    )
    for model, name, value in wanted:
        if value is None:
            continue
        rows = tx.session.exec(
            select(model).where(model.contact_id == a.id, col(model.deleted_at).is_(None))
        ).all()
        match = next((r for r in rows if getattr(r, name) == value), None)
        if match is not None and not (isinstance(match, ContactPhone) and match.kind == "fax"):
            set_primary(tx, match)
    refresh_primaries(tx, a)


def _restore(tx: WriteTx, row: Contact, saved: Mapping[str, Any], names: list[str]) -> None:
    before = Contact.model_validate(saved)
    tx.update(row, {n: getattr(before, n) for n in names})


def undo_merge(*, tx: WriteTx, merge_id: str) -> MergeRecord:
    """Put both contacts and the moved rows back as they were before the merge."""
    record = get_merge(tx, merge_id)
    if record.undone_at is not None:
        raise MergeError(f"merge {record.id} was already undone")
    snap = record.snapshot
    a = tx.session.get(Contact, record.survivor_id)
    b = tx.session.get(Contact, record.merged_id)
    if a is None or b is None:
        raise MergeError(f"merge {record.id}: a contact of it no longer exists")
    if a.deleted_at is not None:
        raise MergeError(f"merge {record.id}: {a.name} was deleted since; restore it first")
    unjournaled = {"id", "updated_at"}
    _restore(tx, b, snap["merged"], [n for n in snap["merged"] if n not in unjournaled])
    _restore(tx, a, snap["survivor"], list(snap["changed"]))
    columns = {str(m.__tablename__): (m, c) for m, c in _CHILDREN}
    for table, ids in snap["moved"].items():
        model, column = columns[table]
        for row_id in ids:
            row = tx.session.get(model, row_id)
            if row is not None and getattr(row, column) == a.id:
                tx.update(row, {column: b.id})
    for entity, ids in snap.get("dropped", {}).items():
        for row_id in ids:
            row = tx.session.get(CONTACT_ITEMS[entity], row_id)
            if row is not None:
                tx.update(row, {"deleted_at": None})
    for entity, flags in snap.get("flags", {}).items():
        for row_id, flag in flags.items():
            row = tx.session.get(CONTACT_ITEMS[entity], row_id)
            if row is not None:
                tx.update(row, {"is_primary": flag})
    reindex_contact(tx, a)
    reindex_contact(tx, b)
    record.undone_at = tx.now
    tx.session.add(record)
    return record


def get_merge(tx: WriteTx, merge_id: str) -> MergeRecord:
    """A merge record by id or unique prefix."""
    ref = merge_id.strip().lower()
    row = tx.session.get(MergeRecord, ref)
    if row is not None:
        return row
    rows = list(tx.session.exec(select(MergeRecord).where(MergeRecord.id.startswith(ref)).limit(2)))
    if len(ref) < 6 or len(rows) != 1:
        raise NotFound(f"no merge with id {merge_id!r}")
    return rows[0]
