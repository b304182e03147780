"""Handing leads from one rep to another in bulk (a manager's step, `crm lead reassign`).

Every open lead (not converted, not disqualified) the first rep owns -- within one
territory, when given -- goes to the other rep, with its running plan enrolments and
its open reminders, in one transaction. The server decides at sync whether the
manager may: a new owner must work in the lead's territory, and a lead outside the
manager's subtree is refused (`crmtui.server.push`), each named in `crm conflicts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from crmtui.domain.validate import InvalidInput
from crmtui.store.journal import WriteTx
from crmtui.store.models import Lead, PlanEnrolment, Tickler


@dataclass(frozen=True)
class Reassigned:
    """What a reassignment moved."""

    lead_ids: tuple[str, ...]
    enrolments: int
    reminders: int


def reassign_leads(
    *, tx: WriteTx, from_rep_id: str, to_rep_id: str, territory_id: str | None = None
) -> Reassigned:
    """Give every open lead of one rep (in a territory, when given) to another rep."""
    if from_rep_id == to_rep_id:
        raise InvalidInput("to", "the leads are that rep's already")
    query = select(Lead).where(
        Lead.owner_id == from_rep_id,
        col(Lead.deleted_at).is_(None),
        col(Lead.status).not_in(("converted", "disqualified")),
    )
    if territory_id is not None:
        query = query.where(Lead.territory_id == territory_id)
    leads = list(tx.session.exec(query.order_by(col(Lead.id))).all())
    enrolments = reminders = 0
    for lead in leads:
        tx.update(lead, {"owner_id": to_rep_id})
        for enrolment in tx.session.exec(
            select(PlanEnrolment).where(
                PlanEnrolment.lead_id == lead.id,
                col(PlanEnrolment.deleted_at).is_(None),
                col(PlanEnrolment.stopped_at).is_(None),
            )
        ).all():
            enrolments += bool(tx.update(enrolment, {"owner_id": to_rep_id}))
        for reminder in tx.session.exec(
            select(Tickler).where(
                Tickler.lead_id == lead.id,
                Tickler.status == "open",
                col(Tickler.deleted_at).is_(None),
            )
        ).all():
            reminders += bool(tx.update(reminder, {"owner_id": to_rep_id}))
    return Reassigned(tuple(lead.id for lead in leads), enrolments, reminders)
