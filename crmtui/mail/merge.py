"""Merge values for a contact: what a template's fields say about them."""

from __future__ import annotations

import sqlite3


def merge_values(
    db: sqlite3.Connection, contact_id: str, *, rep: str | None, deal: str | None = None
) -> dict[str, str | None]:
    """{field: value} for `crmtui.formats.mail_template.render` (deal: the one named, else the
    contact's newest open deal)."""
    row = db.execute(
        "SELECT c.name, c.given_name, c.family_name, a.name, c.email FROM contact c "
        "LEFT JOIN account a ON a.id = c.account_id WHERE c.id = ?",
        (contact_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no contact {contact_id}")
    name, given, family, company, email = row
    if deal is None:
        found = db.execute(
            "SELECT name FROM deal WHERE contact_id = ? AND status = 'open' "
            "AND deleted_at IS NULL ORDER BY updated_at DESC LIMIT 1",
            (contact_id,),
        ).fetchone()
        deal = found[0] if found else None
    words = name.split()
    return {
        "name": name,
        "first_name": given or (words[0] if words else None),
        "last_name": family or (words[-1] if len(words) > 1 else None),
        "company": company,
        "deal": deal,
        "rep": rep,
        "email": email,
    }
