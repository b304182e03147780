"""'Not a duplicate' decisions: kept, journaled and synced, so a dismissed pair stays dismissed."""

from __future__ import annotations

import sqlite3

from sqlmodel import col, select

from crmtui.domain.validate import InvalidInput
from crmtui.store.journal import WriteTx
from crmtui.store.models import Contact, DuplicateDecision
from crmtui.store.resolve import get_live


def pair_ids(a: str, b: str) -> tuple[str, str]:
    """A pair's two ids in the order a decision stores them (one key per pair)."""
    return (a, b) if a <= b else (b, a)


def mark_not_duplicate(*, tx: WriteTx, contact_id: str, other_id: str) -> DuplicateDecision:
    """Record that two contacts are different people; a pair decided already is left as is."""
    first = get_live(tx, Contact, contact_id)
    second = get_live(tx, Contact, other_id)
    if first.id == second.id:
        raise InvalidInput("contact", "a contact is always the same person as itself")
    low, high = pair_ids(first.id, second.id)
    found = tx.session.exec(
        select(DuplicateDecision).where(
            DuplicateDecision.contact_id == low,
            DuplicateDecision.other_contact_id == high,
            col(DuplicateDecision.deleted_at).is_(None),
        )
    ).first()
    if found is not None:
        return found
    decision = DuplicateDecision(contact_id=low, other_contact_id=high, decided_at=tx.now)
    tx.add(decision)
    return decision


def not_duplicate_pairs(db: sqlite3.Connection) -> set[tuple[str, str]]:
    """Every pair decided 'not a duplicate' (sorted ids), for a scan to leave out."""
    rows = db.execute(
        "SELECT contact_id, other_contact_id FROM duplicate_decision WHERE deleted_at IS NULL"
    )
    return {pair_ids(a, b) for a, b in rows}
