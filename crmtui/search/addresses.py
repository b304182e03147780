"""Mail addresses: who owns an address, and the address book a mail client queries.

sqlite3 and the shell lookup only (no SQLModel), so `crm email QUERY` answers
mutt's `query_command` as fast as `crm find` answers a person at a shell.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from crmtui.search.lookup import search_contacts


@dataclass(frozen=True)
class AddressHit:
    """One line of the address book: an address and whose it is."""

    address: str
    name: str
    company: str | None
    do_not_email: bool


@dataclass(frozen=True)
class Owner:
    """A live contact holding an address."""

    contact_id: str
    name: str


def owners(db: sqlite3.Connection, addresses: Iterable[str]) -> dict[str, list[Owner]]:
    """Live contacts holding each address (compared case-insensitively), keyed by lower-case address."""
    wanted = sorted({a.strip().lower() for a in addresses if a.strip()})
    found: dict[str, list[Owner]] = {a: [] for a in wanted}
    if not wanted:
        return found
    marks = ",".join("?" * len(wanted))
    # Items first (every address a contact has); the contact's own column covers
    # databases whose items were not made yet. `lower(address)` has an index (0010).
    rows = db.execute(
        "SELECT lower(e.address), c.id, c.name FROM contact_email e "
        "JOIN contact c ON c.id = e.contact_id "
        f"WHERE lower(e.address) IN ({marks}) AND e.deleted_at IS NULL "
        "AND c.deleted_at IS NULL "
        "UNION SELECT lower(c.email), c.id, c.name FROM contact c "
        f"WHERE lower(c.email) IN ({marks}) AND c.deleted_at IS NULL "
        "ORDER BY 3, 2",
        [*wanted, *wanted],
    ).fetchall()
    for addr, contact_id, name in rows:
        owners_of = found.setdefault(addr, [])
        if all(o.contact_id != contact_id for o in owners_of):
            owners_of.append(Owner(contact_id, name))
    return found


def address_book(db: sqlite3.Connection, query: str, *, limit: int = 30) -> list[AddressHit]:
    """Every address of the contacts `crm find QUERY` finds, best match first, primaries first."""
    hits = search_contacts(db, query, limit=limit)
    if not hits:
        return []
    ids = [h.id for h in hits]
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        "SELECT e.contact_id, e.address FROM contact_email e "
        f"WHERE e.contact_id IN ({marks}) AND e.deleted_at IS NULL "
        "ORDER BY e.is_primary DESC, e.created_at",
        ids,
    ).fetchall()
    flags = dict(
        db.execute(f"SELECT id, do_not_email FROM contact WHERE id IN ({marks})", ids).fetchall()
    )
    by_contact: dict[str, list[str]] = {}
    for contact_id, address in rows:
        by_contact.setdefault(contact_id, []).append(address)
    book: list[AddressHit] = []
    seen: set[str] = set()
    for hit in hits:
        addresses = by_contact.get(hit.id) or ([hit.email] if hit.email else [])
        for address in addresses:
            if address.lower() in seen:
                continue
            seen.add(address.lower())
            book.append(AddressHit(address, hit.name, hit.company, bool(flags.get(hit.id))))
    return book
