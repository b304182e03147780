"""Leads on follow-up plans: enrolling a lead, its step reminders about the lead, the plan
continuing on the contact at conversion and ending at disqualification, and a lead's
enrolment, events and reminders placed in the lead's territory by the server."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crmtui.domain.business_days import WorkCalendar
from crmtui.domain.validate import InvalidInput
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.plans import enrol_lead, enrolment_states, find_plan, publish_plan
from crmtui.services.follow_ups.ticklers import complete_tickler
from crmtui.services.plan_progress import PlanClock, load_state
from crmtui.services.sales.leads import (
    LeadConversion,
    LeadCreate,
    convert_lead,
    create_lead,
    disqualify_lead,
)
from crmtui.store.database import Store
from crmtui.store.models import PlanEnrolment, Tickler
from tests.sync_support import Team, new_record, push_ops

CLOCK = PlanClock(tz=ZoneInfo("Europe/Berlin"), calendar=WorkCalendar(), cap=CallCap(3, 30))
PLAN = """\
name = "Web lead"

[[step]]
key = "call"
kind = "call"

[[step]]
key = "mail"
kind = "email"
wait = 1
"""


def _lead(store: Store) -> tuple[str, str]:
    with store.write() as tx:
        plan, _ = publish_plan(tx=tx, text=PLAN, source="web.toml")
        lead = create_lead(
            tx=tx,
            data=LeadCreate(name="Lena Vogel", email="lena@vogel.example"),
            region="DE",
        )
        return plan.id, lead.id


def _open(store: Store) -> list[Tickler]:
    with store.read() as s:
        return list(
            s.exec(
                select(Tickler).where(
                    Tickler.status == "open",
                    Tickler.deleted_at.is_(None),  # type: ignore[union-attr]
                )
            ).all()
        )


def test_a_lead_on_a_plan_gets_its_first_step_as_a_reminder_about_the_lead(store: Store) -> None:
    plan_id, lead_id = _lead(store)
    with store.write() as tx:
        state = enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead_id, clock=CLOCK)
    assert state.contact_id is None and state.lead_id == lead_id
    assert state.contact_name == "Lena Vogel"
    assert state.position.state == "waiting"
    (reminder,) = _open(store)
    assert reminder.lead_id == lead_id and reminder.contact_id is None
    assert reminder.text == "Web lead · Call (call)"
    # Ticking the call's reminder counts as done: on to the email step, still about the lead.
    with store.write() as tx:
        complete_tickler(tx=tx, tickler_id=reminder.id, tz=CLOCK.tz, plan_clock=CLOCK)
    (after,) = _open(store)
    assert after.lead_id == lead_id and "Email" in after.text
    with store.write() as tx:
        assert [e.position.step_number for e in enrolment_states(tx.db, lead_id=lead_id)] == [2]


def test_a_lead_is_enrolled_once_per_plan(store: Store) -> None:
    plan_id, lead_id = _lead(store)
    with store.write() as tx:
        enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead_id, clock=CLOCK)
    with pytest.raises(InvalidInput, match="on plan Web lead already"), store.write() as tx:
        enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead_id, clock=CLOCK)


def test_converting_the_lead_continues_the_plan_on_the_contact(store: Store) -> None:
    plan_id, lead_id = _lead(store)
    with store.write() as tx:
        eid = enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead_id, clock=CLOCK).id
    with store.write() as tx:
        conversion = convert_lead(tx=tx, lead_id=lead_id, data=LeadConversion(), region="DE")
        contact_id = conversion.contact.id
    with store.write() as tx:
        state = load_state(tx.db, eid)
    assert state is not None
    assert state.contact_id == contact_id and state.lead_id == lead_id
    assert state.position.state == "waiting" and state.position.step_number == 1
    (reminder,) = _open(store)
    assert reminder.contact_id == contact_id
    with store.read() as s:
        enrolment = s.get(PlanEnrolment, eid)
        assert enrolment is not None and enrolment.contact_id == contact_id


def test_disqualifying_the_lead_ends_its_plan_and_removes_the_open_reminder(store: Store) -> None:
    plan_id, lead_id = _lead(store)
    with store.write() as tx:
        eid = enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead_id, clock=CLOCK).id
    assert len(_open(store)) == 1
    with store.write() as tx:
        disqualify_lead(tx=tx, lead_id=lead_id, reason="student, no budget")
    with store.write() as tx:
        state = load_state(tx.db, eid)
    assert state is not None and not state.position.running
    assert "disqualified" in state.position.why
    assert _open(store) == []
    with pytest.raises(InvalidInput, match="disqualified"), store.write() as tx:
        enrol_lead(tx=tx, plan_id=plan_id, lead_id=lead_id, clock=CLOCK)


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def test_a_leads_enrolment_and_reminder_go_where_the_lead_goes(team: Team) -> None:
    """The server places them in the lead's territory: sue (South) never sees a North lead's."""
    admin, admin_token = team.laptop("root", "admin")
    with admin.write() as tx:
        publish_plan(tx=tx, text=PLAN, source="web.toml")
    team.sync_client(admin, admin_token).sync()
    ann, ann_token = team.laptop("ann", "ann")
    bob, bob_token = team.laptop("bob", "bob")
    sue, sue_token = team.laptop("sue", "sue")
    ca = team.sync_client(ann, ann_token)
    ca.sync()
    with ann.write() as tx:
        lead = create_lead(
            tx=tx, data=LeadCreate(name="Lena Vogel", territory_id=team.north), region="DE"
        )
        enrol_lead(tx=tx, plan_id=find_plan(tx, "web lead").id, lead_id=lead.id, clock=CLOCK)
    report = ca.sync()
    assert report.rejected == 0, report.reasons
    team.sync_client(bob, bob_token).sync()
    team.sync_client(sue, sue_token).sync()
    (on_bob,) = _open(bob)
    assert on_bob.lead_id == lead.id
    assert _open(sue) == []
    with sue.read() as s:
        assert s.exec(select(PlanEnrolment)).all() == []


def test_a_reminder_naming_a_lead_outside_the_reps_scope_is_refused(team: Team) -> None:
    """tickler.lead_id is a link like contact_id: the target must be one the rep may read."""
    ann, ann_token = team.laptop("ann", "ann")
    team.sync_client(ann, ann_token).sync()
    with ann.write() as tx:
        lead = create_lead(
            tx=tx, data=LeadCreate(name="Lena Vogel", territory_id=team.north), region="DE"
        )
    team.sync_client(ann, ann_token).sync()
    _sue, sue_token = team.laptop("sue", "sue")
    http = team.http(sue_token)
    _row, ops = new_record(
        "tickler", {"text": "call her", "due_at": "2030-01-01T09:00:00.000000Z", "lead_id": lead.id}
    )
    answers = push_ops(http, "sue-device", ops)
    assert answers[0]["status"] == "rejected"
    assert "tickler.lead_id does not name a lead you can link to" in answers[0]["reason"]
    # The same reminder naming ann's lead from ann's side goes through.
    _row, ops = new_record(
        "tickler", {"text": "call her", "due_at": "2030-01-01T09:00:00.000000Z", "lead_id": lead.id}
    )
    _ann2, ann2_token = team.laptop("ann", "ann-2")
    assert {a["status"] for a in push_ops(team.http(ann2_token), "ann-2-device", ops)} == {
        "applied"
    }


CALLS = """\
name = "Calls"

[[step]]
key = "intro"
kind = "call"
retries = 2
retry_wait = 2

[[step]]
key = "demo"
kind = "call"
wait = 1

[[step]]
key = "wrap"
kind = "task"
wait = 1
"""


def _walk(store: Store, who: str, outcomes: list[str]) -> list[tuple[str, int | None, int]]:
    """Enrol a new contact or lead on CALLS, log a call per outcome; the positions after each."""
    from crmtui.services.address_book.contacts import ContactCreate, create_contact
    from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
    from crmtui.services.follow_ups.plans import enrol_contact

    with store.write() as tx:
        plan, _ = publish_plan(tx=tx, text=CALLS, source="calls.toml")
        if who == "lead":
            subject = {"lead_id": create_lead(tx=tx, data=LeadCreate(name="Ola"), region="DE").id}
            eid = enrol_lead(tx=tx, plan_id=plan.id, lead_id=subject["lead_id"], clock=CLOCK).id
        else:
            contact = create_contact(tx=tx, data=ContactCreate(name="Ola"), region="DE")
            subject = {"contact_id": contact.id}
            eid = enrol_contact(tx=tx, plan_id=plan.id, contact_id=contact.id, clock=CLOCK).id
    seen = []
    for outcome in outcomes:
        with store.write() as tx:
            log_activity(
                tx=tx,
                data=ActivityCreate(kind="call", outcome=outcome, **subject),
                cap=CallCap(50, 30),
                plan_clock=CLOCK,
            )
        with store.write() as tx:
            state = load_state(tx.db, eid)
        assert state is not None
        seen.append((state.position.state, state.position.step_number, state.position.attempt))
    return seen


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        # no answer -> retry; connected -> next step; meeting booked -> leave the plan
        (
            ["no-answer", "connected", "meeting-booked"],
            [("waiting", 1, 2), ("waiting", 2, 1), ("left", 2, 1)],
        ),
        # two retries allowed, then on to the next step
        (
            ["no-answer", "voicemail", "busy"],
            [("waiting", 1, 2), ("waiting", 1, 3), ("waiting", 2, 1)],
        ),
        (["not-interested"], [("left", 1, 1)]),
    ],
)
def test_a_call_on_a_lead_branches_its_plan_exactly_as_a_contacts(
    tmp_path: Path, outcomes: list[str], expected: list[tuple[str, int, int]]
) -> None:
    from crmtui.store.database import open_store

    walked = {}
    for who in ("lead", "contact"):
        store = open_store(tmp_path / f"{who}.db")
        try:
            walked[who] = _walk(store, who, outcomes)
        finally:
            store.close()
    assert walked["lead"] == walked["contact"] == expected


def test_a_call_on_a_converted_lead_is_refused_with_where_to_log_it(store: Store) -> None:
    from crmtui.services.follow_ups.activities import ActivityCreate, log_activity

    with store.write() as tx:
        lead = create_lead(tx=tx, data=LeadCreate(name="Ola"), region="DE")
        contact_id = convert_lead(
            tx=tx, lead_id=lead.id, data=LeadConversion(), region="DE"
        ).contact.id
    refused = f"was converted: log it on the contact \\({contact_id}"
    with pytest.raises(InvalidInput, match=refused), store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", lead_id=lead.id, outcome="connected"),
            cap=CallCap(3, 30),
        )


def test_crm_log_call_on_a_lead_moves_its_plan_and_its_follow_up_is_about_the_lead(
    tmp_path: Path,
) -> None:
    from crmtui.store.database import open_store
    from tests.cli_commands import run

    db = str(tmp_path / "c.db")
    open_store(tmp_path / "c.db").close()
    plan = tmp_path / "calls.toml"
    plan.write_text(CALLS, encoding="utf-8")
    assert run(["plan", "add", str(plan), "--db", db]).code == 0
    lead_id = run(["lead", "add", "Ola Nordmann", "--db", db]).out.strip()
    assert run(["plan", "enrol", "Calls", f"lead:{lead_id}", "--db", db]).code == 0
    logged = run(
        [
            "log",
            "call",
            f"lead:{lead_id}",
            "--outcome",
            "connected",
            "--next",
            "friday 10:00",
            "send the deck",
            "--db",
            db,
        ]
    )
    assert logged.code == 0, logged.err
    status = run(["plan", "status", "--who", f"lead:{lead_id}", "--format", "json", "--db", db])
    (row,) = json.loads(status.out)
    assert row["step"] == "2 call" and row["lead_id"] == lead_id
    con = sqlite3.connect(db)
    try:
        texts = {
            r[0]: r[1]
            for r in con.execute("SELECT text, lead_id FROM tickler WHERE status = 'open'")
        }
        activity = con.execute("SELECT lead_id, contact_id, outcome FROM activity").fetchone()
    finally:
        con.close()
    assert texts["send the deck"] == lead_id
    assert activity == (lead_id, None, "connected")
    refused = run(["log", "call", "lead:zzzzzzzz", "--db", db])
    assert refused.code == 1 and refused.error is None and "no lead" in refused.err
