"""`reports.plan_stats`: per-step reach, outcomes, connects, skips, waiting and exits."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

from crmtui.reports.plan_stats import plan_stats
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.plans import enrol_contact, enrol_lead, publish_plan
from crmtui.services.plan_progress import PlanClock
from crmtui.services.sales.leads import LeadCreate, create_lead, disqualify_lead
from crmtui.store.database import Store

CAP = CallCap(50, 30)
CLOCK = PlanClock(tz=ZoneInfo("Europe/Berlin"), cap=CAP)
PLAN = """\
name = "Calls"

[[step]]
key = "intro"
kind = "call"
retries = 1

[[step]]
key = "demo"
kind = "call"
wait = 1
"""


def _call(store: Store, outcome: str, **who: str) -> None:
    with store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", outcome=outcome, **who),
            cap=CAP,
            plan_clock=CLOCK,
        )


def test_each_step_counts_reach_outcomes_connects_and_where_enrolments_left(
    store: Store,
) -> None:
    with store.write() as tx:
        plan, _ = publish_plan(tx=tx, text=PLAN, source="calls.toml")
        ada = create_contact(tx=tx, data=ContactCreate(name="Ada"), region="DE").id
        bo = create_contact(tx=tx, data=ContactCreate(name="Bo"), region="DE").id
        lead = create_lead(tx=tx, data=LeadCreate(name="Cy"), region="DE").id
        for contact_id in (ada, bo):
            enrol_contact(tx=tx, plan_id=plan.id, contact_id=contact_id, clock=CLOCK)
        enrol_lead(tx=tx, plan_id=plan.id, lead_id=lead, clock=CLOCK)
    _call(store, "no-answer", contact_id=ada)  # retry
    _call(store, "connected", contact_id=ada)  # on to the demo
    _call(store, "meeting-booked", contact_id=bo)  # leaves at the intro
    with store.write() as tx:
        disqualify_lead(tx=tx, lead_id=lead, reason="spam")  # ends at the intro
    con = sqlite3.connect(store.path)
    try:
        rows = [
            (s.step, s.key, s.reached, s.outcomes, s.connects, s.at, s.exits)
            for s in plan_stats(con)
        ]
    finally:
        con.close()
    # A booked meeting is a connect too (someone answered).
    assert rows == [(1, "intro", 3, 3, 2, 0, 2), (2, "demo", 1, 0, 0, 1, 0)]


def test_a_step_the_call_lists_tick_scheduled_and_the_outcome_took_back_is_not_reached(
    store: Store,
) -> None:
    """F6 ticks the step's reminder, then logs "no answer" (a retry) in one write."""
    from crmtui.services.follow_ups.ticklers import complete_tickler

    with store.write() as tx:
        plan, _ = publish_plan(tx=tx, text=PLAN, source="calls.toml")
        ada = create_contact(tx=tx, data=ContactCreate(name="Ada"), region="DE").id
        enrol_contact(tx=tx, plan_id=plan.id, contact_id=ada, clock=CLOCK)
    with store.write() as tx:
        (tickler_id,) = tx.db.execute(
            "SELECT id FROM tickler WHERE contact_id = ? AND status = 'open'", (ada,)
        ).fetchone()
        complete_tickler(tx=tx, tickler_id=tickler_id, tz=CLOCK.tz, plan_clock=CLOCK)
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", outcome="no-answer", contact_id=ada),
            cap=CAP,
            plan_clock=CLOCK,
        )
    con = sqlite3.connect(store.path)
    try:
        rows = [(s.key, s.reached, s.outcomes, s.at) for s in plan_stats(con)]
    finally:
        con.close()
    assert rows == [("intro", 1, 1, 1), ("demo", 0, 0, 0)]
