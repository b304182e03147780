"""Tickler services: remind, done (with recurrence), snooze, defer, cancel.

Snooze hides a tickler until a moment while its due date stays (it is still
overdue); defer moves the due date. Completing one occurrence of a series
creates the next one, so the series itself is never edited in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlmodel import SQLModel

from crmtui.domain.recurrence import check_rule, next_occurrence
from crmtui.domain.validate import InvalidInput, require_text
from crmtui.services.plan_progress import PlanClock, after_reminder_done
from crmtui.store.journal import WriteTx
from crmtui.store.models import Account, Contact, Deal, Lead, Tickler
from crmtui.store.resolve import get_live, live_id


class TicklerCreate(SQLModel):
    """What a user may say about a new reminder."""

    text: str
    due_at: datetime
    contact_id: str | None = None
    account_id: str | None = None
    deal_id: str | None = None
    recurrence: str | None = None
    recur_after_days: int | None = None
    owner_id: str | None = None
    lead_id: str | None = None


def create_tickler(*, tx: WriteTx, data: TicklerCreate, series_id: str | None = None) -> Tickler:
    """Create a reminder about a contact, an account, a deal or a lead."""
    text = require_text(data.text, "text", max_len=500)
    if data.due_at.tzinfo is None:
        raise InvalidInput("due", "needs a time zone")
    if not (data.contact_id or data.account_id or data.deal_id or data.lead_id):
        raise InvalidInput("about", "a reminder needs a contact, an account, a deal or a lead")
    if data.recurrence and data.recur_after_days:
        raise InvalidInput("repeat", "choose a calendar rule or 'days after done', not both")
    if data.recurrence:
        check_rule(data.recurrence)
    if data.recur_after_days is not None and data.recur_after_days <= 0:
        raise InvalidInput("after-done", "must be at least one day")
    contact_id = live_id(tx, Contact, data.contact_id) if data.contact_id else None
    account_id = live_id(tx, Account, data.account_id) if data.account_id else None
    deal_id = live_id(tx, Deal, data.deal_id) if data.deal_id else None
    lead_id = live_id(tx, Lead, data.lead_id) if data.lead_id else None
    tickler = Tickler(
        lead_id=lead_id,
        text=text,
        due_at=data.due_at,
        contact_id=contact_id,
        account_id=account_id,
        deal_id=deal_id,
        recurrence=data.recurrence,
        recur_after_days=data.recur_after_days,
        owner_id=data.owner_id,
    )
    is_series = bool(data.recurrence or data.recur_after_days)
    tickler.series_id = series_id or (tickler.id if is_series else None)
    tx.add(tickler)
    return tickler


def _open(tx: WriteTx, tickler_id: str) -> Tickler:
    tickler = get_live(tx, Tickler, tickler_id)
    if tickler.status != "open":
        raise InvalidInput("reminder", f"this reminder is already {tickler.status}")
    return tickler


def complete_tickler(
    *, tx: WriteTx, tickler_id: str, tz: tzinfo, plan_clock: PlanClock | None = None
) -> tuple[Tickler, Tickler | None]:
    """Mark a reminder done; for a series, create and return the next occurrence.

    A plan step's reminder moves its enrolment on (`plan_progress.after_reminder_done`).
    """
    tickler = _open(tx, tickler_id)
    tx.update(tickler, {"status": "done", "done_at": tx.now, "snoozed_until": None})
    after_reminder_done(tx=tx, tickler_id=tickler.id, clock=plan_clock or PlanClock(tz=tz))
    due: datetime | None = None
    if tickler.recurrence:
        due = next_occurrence(tickler.recurrence, due=tickler.due_at, not_before=tx.now, tz=tz)
    elif tickler.recur_after_days:
        local_done = tx.now.astimezone(tz)
        local_due = tickler.due_at.astimezone(tz)
        day = local_done.date() + timedelta(days=tickler.recur_after_days)
        due = datetime.combine(day, local_due.time(), tzinfo=tz)
    if due is None:
        return tickler, None
    follow = TicklerCreate(
        text=tickler.text,
        due_at=due,
        contact_id=tickler.contact_id,
        account_id=tickler.account_id,
        deal_id=tickler.deal_id,
        recurrence=tickler.recurrence,
        recur_after_days=tickler.recur_after_days,
        owner_id=tickler.owner_id,
    )
    return tickler, create_tickler(tx=tx, data=follow, series_id=tickler.series_id)


def snooze_tickler(*, tx: WriteTx, tickler_id: str, until: datetime) -> Tickler:
    """Hide a reminder until a moment; its due date stays as it was."""
    tickler = _open(tx, tickler_id)
    if until <= tx.now:
        raise InvalidInput("until", "a snooze must end in the future")
    tx.update(tickler, {"snoozed_until": until})
    return tickler


def defer_tickler(*, tx: WriteTx, tickler_id: str, due_at: datetime) -> Tickler:
    """Move a reminder's due date (and end any snooze)."""
    tickler = _open(tx, tickler_id)
    tx.update(tickler, {"due_at": due_at, "snoozed_until": None})
    return tickler


def cancel_tickler(*, tx: WriteTx, tickler_id: str, plan_clock: PlanClock | None = None) -> Tickler:
    """Cancel a reminder (a series stops here; a plan step is skipped)."""
    tickler = _open(tx, tickler_id)
    tx.update(tickler, {"status": "cancelled", "snoozed_until": None})
    after_reminder_done(tx=tx, tickler_id=tickler.id, clock=plan_clock)
    return tickler


def reopen_tickler(*, tx: WriteTx, tickler_id: str) -> Tickler:
    """Undo done or cancel (the next occurrence a completion made is cancelled too)."""
    tickler = get_live(tx, Tickler, tickler_id)
    if tickler.status == "open":
        raise InvalidInput("reminder", "this reminder is open already")
    if tickler.series_id and tickler.status == "done":
        from sqlmodel import select

        later = tx.session.exec(
            select(Tickler).where(
                Tickler.series_id == tickler.series_id,
                Tickler.status == "open",
                Tickler.due_at > tickler.due_at,
                Tickler.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
        for nxt in later:
            tx.delete(nxt)
    tx.update(tickler, {"status": "open", "done_at": None})
    # A plan step reopened is the current step again; the step it led to goes.
    after_reminder_done(tx=tx, tickler_id=tickler.id, clock=None)
    return tickler


class TicklerUpdate(SQLModel):
    """Reminder fields to change; unset fields stay ("" as recurrence stops the repeating)."""

    text: str | None = None
    due_at: datetime | None = None
    recurrence: str | None = None


def update_tickler(*, tx: WriteTx, tickler_id: str, data: TicklerUpdate) -> list[str]:
    """Change an open reminder's text, due moment or calendar rule; returns what changed."""
    tickler = _open(tx, tickler_id)
    given = data.model_dump(exclude_unset=True)
    values: dict[str, object] = {}
    if "text" in given:
        values["text"] = require_text(given["text"], "text", max_len=500)
    if given.get("due_at") is not None:
        if given["due_at"].tzinfo is None:
            raise InvalidInput("due", "needs a time zone")
        values["due_at"] = given["due_at"]
        values["snoozed_until"] = None
    if "recurrence" in given:
        rule = (given["recurrence"] or "").strip() or None
        if rule is not None:
            try:
                check_rule(rule)
            except ValueError as exc:  # BadWhen: said as a refusal of the field
                raise InvalidInput("repeat", str(exc)) from None
            values["recur_after_days"] = None
            # The first rule makes this reminder the head of its series.
            values["series_id"] = tickler.series_id or tickler.id
        values["recurrence"] = rule
    return tx.update(tickler, values)
