"""Moving enrolments along their plan: consent gates, step reminders, settling after sync.

`settle` is the one writer of an enrolment's progress. It derives the position
(`crmtui.domain.plan_steps.derive`) from the enrolment's events and its step
reminders, then makes the reminder of the step that is due (or records why the
step is skipped or paused), cancels reminders the derived path no longer goes
through (a step both laptops advanced offline), and ends the enrolment's open
reminders when it has left the plan. It is idempotent: settling twice writes
nothing the second time. Logging an activity or ticking a step's reminder calls it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from crmtui.domain.business_days import WorkCalendar
from crmtui.domain.date_style import in_full
from crmtui.domain.plan_steps import (
    ACTIVITY_KINDS_OF_STEP,
    Event,
    PlanDef,
    PlanFileError,
    Position,
    Reminder,
    derive,
    parse_plan,
)
from crmtui.domain.when import zone
from crmtui.services.consent import LIVE_FOR_CONTACT, CallCap, effective_cap, format_timestamp
from crmtui.store.journal import WriteTx
from crmtui.store.models import ACTIVITY_OUTCOMES, Activity, PlanEnrolment, PlanEvent, Tickler
from crmtui.store.types import parse_timestamp

MAX_SETTLE_ROUNDS = 200
"""Skips chain (a do-not-call contact skips every call step); bounded all the same."""


@dataclass(frozen=True)
class PlanClock:
    """What scheduling a step needs: the user's zone, business days and the call cap."""

    tz: tzinfo = field(default_factory=lambda: zone(None))
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    cap: CallCap = field(default_factory=CallCap)


@dataclass(frozen=True)
class EnrolmentState:
    """An enrolment with its plan and derived position (what `crm plan status` shows)."""

    id: str
    contact_id: str | None
    """The contact on the plan (None for a lead not converted yet: `lead_id`)."""
    contact_name: str
    """The name of whoever is on the plan: the contact, else the lead."""
    plan_id: str
    plan_name: str
    plan_version: int
    enrolled_at: datetime
    position: Position
    due_at: datetime | None
    """The open step reminder's due moment (state "waiting")."""
    notes: tuple[str, ...]
    """Skips and pauses recorded on the way, newest last (the reasons consent gave)."""
    lead_id: str | None = None
    """The lead on the plan (a web lead; kept after conversion, when `contact_id` is set)."""


@lru_cache(maxsize=64)
def read_plan(source: str, name: str, version: int) -> PlanDef:
    """A stored plan version's definition (its text was checked when it was published)."""
    return parse_plan(source, source=f"plan {name} v{version}", outcomes=ACTIVITY_OUTCOMES)


def _ts(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None


def _lead_ended(db: sqlite3.Connection, lead_id: str) -> str | None:
    """Why a lead (not converted onto a contact) can no longer be on a plan."""
    row = db.execute(
        "SELECT name, status, deleted_at, disqualify_reason FROM lead WHERE id = ?", (lead_id,)
    ).fetchone()
    if row is None or row[2] is not None:
        return "the lead was deleted"
    if row[1] == "disqualified":
        return f"lead {row[0]} was disqualified" + (f" ({row[3]})" if row[3] else "")
    if row[1] == "converted":
        return f"lead {row[0]} was converted"
    return None


def _ended(
    db: sqlite3.Connection, contact_id: str | None, enrolled_at: datetime, lead_id: str | None
) -> str | None:
    """Why the contact (or lead) can no longer be on a plan (archived, opted out, a deal closed)."""
    if contact_id is None:
        return _lead_ended(db, lead_id) if lead_id else "the enrolment names nobody"
    row = db.execute(
        "SELECT name, archived_at, deleted_at, do_not_call, do_not_email FROM contact WHERE id = ?",
        (contact_id,),
    ).fetchone()
    if row is None or row[2] is not None:
        return "the contact was deleted"
    if row[1] is not None:
        return f"{row[0]} was archived"
    if row[3] and row[4]:
        return f"{row[0]} opted out (do-not-call and do-not-email)"
    deal = db.execute(
        "SELECT name, status FROM deal WHERE contact_id = ? AND deleted_at IS NULL"
        " AND status IN ('won', 'lost') AND coalesce(closed_at, updated_at) >= ?"
        " ORDER BY coalesce(closed_at, updated_at) LIMIT 1",
        (contact_id, format_timestamp(enrolled_at)),
    ).fetchone()
    if deal is not None:
        return f"deal {deal[0]} was {deal[1]}"
    return None


def load_state(db: sqlite3.Connection, enrolment_id: str) -> EnrolmentState | None:
    """An enrolment's derived state (None when it does not exist or was deleted)."""
    row = db.execute(
        "SELECT e.id, e.contact_id, coalesce(c.name, l.name, ''), p.id, p.name, p.version,"
        " p.source, e.enrolled_at, e.stop_reason, e.stopped_at, e.lead_id"
        " FROM plan_enrolment e JOIN plan p ON p.id = e.plan_id"
        " LEFT JOIN contact c ON c.id = e.contact_id LEFT JOIN lead l ON l.id = e.lead_id"
        " WHERE e.id = ? AND e.deleted_at IS NULL",
        (enrolment_id,),
    ).fetchone()
    if row is None:
        return None
    plan = read_plan(row[6], row[4], row[5])
    enrolled_at = parse_timestamp(row[7])
    events: list[Event] = []
    notes: list[str] = []
    for e in db.execute(
        # An outcome whose activity was deleted (unlogged) no longer counts.
        "SELECT e.id, e.kind, e.at, e.step, e.attempt, e.tickler_id, e.outcome, e.reason"
        " FROM plan_event e LEFT JOIN activity a ON a.id = e.activity_id"
        " WHERE e.enrolment_id = ? AND e.deleted_at IS NULL AND a.deleted_at IS NULL"
        " ORDER BY e.at, e.id",
        (enrolment_id,),
    ):
        events.append(Event(e[0], e[1], parse_timestamp(e[2]), e[3], e[4], e[5], e[6], e[7]))
        if e[1] in ("skipped", "paused"):
            notes.append(f"{e[3]}: {e[1]} ({e[7]})")
    reminders: dict[str, Reminder] = {}
    due: dict[str, datetime] = {}
    ids = [e.tickler_id for e in events if e.tickler_id]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for t in db.execute(
            f"SELECT id, status, done_at, deleted_at, due_at FROM tickler WHERE id IN ({marks})",
            chunk,
        ):
            # A deleted reminder (an undo, a stale duplicate) counts as never made.
            if t[3] is None:
                reminders[t[0]] = Reminder(t[1], _ts(t[2]))
                due[t[0]] = parse_timestamp(t[4])
    stopped = f"stopped: {row[8] or 'taken off the plan'}" if row[9] else None
    position = derive(
        plan,
        enrolled_at=enrolled_at,
        events=[e for e in events if e.tickler_id is None or e.tickler_id in reminders],
        reminders=reminders,
        stopped=stopped,
        ended=_ended(db, row[1], enrolled_at, row[10]),
    )
    return EnrolmentState(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        enrolled_at,
        position,
        due.get(position.tickler_id or ""),
        tuple(notes),
        row[10],
    )


def _event(tx: WriteTx, state: EnrolmentState, kind: str, **values: object) -> PlanEvent:
    event = PlanEvent.model_validate(
        {
            "enrolment_id": state.id,
            "contact_id": state.contact_id,
            "lead_id": state.lead_id,
            "kind": kind,
            "at": tx.now,
        }
        | values
    )
    tx.add(event)
    return event


def _gate(tx: WriteTx, state: EnrolmentState) -> tuple[str, str] | None:
    """("skipped" or "paused", reason) when consent stops the current step now, else None."""
    step = state.position.step
    assert step is not None
    if state.contact_id is None:
        return None  # a lead has no consent flags of its own until it is a contact
    row = tx.db.execute(
        "SELECT name, do_not_call, do_not_email, max_calls, max_calls_days FROM contact"
        " WHERE id = ?",
        (state.contact_id,),
    ).fetchone()
    name = row[0]
    if step.kind == "call" and row[1]:
        return "skipped", f"{name} is marked do-not-call"
    if step.kind == "email" and row[2]:
        return "skipped", f"{name} is marked do-not-email"
    return None


def _cap_frees(tx: WriteTx, contact_id: str, due: datetime, cap: CallCap) -> datetime | None:
    """When a call due at `due` may be made under the contact's cap (None: it may already)."""
    row = tx.db.execute(
        "SELECT max_calls, max_calls_days FROM contact WHERE id = ?", (contact_id,)
    ).fetchone()
    limit = effective_cap({"max_calls": row[0], "max_calls_days": row[1]}, cap)
    window = timedelta(days=limit.days)
    calls = [
        parse_timestamp(r[0])
        for r in tx.db.execute(
            "SELECT occurred_at FROM activity WHERE contact_id = ? AND kind = 'call'"
            f" AND {LIVE_FOR_CONTACT} AND occurred_at >= ? ORDER BY occurred_at DESC",
            (contact_id, format_timestamp(due - window)),
        )
    ]
    if len(calls) < limit.calls:
        return None
    # The call that must leave the window for one more to fit.
    return calls[limit.calls - 1] + window


def _schedule(tx: WriteTx, state: EnrolmentState, clock: PlanClock) -> None:
    position = state.position
    step = position.step
    assert step is not None and position.since is not None
    gate = _gate(tx, state)
    if gate is not None:
        _event(tx, state, gate[0], step=step.key, attempt=position.attempt, reason=gate[1])
        return
    due = clock.calendar.due_after(position.since, position.wait, clock.tz)
    if step.kind == "call" and state.contact_id is not None:
        frees = _cap_frees(tx, state.contact_id, due, clock.cap)
        if frees is not None:
            due = clock.calendar.due_after(frees, 0, clock.tz)
            _event(
                tx,
                state,
                "paused",
                step=step.key,
                attempt=position.attempt,
                reason=f"call cap reached until {in_full(frees.astimezone(clock.tz))}",
            )
    attempt = f" (attempt {position.attempt})" if position.attempt > 1 else ""
    tickler = Tickler(
        text=f"{state.plan_name} · {step.text}{attempt}"[:500],
        due_at=due,
        contact_id=state.contact_id,
        lead_id=state.lead_id if state.contact_id is None else None,
        owner_id=_owner(tx, state.id),
    )
    tx.add(tickler)
    _event(tx, state, "scheduled", step=step.key, attempt=position.attempt, tickler_id=tickler.id)


def _owner(tx: WriteTx, enrolment_id: str) -> str | None:
    row = tx.db.execute(
        "SELECT owner_id FROM plan_enrolment WHERE id = ?", (enrolment_id,)
    ).fetchone()
    return row[0] if row else None


def _close_stale(tx: WriteTx, enrolment_id: str, keep: frozenset[str]) -> None:
    """Remove the enrolment's open step reminders that are not on its derived path.

    Tombstoned, not cancelled: a cancelled step reminder means "skip this step"
    to the derivation, while a stale one (a duplicate made by another laptop, a
    step an outcome branched away from) must count as never made.
    """
    rows = tx.db.execute(
        "SELECT DISTINCT t.id FROM plan_event e JOIN tickler t ON t.id = e.tickler_id"
        " WHERE e.enrolment_id = ? AND e.deleted_at IS NULL AND t.deleted_at IS NULL"
        " AND t.status = 'open'",
        (enrolment_id,),
    ).fetchall()
    for (tickler_id,) in rows:
        if tickler_id in keep:
            continue
        tickler = tx.session.get(Tickler, tickler_id)
        assert tickler is not None
        tx.delete(tickler)


def settle(*, tx: WriteTx, enrolment_id: str, clock: PlanClock) -> EnrolmentState | None:
    """Bring an enrolment's reminders in line with its derived position; returns that state."""
    for _ in range(MAX_SETTLE_ROUNDS):
        tx.flush()
        state = load_state(tx.db, enrolment_id)
        if state is None:
            return None
        position = state.position
        keep = (
            frozenset({position.tickler_id})
            if position.state == "waiting" and position.tickler_id
            else frozenset()
        )
        if position.state == "waiting" and position.step is not None:
            # Consent gates the step that is waiting too: a contact marked do-not-call
            # since its call was scheduled skips it now.
            gate = _gate(tx, state)
            if gate is not None and gate[0] == "skipped":
                _event(
                    tx,
                    state,
                    "skipped",
                    step=position.step.key,
                    attempt=position.attempt,
                    reason=gate[1],
                )
                continue
        _close_stale(tx, enrolment_id, keep)
        if position.state != "to-schedule":
            return state
        _schedule(tx, state, clock)
    raise RuntimeError(f"enrolment {enrolment_id} did not settle")


def running_enrolments(db: sqlite3.Connection, contact_id: str) -> list[str]:
    """Ids of the contact's enrolments nobody stopped (they may have ended by derivation)."""
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM plan_enrolment WHERE contact_id = ? AND deleted_at IS NULL"
            " AND stopped_at IS NULL ORDER BY id",
            (contact_id,),
        )
    ]


def running_lead_enrolments(db: sqlite3.Connection, lead_id: str) -> list[str]:
    """Ids of the lead's enrolments nobody stopped (they may have ended by derivation)."""
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM plan_enrolment WHERE lead_id = ? AND deleted_at IS NULL"
            " AND stopped_at IS NULL ORDER BY id",
            (lead_id,),
        )
    ]


def lead_changed(tx: WriteTx, lead_id: str, contact_id: str | None = None) -> None:
    """A lead was converted (onto `contact_id`) or disqualified: its plans continue or end.

    A converted lead's running enrolments continue on the contact: the enrolment and
    its open step reminder name the contact from now on (consent then gates its
    steps). A disqualified or deleted lead's enrolments end (derived) and their open
    reminders go.
    """
    enrolments = running_lead_enrolments(tx.db, lead_id)
    if not enrolments:
        return
    for enrolment_id in enrolments:
        if contact_id is not None:
            enrolment = tx.session.get(PlanEnrolment, enrolment_id)
            assert enrolment is not None
            if enrolment.contact_id is None:
                tx.update(enrolment, {"contact_id": contact_id})
                for (tickler_id,) in tx.db.execute(
                    "SELECT DISTINCT t.id FROM plan_event e JOIN tickler t ON t.id = e.tickler_id"
                    " WHERE e.enrolment_id = ? AND e.deleted_at IS NULL AND t.deleted_at IS NULL"
                    " AND t.status = 'open'",
                    (enrolment_id,),
                ).fetchall():
                    tickler = tx.session.get(Tickler, tickler_id)
                    assert tickler is not None
                    tx.update(tickler, {"contact_id": contact_id})
        settle(tx=tx, enrolment_id=enrolment_id, clock=PlanClock())


def on_running_plan(
    db: sqlite3.Connection, contact_id: str | None, lead_id: str | None = None
) -> bool:
    """Whether a plan decides the contact's (or lead's) next touch (the call list adds none)."""
    enrolments = (
        running_enrolments(db, contact_id)
        if contact_id
        else running_lead_enrolments(db, lead_id)
        if lead_id
        else []
    )
    for enrolment_id in enrolments:
        state = load_state(db, enrolment_id)
        if state is not None and state.position.running:
            return True
    return False


def after_activity(
    *, tx: WriteTx, activity: Activity, clock: PlanClock | None, cap: CallCap | None = None
) -> None:
    """Count a logged activity as the outcome of the contact's (or lead's) matching plan step.

    It matches the step whose reminder this transaction ticked (the call list ticks
    the reminder, then logs the call), else the open step of its kind. A call logged
    on a lead before conversion branches the lead's plan exactly as a contact's.
    Without a `clock`, one with the user's zone and `cap` is made, only for a record on
    a plan (finding the system's zone reads files: most logged activities need none).
    """
    if activity.contact_id is not None:
        enrolments = running_enrolments(tx.db, activity.contact_id)
    elif activity.lead_id is not None:
        enrolments = running_lead_enrolments(tx.db, activity.lead_id)
    else:
        return
    if not enrolments:
        return
    clock = clock or (PlanClock(cap=cap) if cap is not None else PlanClock())
    tx.flush()
    now = format_timestamp(tx.now)
    for enrolment_id in enrolments:
        state = load_state(tx.db, enrolment_id)
        if state is None:
            continue
        ticked = tx.db.execute(
            "SELECT e.step, e.attempt, e.tickler_id FROM plan_event e"
            " JOIN tickler t ON t.id = e.tickler_id WHERE e.enrolment_id = ?"
            " AND e.kind = 'scheduled' AND t.status = 'done' AND t.done_at = ?"
            " AND e.deleted_at IS NULL ORDER BY e.id LIMIT 1",
            (enrolment_id, now),
        ).fetchone()
        plan = read_plan(
            *tx.db.execute(
                "SELECT source, name, version FROM plan WHERE id = ?", (state.plan_id,)
            ).fetchone()
        )
        if ticked is not None:
            index = plan.index(ticked[0])
            step, attempt, tickler_id = (
                plan.steps[index] if index is not None else None,
                ticked[1],
                ticked[2],
            )
        elif state.position.state == "waiting" and state.position.step is not None:
            step, attempt = state.position.step, state.position.attempt
            tickler_id = state.position.tickler_id
        else:
            continue
        if step is None or activity.kind not in ACTIVITY_KINDS_OF_STEP[step.kind]:
            continue
        _event(
            tx,
            state,
            "outcome",
            step=step.key,
            attempt=attempt,
            activity_id=activity.id,
            outcome=activity.outcome,
        )
        tickler = tx.session.get(Tickler, tickler_id) if tickler_id else None
        if tickler is not None and tickler.status == "open":
            tx.update(tickler, {"status": "done", "done_at": tx.now, "snoozed_until": None})
        settle(tx=tx, enrolment_id=enrolment_id, clock=clock)


def after_reminder_done(*, tx: WriteTx, tickler_id: str, clock: PlanClock | None) -> None:
    """A step's reminder was ticked or cancelled: settle its enrolment (a task step is done)."""
    row = tx.db.execute(
        "SELECT enrolment_id FROM plan_event WHERE tickler_id = ? AND deleted_at IS NULL LIMIT 1",
        (tickler_id,),
    ).fetchone()
    if row is not None:
        settle(tx=tx, enrolment_id=row[0], clock=clock or PlanClock())


def contact_changed(tx: WriteTx, contact_id: str | None) -> None:
    """A contact's consent, archive state or deal changed: its plans settle (cheap when none)."""
    if contact_id is not None and running_enrolments(tx.db, contact_id):
        settle_contacts(tx=tx, contact_ids=[contact_id], clock=PlanClock())


def settle_after_sync(*, tx: WriteTx, clock: PlanClock) -> int:
    """Settle the running enrolments a sync left unsettled; returns how many were written.

    Another laptop's outcomes and reminders arrive as plain rows: a step both
    laptops advanced offline has two open reminders, an enrolment another laptop
    ended still has this one's. Each running enrolment is derived again (reads
    only) and settled when its open step reminders are not exactly the one its
    position keeps.
    """
    open_by: dict[str, set[str]] = {}
    for enrolment_id, tickler_id in tx.db.execute(
        "SELECT e.id, t.id FROM plan_enrolment e"
        " LEFT JOIN plan_event v ON v.enrolment_id = e.id AND v.deleted_at IS NULL"
        " AND v.kind = 'scheduled'"
        " LEFT JOIN tickler t ON t.id = v.tickler_id AND t.status = 'open'"
        " AND t.deleted_at IS NULL"
        " WHERE e.deleted_at IS NULL AND e.stopped_at IS NULL"
    ):
        open_by.setdefault(enrolment_id, set())
        if tickler_id is not None:
            open_by[enrolment_id].add(tickler_id)
    settled = 0
    for enrolment_id, open_ids in sorted(open_by.items()):
        state = load_state(tx.db, enrolment_id)
        if state is None:
            continue
        position = state.position
        if position.state == "waiting" and open_ids == {position.tickler_id}:
            continue
        if not position.running and not open_ids:
            continue
        settle(tx=tx, enrolment_id=enrolment_id, clock=clock)
        settled += 1
    return settled


def settle_contacts(*, tx: WriteTx, contact_ids: list[str], clock: PlanClock) -> int:
    """Settle every running enrolment of these contacts (after a sync); returns how many."""
    count = 0
    for contact_id in contact_ids:
        for enrolment_id in running_enrolments(tx.db, contact_id):
            settle(tx=tx, enrolment_id=enrolment_id, clock=clock)
            count += 1
    return count


__all__ = ["PlanClock", "PlanFileError", "after_activity", "settle"]
