"""Follow-up plans on a real store: enrolling, outcomes moving the plan, consent gates, ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from crmtui.domain.business_days import WorkCalendar
from crmtui.domain.date_style import in_full
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    archive_contact,
    create_contact,
    update_contact,
)
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.plans import (
    enrol_contact,
    find_enrolment,
    latest_version,
    migrate_plan,
    publish_plan,
    stop_enrolment,
)
from crmtui.services.follow_ups.ticklers import cancel_tickler, complete_tickler
from crmtui.services.plan_progress import EnrolmentState, PlanClock, load_state
from crmtui.services.sales.deals import DealCreate, create_deal, win_deal
from crmtui.services.upkeep.undo import record, undo
from crmtui.store.database import Store
from crmtui.store.models import ACTIVITY_OUTCOMES, JournalOp, PlanEvent, Tickler

BERLIN = ZoneInfo("Europe/Berlin")
CLOCK = PlanClock(tz=BERLIN, calendar=WorkCalendar(), cap=CallCap(3, 30))
PLAN = """\
name = "Intro"

[[step]]
key = "call"
kind = "call"
retries = 1
retry_wait = 2

[[step]]
key = "mail"
kind = "email"
wait = 1

[[step]]
key = "check"
kind = "task"
"""


def _setup(store: Store, **contact: object) -> tuple[str, str]:
    with store.write() as tx:
        plan, _ = publish_plan(tx=tx, text=PLAN, source="intro.toml")
        person = create_contact(
            tx=tx, data=ContactCreate(name="Anna Weber", **contact), region="DE"
        )
        return plan.id, person.id


def _enrol(store: Store, plan_id: str, contact_id: str) -> EnrolmentState:
    with store.write() as tx:
        return enrol_contact(tx=tx, plan_id=plan_id, contact_id=contact_id, clock=CLOCK)


def _state(store: Store, enrolment_id: str) -> EnrolmentState:
    with store.write() as tx:
        state = load_state(tx.db, enrolment_id)
    assert state is not None
    return state


def _log(store: Store, contact_id: str, kind: str, outcome: str | None, **kw: object) -> None:
    with store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind=kind, contact_id=contact_id, outcome=outcome),
            cap=CLOCK.cap,
            plan_clock=CLOCK,
            **kw,  # type: ignore[arg-type]
        )


def _open_reminders(store: Store, contact_id: str) -> list[str]:
    with store.read() as s:
        rows = s.exec(
            select(Tickler).where(
                Tickler.contact_id == contact_id,
                Tickler.status == "open",
                Tickler.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
        return sorted(t.text for t in rows)


def test_enrolling_makes_the_first_reminder_in_one_journaled_transaction(store: Store) -> None:
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    assert (state.position.state, state.position.step_number) == ("waiting", 1)
    assert _open_reminders(store, cid) == ["Intro · Call (call)"]
    with store.read() as s:
        ops = s.exec(select(JournalOp).where(JournalOp.op == "create")).all()
        entities = [op.entity for op in ops]
        by_tx = {op.tx_id for op in ops if op.entity in ("plan_enrolment", "plan_event", "tickler")}
    assert {"plan", "plan_enrolment", "plan_event", "tickler"} <= set(entities)
    assert len(by_tx) == 1


def test_no_answer_retries_then_connected_moves_on(store: Store) -> None:
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    _log(store, cid, "call", "no-answer")
    assert _open_reminders(store, cid) == ["Intro · Call (call) (attempt 2)"]
    _log(store, cid, "call", "no-answer")  # the one retry was the limit: on to the email
    now = _state(store, state.id)
    assert (now.position.step_number, now.position.step and now.position.step.kind) == (2, "email")
    _log(store, cid, "email", "sent")
    assert _open_reminders(store, cid) == ["Intro · Task (check)"]


def test_a_meeting_booked_leaves_the_plan_and_its_reminders_go(store: Store) -> None:
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    _log(store, cid, "call", "meeting-booked")
    assert _state(store, state.id).position.state == "left"
    assert _open_reminders(store, cid) == []


def test_the_call_list_ticks_the_reminder_then_logs_the_call(store: Store) -> None:
    # crmtui.screens.sections.calls writes both in one transaction, the reminder first.
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    with store.write() as tx:
        complete_tickler(
            tx=tx, tickler_id=state.position.tickler_id or "", tz=BERLIN, plan_clock=CLOCK
        )
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=cid, outcome="no-answer"),
            cap=CLOCK.cap,
            plan_clock=CLOCK,
        )
    now = _state(store, state.id)
    assert (now.position.step_number, now.position.attempt) == (1, 2)
    assert _open_reminders(store, cid) == ["Intro · Call (call) (attempt 2)"]


def test_a_ticked_task_and_a_cancelled_step_move_on(store: Store) -> None:
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    with store.write() as tx:
        cancel_tickler(tx=tx, tickler_id=state.position.tickler_id or "", plan_clock=CLOCK)
    now = _state(store, state.id)
    assert now.position.step_number == 2
    with store.write() as tx:
        complete_tickler(
            tx=tx, tickler_id=now.position.tickler_id or "", tz=BERLIN, plan_clock=CLOCK
        )
    now = _state(store, state.id)
    with store.write() as tx:
        complete_tickler(
            tx=tx, tickler_id=now.position.tickler_id or "", tz=BERLIN, plan_clock=CLOCK
        )
    assert _state(store, state.id).position.state == "completed"


def test_a_do_not_call_contact_skips_call_steps_with_the_reason(store: Store) -> None:
    plan_id, cid = _setup(store, do_not_call=True)
    state = _enrol(store, plan_id, cid)
    assert state.position.step and state.position.step.kind == "email"
    assert state.notes == ("call: skipped (Anna Weber is marked do-not-call)",)
    assert _open_reminders(store, cid) == ["Intro · Email (mail)"]


def test_marking_do_not_email_skips_the_waiting_email(store: Store) -> None:
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    _log(store, cid, "call", "connected")
    with store.write() as tx:
        update_contact(tx=tx, contact_id=cid, data=ContactUpdate(do_not_email=True), region="DE")
    now = _state(store, state.id)
    assert now.position.step and now.position.step.kind == "task"
    assert "do-not-email" in now.notes[-1]
    assert _open_reminders(store, cid) == ["Intro · Task (check)"]


def test_a_capped_contact_pauses_the_call_until_the_cap_frees(store: Store) -> None:
    plan_id, cid = _setup(store)
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=cid, data=ContactUpdate(max_calls=1, max_calls_days=7), region="DE"
        )
    called = datetime.now(UTC) - timedelta(days=2)
    with store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(
                kind="call", contact_id=cid, outcome="connected", occurred_at=called
            ),
            cap=CLOCK.cap,
        )
    state = _enrol(store, plan_id, cid)
    assert state.position.state == "waiting"
    assert state.due_at is not None and state.due_at >= called + timedelta(days=7)
    # Said in the house style for a moment on its own (domain/date_style.in_full).
    frees = in_full((called + timedelta(days=7)).astimezone(BERLIN))
    assert state.notes and f"(call cap reached until {frees})" in state.notes[-1]


@pytest.mark.parametrize("how", ["archive", "opt-out", "deal won", "stop"])
def test_ends_remove_the_open_step(store: Store, how: str) -> None:
    plan_id, cid = _setup(store)
    state = _enrol(store, plan_id, cid)
    with store.write() as tx:
        if how == "archive":
            archive_contact(tx=tx, contact_id=cid)
        elif how == "opt-out":
            update_contact(
                tx=tx,
                contact_id=cid,
                data=ContactUpdate(do_not_call=True, do_not_email=True),
                region="DE",
            )
        elif how == "deal won":
            deal = create_deal(tx=tx, data=DealCreate(name="Pumps", contact_id=cid))
            win_deal(tx=tx, deal_id=deal.id)
        else:
            stop_enrolment(tx=tx, enrolment_id=state.id, reason="asked us to", clock=CLOCK)
    position = _state(store, state.id).position
    assert position.state == ("stopped" if how == "stop" else "ended")
    assert _open_reminders(store, cid) == []


def test_an_enrolment_is_undone_whole(store: Store) -> None:
    plan_id, cid = _setup(store)
    with store.write() as tx:
        _, step = record(
            tx,
            "Enrol",
            lambda tx: enrol_contact(tx=tx, plan_id=plan_id, contact_id=cid, clock=CLOCK),
        )
    with store.write() as tx:
        undo(tx=tx, step=step)
    assert _open_reminders(store, cid) == []
    with store.write() as tx, pytest.raises(Exception, match="not on any plan"):
        find_enrolment(tx, cid, None)


def test_a_new_version_is_for_new_enrolments_until_migrated(store: Store) -> None:
    plan_id, cid = _setup(store)
    old = _enrol(store, plan_id, cid)
    _log(store, cid, "call", "connected")
    newer = PLAN.replace('key = "check"\nkind = "task"', 'key = "check"\nkind = "visit"')
    with store.write() as tx:
        plan2, created = publish_plan(tx=tx, text=newer, source="intro.toml")
        again, created_again = publish_plan(tx=tx, text=newer, source="intro.toml")
    assert (plan2.version, created, again.id, created_again) == (2, True, plan2.id, False)
    assert _state(store, old.id).plan_version == 1
    with store.write() as tx:
        moved = migrate_plan(tx=tx, name="intro", clock=CLOCK)
    assert moved == [old.id]
    state = _state(store, old.id)
    assert (state.plan_version, state.position.step_number) == (2, 2)
    with store.read() as s:
        kinds = [e.kind for e in s.exec(select(PlanEvent)).all()]
    assert "migrated" in kinds


ACTIONS = st.sampled_from(["dnc", "dne", "allow", "call", "email", "tick", "cancel"])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(ACTIONS, st.sampled_from(ACTIVITY_OUTCOMES)), max_size=8))
def test_no_open_step_ever_reaches_a_contact_its_consent_forbids(
    store: Store, steps: list[tuple[str, str]]
) -> None:
    with store.write() as tx:
        # One store for every example: the plan is published by the first.
        plan = latest_version(tx, "intro") or publish_plan(tx=tx, text=PLAN, source="t")[0]
        cid = create_contact(tx=tx, data=ContactCreate(name="Anna Weber"), region="DE").id
        eid = enrol_contact(tx=tx, plan_id=plan.id, contact_id=cid, clock=CLOCK).id
    for action, outcome in steps:
        with store.write() as tx:
            if action in ("dnc", "dne", "allow"):
                flags = {
                    "dnc": {"do_not_call": True},
                    "dne": {"do_not_email": True},
                    "allow": {"do_not_call": False, "do_not_email": False},
                }[action]
                update_contact(tx=tx, contact_id=cid, data=ContactUpdate(**flags), region="DE")
            elif action in ("call", "email"):
                log_activity(
                    tx=tx,
                    data=ActivityCreate(kind=action, contact_id=cid, outcome=outcome),
                    cap=CallCap(1000, 1),
                    force=True,
                    plan_clock=CLOCK,
                )
            else:
                state = load_state(tx.db, eid)
                assert state is not None
                tickler_id = state.position.tickler_id
                if tickler_id and action == "tick":
                    complete_tickler(tx=tx, tickler_id=tickler_id, tz=BERLIN, plan_clock=CLOCK)
                elif tickler_id:
                    cancel_tickler(tx=tx, tickler_id=tickler_id, plan_clock=CLOCK)
        with store.read() as s:
            db = s.connection().connection.driver_connection
            dnc, dne = db.execute(
                "SELECT do_not_call, do_not_email FROM contact WHERE id = ?", (cid,)
            ).fetchone()
            open_steps = db.execute(
                "SELECT e.step FROM plan_event e JOIN tickler t ON t.id = e.tickler_id"
                " WHERE e.enrolment_id = ? AND t.status = 'open' AND t.deleted_at IS NULL",
                (eid,),
            ).fetchall()
        assert len(open_steps) <= 1
        for (step,) in open_steps:
            assert not (step == "call" and dnc), "a call step is open for a do-not-call contact"
            assert not (step == "mail" and dne), "an email step is open for a do-not-email contact"
