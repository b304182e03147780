"""What an account card and the card pickers show: one account's people, deals and work.

Pure sqlite3 reads, safe in worker threads. `activities_of` and `reminders_of`
serve every card (contact, account, deal): the rows carry their ids, so a card
can offer them for editing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

ABOUT_COLUMNS = {"contact": "contact_id", "account": "account_id", "deal": "deal_id"}
LIMIT = 20


@dataclass(frozen=True)
class AccountCard:
    """An account with its territory and owner names, contacts, deals, activities, reminders."""

    account: dict[str, Any]
    contacts: list[dict[str, Any]]
    deals: list[dict[str, Any]]
    activities: list[dict[str, Any]]
    reminders: list[dict[str, Any]]


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _column(about: str) -> str:
    if about not in ABOUT_COLUMNS:
        raise ValueError(f"cannot list rows about a {about!r}")
    return ABOUT_COLUMNS[about]


def activities_of(db: sqlite3.Connection, about: str, row_id: str) -> list[dict[str, Any]]:
    """The latest live activities about a contact, account or deal (with the contact's name)."""
    column = _column(about)
    return _dicts(
        db.execute(
            "SELECT x.*, c.name AS contact_name FROM activity x"
            " LEFT JOIN contact c ON c.id = x.contact_id"
            f" WHERE x.{column} = ? AND x.deleted_at IS NULL"
            " ORDER BY x.occurred_at DESC, x.id DESC LIMIT ?",
            (row_id, LIMIT),
        )
    )


def reminders_of(db: sqlite3.Connection, about: str, row_id: str) -> list[dict[str, Any]]:
    """The open reminders about a contact, account or deal, soonest first."""
    column = _column(about)
    return _dicts(
        db.execute(
            f"SELECT * FROM tickler WHERE {column} = ? AND status = 'open'"
            " AND deleted_at IS NULL ORDER BY due_at, id LIMIT ?",
            (row_id, LIMIT),
        )
    )


def account_card(db: sqlite3.Connection, account_id: str) -> AccountCard | None:
    """The card of a live account by id (None when it is gone)."""
    found = _dicts(
        db.execute(
            "SELECT a.*, t.name AS territory_name, r.name AS owner_name FROM account a"
            " LEFT JOIN territory t ON t.id = a.territory_id LEFT JOIN rep r ON r.id = a.owner_id"
            " WHERE a.id = ? AND a.deleted_at IS NULL",
            (account_id,),
        )
    )
    if not found:
        return None
    contacts = _dicts(
        db.execute(
            "SELECT id, name, title, email, phone, city, do_not_call, archived_at FROM contact"
            " WHERE account_id = ? AND deleted_at IS NULL ORDER BY name, id",
            (account_id,),
        )
    )
    deals = _dicts(
        db.execute(
            "SELECT d.*, s.name AS stage_name FROM deal d JOIN stage s ON s.id = d.stage_id"
            " WHERE d.account_id = ? AND d.deleted_at IS NULL"
            " ORDER BY d.status != 'open', d.expected_close IS NULL, d.expected_close, d.id",
            (account_id,),
        )
    )
    return AccountCard(
        account=found[0],
        contacts=contacts,
        deals=deals,
        activities=activities_of(db, "account", account_id),
        reminders=reminders_of(db, "account", account_id),
    )


def account_label(db: sqlite3.Connection, account_id: str) -> str:
    """An account's name with what tells it from a namesake: city, territory, domain."""
    row = db.execute(
        "SELECT a.name, a.city, t.name, a.domain FROM account a"
        " LEFT JOIN territory t ON t.id = a.territory_id WHERE a.id = ?",
        (account_id,),
    ).fetchone()
    if row is None:
        return ""
    return " · ".join(x for x in row if x)
