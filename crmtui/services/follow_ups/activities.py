"""Activity services: log a call, email, meeting, visit or note (with its follow-up)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import SQLModel

from crmtui.domain.validate import InvalidInput, long_text
from crmtui.services.consent import CallCap, ConsentRefused, blockers, lead_blockers
from crmtui.services.follow_ups.call_claims import claim_key, release_claims
from crmtui.services.follow_ups.call_scripts import ScriptAnswers
from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler
from crmtui.services.plan_progress import PlanClock, after_activity
from crmtui.services.territories import me_rep_id
from crmtui.store.journal import WriteTx
from crmtui.store.models import (
    ACTIVITY_KINDS,
    ACTIVITY_OUTCOMES,
    Account,
    Activity,
    Contact,
    Deal,
    Lead,
)
from crmtui.store.resolve import get_live, live_id

# A logged activity is something that happened; a little slack covers clock drift.
FUTURE_SLACK = timedelta(minutes=10)


class ActivityCreate(SQLModel):
    """What a user may say about an activity."""

    kind: str
    contact_id: str | None = None
    account_id: str | None = None
    deal_id: str | None = None
    occurred_at: datetime | None = None
    duration_s: int | None = None
    outcome: str | None = None
    text: str | None = None
    rep_id: str | None = None
    lead_id: str | None = None
    """A lead not converted yet (a call before qualification); no contact with it."""


def _check(data: ActivityCreate, now: datetime) -> None:
    if data.kind not in ACTIVITY_KINDS:
        raise InvalidInput("kind", f"{data.kind!r} is not one of {', '.join(ACTIVITY_KINDS)}")
    if data.outcome is not None and data.outcome not in ACTIVITY_OUTCOMES:
        raise InvalidInput(
            "outcome", f"{data.outcome!r} is not one of {', '.join(ACTIVITY_OUTCOMES)}"
        )
    if data.lead_id and (data.contact_id or data.account_id or data.deal_id):
        raise InvalidInput("lead", "an activity about a lead names no contact, account or deal")
    if not (data.contact_id or data.account_id or data.deal_id or data.lead_id):
        raise InvalidInput("contact", "an activity needs a contact, an account or a deal")
    if data.duration_s is not None and not 0 <= data.duration_s <= 24 * 3600:
        raise InvalidInput("duration", "must be between 0 and 24 hours")
    if data.occurred_at is not None and data.occurred_at > now + FUTURE_SLACK:
        raise InvalidInput(
            "at", "an activity is logged after it happened; use a reminder for the future"
        )


def log_activity(
    *,
    tx: WriteTx,
    data: ActivityCreate,
    cap: CallCap,
    force: bool = False,
    follow_up: TicklerCreate | None = None,
    rep_name: str | None = None,
    plan_clock: PlanClock | None = None,
    consent_applies: bool = True,
    activity_id: str | None = None,
    script: ScriptAnswers | None = None,
) -> tuple[Activity, list[str]]:
    """Log an activity (and its follow-up tickler) in one transaction.

    Consent is checked first: a call to a do-not-call or capped contact, or an
    email to a do-not-email contact, raises `ConsentRefused` unless `force` is
    given, in which case the override is recorded on the activity. Without a
    `rep_id` the activity is the current rep's (`rep_name`, the configured name,
    else the rep this laptop is enrolled as), so summaries can count it per rep.
    An activity matching an enrolled contact's plan step is that step's outcome:
    the plan moves on in the same transaction (`plan_progress.after_activity`).
    `consent_applies=False` logs something the contact did (a mail they sent us):
    no consent rule is about it. `activity_id` is for a record every laptop derives
    the same way (a mail by its Message-ID), else a new id is made. `script`: the call
    script's answers, kept on the activity (and as lines of its text). Returns the
    activity and the consent reasons that were overridden.
    """
    _check(data, tx.now)
    occurred = data.occurred_at or tx.now
    overridden: list[str] = []
    account_id = data.account_id
    if data.contact_id:
        contact_id = live_id(tx, Contact, data.contact_id)
        data.contact_id = contact_id
        if not account_id:  # live_id flushed the session: the row reads as this write left it
            (account_id,) = tx.db.execute(
                "SELECT account_id FROM contact WHERE id = ?", (contact_id,)
            ).fetchone()
        reasons = (
            blockers(tx.db, contact_id, data.kind, now=occurred, cap=cap) if consent_applies else []
        )
        if reasons and not force:
            raise ConsentRefused(reasons)
        overridden = reasons
    if data.deal_id:
        data.deal_id = live_id(tx, Deal, data.deal_id)
    if data.lead_id:
        lead = get_live(tx, Lead, data.lead_id)
        if lead.status == "converted":
            # Its plan and reminders went to the contact: an outcome belongs there too.
            raise InvalidInput(
                "lead",
                f"{lead.name} was converted: log it on the contact ({lead.converted_contact_id})",
            )
        data.lead_id = lead.id
        reasons = (
            lead_blockers(tx.db, lead.id, data.kind, now=occurred, cap=cap)
            if consent_applies
            else []
        )
        if reasons and not force:
            raise ConsentRefused(reasons)
        overridden = reasons
    if account_id:
        account_id = live_id(tx, Account, account_id)
    activity = Activity(
        kind=data.kind,
        occurred_at=occurred,
        duration_s=data.duration_s,
        outcome=data.outcome,
        text=long_text(
            "\n\n".join(t for t in (data.text, script.text if script else None) if t) or None,
            "text",
            max_len=20_000,
        ),
        contact_id=data.contact_id,
        account_id=account_id,
        deal_id=data.deal_id,
        rep_id=data.rep_id or me_rep_id(tx, rep_name),
        consent_override=bool(overridden),
        lead_id=data.lead_id,
        script_id=script.script_id if script else None,
        script_answers=json.dumps(script.answers, ensure_ascii=False) if script else None,
    )
    if activity_id:
        # A derived record is made the same on every laptop, its creation time too,
        # or the second copy to arrive would show as a conflict (as 0007's items did).
        activity.id, activity.created_at = activity_id, occurred
    tx.add(activity)
    if activity.kind == "call" and (activity.contact_id or activity.lead_id):
        # The call was made: this rep's claim on the contact (or lead) has done its work.
        key = claim_key(activity.contact_id, activity.lead_id)
        release_claims(tx=tx, me=activity.rep_id, contact_ids=[key])
    after_activity(tx=tx, activity=activity, clock=plan_clock, cap=cap)
    if follow_up is not None:
        if (
            follow_up.contact_id is None
            and follow_up.account_id is None
            and follow_up.deal_id is None
        ):
            follow_up.contact_id, follow_up.account_id = data.contact_id, account_id
            follow_up.deal_id = data.deal_id
            if data.lead_id and follow_up.lead_id is None:
                follow_up.lead_id = data.lead_id
        create_tickler(tx=tx, data=follow_up)
    return activity, overridden


class ActivityUpdate(SQLModel):
    """Activity fields to change; unset fields stay ("" clears the note or the outcome)."""

    occurred_at: datetime | None = None
    outcome: str | None = None
    text: str | None = None


def update_activity(*, tx: WriteTx, activity_id: str, data: ActivityUpdate) -> list[str]:
    """Correct a logged activity's moment, outcome or note; returns what changed."""
    activity = get_live(tx, Activity, activity_id)
    given = data.model_dump(exclude_unset=True)
    values: dict[str, object] = {}
    if given.get("occurred_at") is not None:
        moment = given["occurred_at"]
        if moment.tzinfo is None:
            raise InvalidInput("at", "needs a time zone")
        if moment > tx.now + FUTURE_SLACK:
            raise InvalidInput(
                "at", "an activity happened in the past; use a reminder for the future"
            )
        values["occurred_at"] = moment
    if "outcome" in given:
        outcome = (given["outcome"] or "").strip() or None
        if outcome is not None and outcome not in ACTIVITY_OUTCOMES:
            raise InvalidInput(
                "outcome", f"{outcome!r} is not one of {', '.join(ACTIVITY_OUTCOMES)}"
            )
        values["outcome"] = outcome
    if "text" in given:
        values["text"] = long_text(given["text"] or None, "text", max_len=20_000)
    return tx.update(activity, values)


def delete_activity(*, tx: WriteTx, activity_id: str) -> Activity:
    """Tombstone an activity logged by mistake."""
    activity = get_live(tx, Activity, activity_id)
    tx.delete(activity)
    return activity
