"""Follow-up plans between laptops: published by an admin, refused from a rep, and two
laptops advancing one enrolment offline derive the same position after sync."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.plans import enrol_contact, find_plan, publish_plan
from crmtui.services.plan_progress import EnrolmentState, PlanClock, load_state
from crmtui.store.database import Store
from crmtui.store.models import Tickler
from tests.sync_support import Team

CLOCK = PlanClock(tz=ZoneInfo("Europe/Berlin"))
PLAN = """\
name = "Intro"

[[step]]
key = "call"
kind = "call"
retries = 2

[[step]]
key = "mail"
kind = "email"
wait = 2
"""


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def _state(store: Store, enrolment_id: str) -> EnrolmentState:
    with store.write() as tx:
        state = load_state(tx.db, enrolment_id)
    assert state is not None
    return state


def _open_steps(store: Store, contact_id: str) -> list[tuple[str, str]]:
    with store.read() as s:
        rows = s.exec(
            select(Tickler).where(
                Tickler.contact_id == contact_id,
                Tickler.status == "open",
                Tickler.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
        return sorted((t.id, t.text) for t in rows)


def _call(store: Store, contact_id: str, outcome: str) -> None:
    with store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=contact_id, outcome=outcome),
            cap=CLOCK.cap,
            plan_clock=CLOCK,
        )


def test_an_admins_plan_reaches_every_laptop_and_a_reps_is_refused(team: Team) -> None:
    admin, admin_token = team.laptop("root", "admin")
    ann, ann_token = team.laptop("ann", "ann")
    with admin.write() as tx:
        publish_plan(tx=tx, text=PLAN, source="intro.toml")
    team.sync_client(admin, admin_token).sync()
    with ann.write() as tx:
        publish_plan(tx=tx, text=PLAN.replace("Intro", "Mine"), source="mine.toml")
    report = team.sync_client(ann, ann_token).sync()
    with ann.read() as s:
        assert find_plan(s, "intro").version == 1
    assert report.rejected >= 1
    assert any("reference data, changed by an admin only" in r for r in report.reasons)


def test_two_laptops_logging_outcomes_offline_converge(team: Team) -> None:
    admin, admin_token = team.laptop("root", "admin")
    with admin.write() as tx:
        publish_plan(tx=tx, text=PLAN, source="intro.toml")
    team.sync_client(admin, admin_token).sync()
    a, ta = team.laptop("ann", "a")
    b, tb = team.laptop("ann", "b")
    ca, cb = team.sync_client(a, ta), team.sync_client(b, tb)
    ca.sync()
    with a.write() as tx:
        cid = create_contact(tx=tx, data=ContactCreate(name="Anna Weber"), region="DE").id
        plan_id = find_plan(tx, "intro").id
        eid = enrol_contact(tx=tx, plan_id=plan_id, contact_id=cid, clock=CLOCK).id
    ca.sync()
    cb.sync()
    assert _state(b, eid).position.state == "waiting"

    # Offline: laptop a hears nobody answer, laptop b gets through.
    _call(a, cid, "no-answer")
    _call(b, cid, "connected")
    assert _state(a, eid).position.attempt == 2
    assert _state(b, eid).position.step_number == 2

    ca.sync()
    cb.sync()
    ca.sync()
    on_a, on_b = _state(a, eid), _state(b, eid)
    assert on_a.position == on_b.position
    # Connected beats no answer, whichever arrived first: on to the email.
    assert (on_a.position.state, on_a.position.step_number) == ("waiting", 2)
    # The retry laptop a made is gone on both: one open step reminder, the same one.
    assert _open_steps(a, cid) == _open_steps(b, cid)
    assert [text for _, text in _open_steps(a, cid)] == ["Intro · Email (mail)"]
