"""Follow-up plans: the catalogue of plan versions, enrolling contacts, stopping, migrating.

A plan is reference data (`crmtui.sync.fields.REFERENCE`): each `crm plan add` of a
changed file makes a new version, the admin's push publishes it and every laptop
receives it at sync; without a server the local catalogue works the same. An
enrolment stays on the version it started with until `migrate_plan` moves it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmtui.domain.plan_steps import PlanDef, parse_plan
from crmtui.domain.validate import InvalidInput
from crmtui.services.plan_progress import (
    EnrolmentState,
    PlanClock,
    load_state,
    running_enrolments,
    running_lead_enrolments,
    settle,
)
from crmtui.services.territories import me_rep_id
from crmtui.store.journal import WriteTx
from crmtui.store.models import ACTIVITY_OUTCOMES, Contact, Lead, Plan, PlanEnrolment, PlanEvent
from crmtui.store.resolve import NotFound, get_live


def _session(tx: WriteTx | Session) -> Session:
    return tx.session if isinstance(tx, WriteTx) else tx


def check_plan_text(text: str, *, source: str) -> PlanDef:
    """Parse a plan file's text (`PlanFileError` names the file, the line and the field)."""
    return parse_plan(text, source=source, outcomes=ACTIVITY_OUTCOMES)


def publish_plan(*, tx: WriteTx, text: str, source: str) -> tuple[Plan, bool]:
    """Add a plan, or a new version of it when its text changed; returns (plan, created)."""
    plan = check_plan_text(text, source=source)
    latest = latest_version(tx, plan.name)
    if latest is not None and latest.source == text:
        return latest, False
    row = Plan(
        name=latest.name if latest else plan.name,
        version=(latest.version + 1) if latest else 1,
        source=text,
    )
    tx.add(row)
    return row, True


def latest_version(tx: WriteTx | Session, name: str) -> Plan | None:
    """The newest live version of the plan called `name` (case-insensitive), or None."""
    stmt = (
        select(Plan)
        .where(func.lower(Plan.name) == name.strip().lower(), col(Plan.deleted_at).is_(None))
        .order_by(col(Plan.version).desc())
    )
    return _session(tx).exec(stmt).first()


def find_plan(tx: WriteTx | Session, ref: str, version: int | None = None) -> Plan:
    """A plan by name (its newest version, or `version`) or by id; NotFound otherwise."""
    session = _session(tx)
    if version is not None:
        found = session.exec(
            select(Plan).where(
                func.lower(Plan.name) == ref.strip().lower(),
                Plan.version == version,
                col(Plan.deleted_at).is_(None),
            )
        ).first()
        if found is None:
            raise NotFound(f"no plan {ref!r} version {version}")
        return found
    latest = latest_version(session, ref)
    if latest is not None:
        return latest
    try:
        return get_live(session, Plan, ref)
    except NotFound:
        raise NotFound(f"no plan {ref!r} (see `crm plan list`)") from None


def plan_names(db: sqlite3.Connection) -> list[tuple[str, int, str, str]]:
    """(name, newest version, its id, its text) of every plan, by name."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in db.execute(
            "SELECT p.name, p.version, p.id, p.source FROM plan p WHERE p.deleted_at IS NULL"
            " AND p.version = (SELECT max(q.version) FROM plan q WHERE q.deleted_at IS NULL"
            " AND lower(q.name) = lower(p.name)) ORDER BY lower(p.name)"
        )
    ]


def enrol_refusal(tx: WriteTx, plan_id: str, contact_id: str) -> str | None:
    """Why a contact cannot be put on a plan now (archived, on it already), or None."""
    plan = get_live(tx, Plan, plan_id)
    contact = get_live(tx, Contact, contact_id)
    if contact.archived_at is not None:
        return f"{contact.name} is archived"
    if _runs_plan(tx, running_enrolments(tx.db, contact.id), plan.name):
        return f"{contact.name} is on plan {plan.name} already"
    return None


def _runs_plan(tx: WriteTx, enrolment_ids: list[str], plan_name: str) -> bool:
    """Whether one of these enrolments is a running one of the plan with this name."""
    for other in enrolment_ids:
        state = load_state(tx.db, other)
        if (
            state is not None
            and state.position.running
            and state.plan_name.lower() == plan_name.lower()
        ):
            return True
    return False


def _start(tx: WriteTx, enrolment: PlanEnrolment, clock: PlanClock) -> EnrolmentState:
    """Store a new enrolment and settle it: its first step's reminder, or the skip."""
    tx.add(enrolment)
    state = settle(tx=tx, enrolment_id=enrolment.id, clock=clock)
    assert state is not None
    return state


def enrol_contact(
    *, tx: WriteTx, plan_id: str, contact_id: str, clock: PlanClock, rep_name: str | None = None
) -> EnrolmentState:
    """Put a contact on a plan version and make its first step's reminder (or skip it)."""
    refusal = enrol_refusal(tx, plan_id, contact_id)
    if refusal is not None:
        raise InvalidInput("contact", refusal)
    plan = get_live(tx, Plan, plan_id)
    contact = get_live(tx, Contact, contact_id)
    enrolment = PlanEnrolment(
        plan_id=plan.id,
        contact_id=contact.id,
        enrolled_at=tx.now,
        owner_id=contact.owner_id or me_rep_id(tx, rep_name),
    )
    return _start(tx, enrolment, clock)


def lead_enrol_refusal(tx: WriteTx, plan_id: str, lead_id: str) -> str | None:
    """Why a lead cannot be put on a plan now (converted, disqualified, on it already), or None."""
    plan = get_live(tx, Plan, plan_id)
    lead = get_live(tx, Lead, lead_id)
    if lead.status == "converted":
        return f"lead {lead.name} was converted: enrol its contact instead"
    if lead.status == "disqualified":
        return f"lead {lead.name} is disqualified"
    if _runs_plan(tx, running_lead_enrolments(tx.db, lead.id), plan.name):
        return f"lead {lead.name} is on plan {plan.name} already"
    return None


def enrol_lead(
    *, tx: WriteTx, plan_id: str, lead_id: str, clock: PlanClock, rep_name: str | None = None
) -> EnrolmentState:
    """Put a lead on a plan version and make its first step's reminder (about the lead)."""
    refusal = lead_enrol_refusal(tx, plan_id, lead_id)
    if refusal is not None:
        raise InvalidInput("lead", refusal)
    plan = get_live(tx, Plan, plan_id)
    lead = get_live(tx, Lead, lead_id)
    enrolment = PlanEnrolment(
        plan_id=plan.id,
        lead_id=lead.id,
        enrolled_at=tx.now,
        owner_id=lead.owner_id or me_rep_id(tx, rep_name),
    )
    return _start(tx, enrolment, clock)


def find_enrolment(
    tx: WriteTx | Session,
    contact_id: str | None,
    plan_name: str | None,
    *,
    lead_id: str | None = None,
) -> str:
    """The id of a contact's (or a lead's) running enrolment (on `plan_name`, when given)."""
    session = _session(tx)
    whose = (
        PlanEnrolment.contact_id == contact_id
        if contact_id is not None
        else PlanEnrolment.lead_id == lead_id
    )
    stmt = (
        select(PlanEnrolment.id, Plan.name)
        .join(Plan, col(Plan.id) == PlanEnrolment.plan_id)
        .where(
            whose,
            col(PlanEnrolment.stopped_at).is_(None),
            col(PlanEnrolment.deleted_at).is_(None),
        )
        .order_by(col(PlanEnrolment.id))
    )
    rows = [
        (eid, name)
        for eid, name in session.exec(stmt).all()
        if plan_name is None or name.lower() == plan_name.strip().lower()
    ]
    if not rows:
        raise NotFound("not on " + (f"plan {plan_name!r}" if plan_name else "any plan"))
    if len(rows) > 1 and plan_name is None:
        names = ", ".join(sorted({n for _, n in rows}))
        raise InvalidInput("plan", f"on several plans ({names}): say which one")
    return rows[0][0]


def stop_enrolment(*, tx: WriteTx, enrolment_id: str, reason: str, clock: PlanClock) -> None:
    """Take a contact off a plan by hand; its open step reminder goes with it."""
    enrolment = get_live(tx, PlanEnrolment, enrolment_id)
    if enrolment.stopped_at is not None:
        raise InvalidInput("enrolment", "this enrolment was stopped already")
    tx.update(enrolment, {"stopped_at": tx.now, "stop_reason": reason.strip()[:200] or None})
    settle(tx=tx, enrolment_id=enrolment.id, clock=clock)


def pause_enrolment(
    *, tx: WriteTx, enrolment_id: str, until: datetime, tz: tzinfo
) -> EnrolmentState:
    """Hold a plan until `until`: its open step reminder is due then (recorded with the reason).

    The position stays derived: the step is the same, only its reminder moves, so the
    steps after it count their waits from when it is done, and the pause syncs as the
    reminder's change and a "paused" plan event.
    """
    from crmtui.services.follow_ups.ticklers import defer_tickler

    state = load_state(tx.db, enrolment_id)
    if state is None:
        raise NotFound("no such enrolment")
    position = state.position
    if not position.running:
        raise InvalidInput("enrolment", f"the plan is not running ({position.why})")
    if position.tickler_id is None or position.step is None:
        raise InvalidInput("enrolment", f"nothing to pause: {position.why}")
    if until <= tx.now:
        raise InvalidInput("until", "a pause must end in the future")
    defer_tickler(tx=tx, tickler_id=position.tickler_id, due_at=until)
    tx.add(
        PlanEvent(
            enrolment_id=state.id,
            contact_id=state.contact_id,
            lead_id=state.lead_id,
            kind="paused",
            at=tx.now,
            step=position.step.key,
            attempt=position.attempt,
            reason=f"by hand until {until.astimezone(tz):%Y-%m-%d %H:%M}",
        )
    )
    after = load_state(tx.db, enrolment_id)
    assert after is not None
    return after


def migrate_plan(*, tx: WriteTx, name: str, clock: PlanClock) -> list[str]:
    """Move every running enrolment on older versions of a plan to its newest; returns ids.

    Each keeps its history: steps are matched by key, and a step the new version adds
    before where the enrolment is counts as passed (`plan_steps.derive`).
    """
    latest = latest_version(tx, name)
    if latest is None:
        raise NotFound(f"no plan {name!r} (see `crm plan list`)")
    older = tx.session.exec(
        select(PlanEnrolment)
        .join(Plan, col(Plan.id) == PlanEnrolment.plan_id)
        .where(
            func.lower(Plan.name) == latest.name.lower(),
            Plan.version < latest.version,
            col(PlanEnrolment.stopped_at).is_(None),
            col(PlanEnrolment.deleted_at).is_(None),
        )
        .order_by(col(PlanEnrolment.id))
    ).all()
    moved: list[str] = []
    for enrolment in older:
        state = load_state(tx.db, enrolment.id)
        if state is None or not state.position.running:
            continue
        tx.update(enrolment, {"plan_id": latest.id})
        tx.add(
            PlanEvent(
                enrolment_id=enrolment.id,
                contact_id=enrolment.contact_id,
                lead_id=enrolment.lead_id,
                kind="migrated",
                at=tx.now,
                reason=f"v{state.plan_version} -> v{latest.version}",
            )
        )
        settle(tx=tx, enrolment_id=enrolment.id, clock=clock)
        moved.append(enrolment.id)
    return moved


def enrolment_states(
    db: sqlite3.Connection,
    *,
    plan_name: str | None = None,
    contact_id: str | None = None,
    lead_id: str | None = None,
) -> list[EnrolmentState]:
    """Every enrolment (of one plan, contact or lead) with its derived position, newest first."""
    sql = (
        "SELECT e.id FROM plan_enrolment e JOIN plan p ON p.id = e.plan_id"
        " WHERE e.deleted_at IS NULL"
    )
    params: list[str] = []
    if plan_name is not None:
        sql += " AND lower(p.name) = lower(?)"
        params.append(plan_name.strip())
    if contact_id is not None:
        sql += " AND e.contact_id = ?"
        params.append(contact_id)
    if lead_id is not None:
        sql += " AND e.lead_id = ?"
        params.append(lead_id)
    sql += " ORDER BY e.enrolled_at DESC, e.id DESC"
    states = [load_state(db, r[0]) for r in db.execute(sql, params).fetchall()]
    return [s for s in states if s is not None]
