"""A deal's card for the shell and the app: its fields, stage history and time in each stage.

Pure sqlite3, like the other read modules.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from crmtui.domain.periods import parse_timestamp
from crmtui.reports.scope import MIN_PREFIX


class DealNotFound(LookupError):
    """No live deal has that id (or the prefix is ambiguous)."""


@dataclass(frozen=True, slots=True)
class StageVisit:
    """One entry of the history: the stage entered, when, by whom, and for how long."""

    changed_at: str
    from_stage: str | None
    to_stage: str
    changed_by: str | None
    days_in_stage: float  # until the next change, or until now for the current stage

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON and CSV."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DealHeader:
    """The fields a deal card shows."""

    id: str
    name: str
    status: str
    lost_reason: str | None
    stage_name: str
    probability: int
    probability_source: str
    amount_minor: int | None
    currency: str
    expected_close: str | None
    owner_name: str | None
    territory_name: str | None
    account_name: str | None
    contact_name: str | None
    stage_changed_at: str
    closed_at: str | None
    contact_id: str | None = None


@dataclass
class DealCard:
    """A deal and its stage history, oldest first."""

    deal: DealHeader
    history: list[StageVisit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"deal": asdict(self.deal), "history": [h.as_dict() for h in self.history]}


def _find(db: sqlite3.Connection, ref: str) -> str:
    wanted = ref.strip().lower()
    rows = db.execute(
        "SELECT id FROM deal WHERE deleted_at IS NULL AND id = ?", (wanted,)
    ).fetchall()
    if not rows and len(wanted) >= MIN_PREFIX:
        rows = db.execute(
            "SELECT id FROM deal WHERE deleted_at IS NULL AND id LIKE ? LIMIT 2", (wanted + "%",)
        ).fetchall()
    if len(rows) != 1:
        problem = "matches several deals" if rows else "matches no deal"
        raise DealNotFound(f"{ref!r} {problem} (give the id or at least {MIN_PREFIX} characters)")
    return str(rows[0][0])


def stage_history(db: sqlite3.Connection, deal_id: str, *, now: datetime) -> list[StageVisit]:
    """A deal's stage changes, oldest first, each with the days spent in the stage entered."""
    rows = db.execute(
        "SELECT h.changed_at, f.name, t.name, r.name FROM deal_stage_change h"
        " JOIN stage t ON t.id = h.to_stage_id LEFT JOIN stage f ON f.id = h.from_stage_id"
        " LEFT JOIN rep r ON r.id = h.changed_by"
        " WHERE h.deal_id = ? AND h.deleted_at IS NULL ORDER BY h.changed_at, h.id",
        (deal_id,),
    ).fetchall()
    visits = []
    for i, (changed_at, from_name, to_name, by) in enumerate(rows):
        end = parse_timestamp(rows[i + 1][0]) if i + 1 < len(rows) else now
        days = (end - parse_timestamp(changed_at)).total_seconds() / 86400
        visits.append(StageVisit(changed_at, from_name, to_name, by, round(days, 2)))
    return visits


def deal_card(db: sqlite3.Connection, ref: str, *, now: datetime) -> DealCard:
    """A deal by id or id prefix, with its history."""
    deal = deal_header(db, _find(db, ref))
    # A closed deal's time in its last stage ends when it closed, not now.
    end = parse_timestamp(deal.closed_at) if deal.closed_at else now
    return DealCard(deal, stage_history(db, deal.id, now=end))


def deal_header(db: sqlite3.Connection, deal_id: str) -> DealHeader:
    """A deal's fields as its card shows them (the id must be a live deal's)."""
    r = db.execute(
        "SELECT d.id, d.name, d.status, d.lost_reason, s.name, COALESCE(d.probability,"
        " s.probability), CASE WHEN d.probability IS NULL THEN 'stage' ELSE 'deal' END,"
        " d.amount_minor, d.currency, d.expected_close, rep.name, t.name, a.name, c.name,"
        " d.stage_changed_at, d.closed_at, d.contact_id FROM deal d"
        " JOIN stage s ON s.id = d.stage_id"
        " LEFT JOIN rep ON rep.id = d.owner_id LEFT JOIN territory t ON t.id = d.territory_id"
        " LEFT JOIN account a ON a.id = d.account_id LEFT JOIN contact c ON c.id = d.contact_id"
        " WHERE d.id = ?",
        (deal_id,),
    ).fetchone()
    if r is None:
        raise DealNotFound(f"no deal {deal_id}")
    return DealHeader(*r)
