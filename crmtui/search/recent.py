"""The contacts a user worked on last: what the contacts screen shows before a search.

Plain sqlite3 on the lookup connection (no SQLModel), like `crmtui.search.lookup`.
"""

from __future__ import annotations

import sqlite3

from crmtui.search.lookup import ContactHit

_RECENT_SQL = (
    "SELECT c.id, c.name, a.name, c.email, coalesce(c.phone, c.mobile, c.phone_e164, "
    "c.mobile_e164), c.city "
    "FROM contact c LEFT JOIN account a ON a.id = c.account_id AND a.deleted_at IS NULL "
    "WHERE c.deleted_at IS NULL AND c.archived_at IS NULL "
    "ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"
)


def recent_contacts(db: sqlite3.Connection, *, limit: int = 50) -> list[ContactHit]:
    """The live, unarchived contacts changed most recently, newest first."""
    if limit <= 0:
        return []
    return [
        ContactHit(
            id=ref_id,
            name=name,
            company=company,
            email=email,
            phone=phone,
            city=city,
            score=0.0,
            archived=False,
        )
        for ref_id, name, company, email, phone, city in db.execute(_RECENT_SQL, (limit,))
    ]
