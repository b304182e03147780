"""The leads inbox: leads by status, newest first or by score, and how many of each status.

Pure sqlite3, safe in worker threads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

from crmtui.reports.lead_scores import lead_scores, score_sort_key

STATUSES = ("new", "working", "qualified", "disqualified", "converted")
FILTERS = ("open", *STATUSES, "all")
"""The inbox's filters, in the order `f` cycles them; "open" is new, working and qualified."""
OPEN = ("new", "working", "qualified")
LIMIT = 500
SORTS = ("newest", "score")
"""The inbox's orders: newest first, or highest score first (open leads; the rest after)."""


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One lead as the inbox lists it."""

    id: str
    name: str
    company: str | None
    email: str | None
    phone: str | None
    source: str | None
    status: str
    disqualify_reason: str | None
    created_at: str
    converted_contact_id: str | None
    converted_deal_id: str | None
    score: float | None = None
    """The lead score (`crm lead score`) of an open lead; None for the others."""


@dataclass(frozen=True)
class Inbox:
    """The leads a filter shows (at most LIMIT) and the count of every status."""

    rows: list[LeadRow]
    counts: dict[str, int]


def lead_inbox(db: sqlite3.Connection, status: str = "open", sort: str = "newest") -> Inbox:
    """The live leads with this status filter, newest first or by score, with their scores.

    Sorted by score, the LIMIT highest of every lead the filter shows come first (the
    scores are read for all of them), then the ones without a score, newest first.
    """
    if status not in FILTERS:
        raise ValueError(f"{status!r} is not one of {', '.join(FILTERS)}")
    if sort not in SORTS:
        raise ValueError(f"{sort!r} is not one of {', '.join(SORTS)}")
    counts = dict.fromkeys(STATUSES, 0)
    for name, count in db.execute(
        "SELECT status, count(*) FROM lead WHERE deleted_at IS NULL GROUP BY status"
    ):
        counts[str(name)] = int(count)
    counts["open"] = sum(counts[s] for s in OPEN)
    counts["all"] = sum(counts[s] for s in STATUSES)
    wanted = OPEN if status == "open" else STATUSES if status == "all" else (status,)
    marks = ",".join("?" for _ in wanted)
    rows = db.execute(
        "SELECT id, name, company, email, phone, source, status, disqualify_reason, created_at,"
        " converted_contact_id, converted_deal_id FROM lead"
        f" WHERE deleted_at IS NULL AND status IN ({marks})"
        " ORDER BY created_at DESC, id DESC" + (" LIMIT ?" if sort == "newest" else ""),
        [*wanted, LIMIT] if sort == "newest" else wanted,
    ).fetchall()
    leads = [LeadRow(*r) for r in rows]
    # Newest first shows at most LIMIT rows: only those need a score.
    found = lead_scores(db, ids=None if sort == "score" else {lead.id for lead in leads})
    leads = [
        replace(lead, score=found[lead.id].points) if lead.id in found else lead for lead in leads
    ]
    if sort == "score":
        key = score_sort_key(found)
        leads = sorted(leads, key=lambda lead: key(lead.id))[:LIMIT]
    return Inbox(leads, counts)
