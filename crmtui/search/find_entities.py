"""Find accounts and deals by name for the command palette: every word as a substring, ranked.

The schema has no full-text index on these names (contacts have one), so this is
a LIKE per word over the live rows, stopped at `CANDIDATES`, then ranked with
rapidfuzz like the contact search. Measured on 132k accounts / 100k deals in
docs/performance.md. Pure sqlite3, safe in worker threads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from rapidfuzz import fuzz, utils

CANDIDATES = 500


@dataclass(frozen=True, slots=True)
class EntityHit:
    """An account or a deal the user may have meant, with a 0-100 score."""

    kind: str  # "account" or "deal"
    id: str
    name: str
    detail: str
    score: float


def _like_terms(query: str) -> list[str]:
    words = [w for w in query.strip().split() if w]
    return [
        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words
    ]


def _rank(query: str, hits: list[EntityHit], limit: int) -> list[EntityHit]:
    scored = [
        EntityHit(
            h.kind,
            h.id,
            h.name,
            h.detail,
            fuzz.WRatio(query, h.name, processor=utils.default_process),
        )
        for h in hits
    ]
    scored.sort(key=lambda h: (-h.score, h.name))
    return scored[:limit]


def find_accounts(db: sqlite3.Connection, query: str, *, limit: int = 10) -> list[EntityHit]:
    """Live accounts whose name holds every word of the query, best match first."""
    terms = _like_terms(query)
    if not terms:
        return []
    where = " AND ".join("a.name LIKE ? ESCAPE '\\'" for _ in terms)
    rows = db.execute(
        "SELECT a.id, a.name, a.city, t.name, a.domain FROM account a"
        " LEFT JOIN territory t ON t.id = a.territory_id"
        f" WHERE a.deleted_at IS NULL AND {where} LIMIT ?",
        [*terms, CANDIDATES],
    ).fetchall()
    hits = [
        # City, territory and domain tell namesakes apart in the palette.
        EntityHit("account", r[0], r[1], " · ".join(x for x in (r[2], r[3], r[4]) if x), 0.0)
        for r in rows
    ]
    return _rank(query, hits, limit)


def find_deals(db: sqlite3.Connection, query: str, *, limit: int = 10) -> list[EntityHit]:
    """Live deals whose name holds every word of the query, best match first."""
    terms = _like_terms(query)
    if not terms:
        return []
    where = " AND ".join("d.name LIKE ? ESCAPE '\\'" for _ in terms)
    rows = db.execute(
        "SELECT d.id, d.name, s.name, d.status FROM deal d JOIN stage s ON s.id = d.stage_id"
        f" WHERE d.deleted_at IS NULL AND {where} LIMIT ?",
        [*terms, CANDIDATES],
    ).fetchall()
    hits = [
        EntityHit("deal", r[0], r[1], r[2] if r[3] == "open" else f"{r[2]} ({r[3]})", 0.0)
        for r in rows
    ]
    return _rank(query, hits, limit)


def find_leads(db: sqlite3.Connection, query: str, *, limit: int = 10) -> list[EntityHit]:
    """Live leads not converted whose name or company holds every word, best match first."""
    terms = _like_terms(query)
    if not terms:
        return []
    where = " AND ".join(
        "(l.name LIKE ? ESCAPE '\\' OR coalesce(l.company, '') LIKE ? ESCAPE '\\')" for _ in terms
    )
    rows = db.execute(
        "SELECT l.id, l.name, l.company, l.status FROM lead l"
        f" WHERE l.deleted_at IS NULL AND l.status != 'converted' AND {where} LIMIT ?",
        [*(t for term in terms for t in (term, term)), CANDIDATES],
    ).fetchall()
    hits = [
        EntityHit("lead", r[0], r[1], " · ".join(x for x in (r[2], r[3]) if x), 0.0) for r in rows
    ]
    return _rank(query, hits, limit)


def account_contact(db: sqlite3.Connection, account_id: str) -> str | None:
    """The id of a live contact at the account (the first made), if it has one."""
    row = db.execute(
        "SELECT id FROM contact WHERE account_id = ? AND deleted_at IS NULL ORDER BY id LIMIT 1",
        (account_id,),
    ).fetchone()
    return None if row is None else str(row[0])
