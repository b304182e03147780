"""Leads on the call list: a lead not converted yet with a due reminder is a row of its own.

Its plan step or plain reminder lists it, marked as a lead; the team's default cap
(counted over the lead's calls), calling hours (its number's zone) and claims (keyed
`lead:ID`) apply; a converted lead lists once, as its contact; `crm calls` shows it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crmtui.reports.calls import call_queue
from crmtui.services.consent import CallCap, ConsentRefused
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.call_claims import (
    claim_contacts,
    claim_key,
    live_claims,
    split_key,
)
from crmtui.services.follow_ups.plans import enrol_lead, publish_plan
from crmtui.services.follow_ups.ticklers import TicklerCreate, create_tickler
from crmtui.services.plan_progress import PlanClock
from crmtui.services.sales.leads import (
    LeadConversion,
    LeadCreate,
    convert_lead,
    create_lead,
    disqualify_lead,
)
from crmtui.store.database import Store
from crmtui.store.models import Rep

BERLIN = ZoneInfo("Europe/Berlin")
CAP = CallCap(3, 30)
CLOCK = PlanClock(tz=BERLIN, cap=CAP)
PLAN = """\
name = "Web lead"

[[step]]
key = "call"
kind = "call"
text = "Call back the web lead"
"""


def _later() -> datetime:
    """A moment every reminder made now is overdue at (the queue lists today's and older)."""
    return (datetime.now(BERLIN) + timedelta(days=10)).replace(hour=11, minute=0)


def _queue(store: Store, **kwargs: object) -> list:
    con = sqlite3.connect(store.path)
    try:
        return call_queue(con, now=kwargs.pop("now", _later()), cap=CAP, **kwargs)  # type: ignore[arg-type]
    finally:
        con.close()


def _enrolled_lead(
    store: Store, name: str = "Lena Vogel", phone: str | None = "030 1234567"
) -> str:
    with store.write() as tx:
        plan, _ = publish_plan(tx=tx, text=PLAN, source="web.toml")
        lead = create_lead(tx=tx, data=LeadCreate(name=name, phone=phone), region="DE")
        enrol_lead(tx=tx, plan_id=plan.id, lead_id=lead.id, clock=CLOCK)
        return lead.id


def _due_lead(store: Store, name: str = "Ola", phone: str = "040 7654321") -> str:
    """A lead with a plain reminder due a minute ago (listed at the real now)."""
    with store.write() as tx:
        lead = create_lead(tx=tx, data=LeadCreate(name=name, phone=phone), region="DE")
        due = tx.now - timedelta(minutes=1)
        create_tickler(tx=tx, data=TicklerCreate(text="Call", due_at=due, lead_id=lead.id))
        return lead.id


def test_a_leads_plan_step_and_plain_reminder_list_it_as_a_lead(store: Store) -> None:
    lead_id = _enrolled_lead(store)
    with store.write() as tx:
        other = create_lead(tx=tx, data=LeadCreate(name="Ola", phone="040 7654321"), region="DE")
        create_tickler(
            tx=tx, data=TicklerCreate(text="Ask about the trial", due_at=tx.now, lead_id=other.id)
        )
        # A second reminder on the enrolled lead, due after the plan's step (which waits
        # for the next working hours: outside them it falls on a later day than now):
        # the lead still lists once, by its earliest reminder.
        later = tx.now + timedelta(days=4)
        create_tickler(tx=tx, data=TicklerCreate(text="Later too", due_at=later, lead_id=lead_id))
    items = {i.name: i for i in _queue(store)}
    assert set(items) == {"Lena Vogel", "Ola"}
    lena = items["Lena Vogel"]
    assert (lena.contact_id, lena.lead_id, lena.kind, lena.key) == (
        None,
        lead_id,
        "lead",
        f"lead:{lead_id}",
    )
    assert lena.tickler_text == "Web lead · Call back the web lead" and lena.deals == ()
    assert lena.as_dict()["kind"] == "lead" and lena.as_dict()["lead_id"] == lead_id
    assert items["Ola"].tickler_text == "Ask about the trial"


def test_a_lead_without_a_phone_or_disqualified_is_not_listed(store: Store) -> None:
    _enrolled_lead(store, "No Phone", phone=None)
    gone = _enrolled_lead(store, "Gone")
    with store.write() as tx:
        disqualify_lead(tx=tx, lead_id=gone, reason="spam")
    assert _queue(store) == []


def test_a_converted_lead_lists_once_as_its_contact(store: Store) -> None:
    lead_id = _enrolled_lead(store)
    with store.write() as tx:
        # A plain reminder stays on the lead; the plan's step moves to the contact.
        create_tickler(tx=tx, data=TicklerCreate(text="Plain", due_at=tx.now, lead_id=lead_id))
    with store.write() as tx:
        contact_id = convert_lead(
            tx=tx, lead_id=lead_id, data=LeadConversion(), region="DE"
        ).contact.id
    (item,) = _queue(store)
    assert (item.kind, item.contact_id, item.lead_id) == ("contact", contact_id, None)


def test_the_teams_cap_counts_a_leads_calls_on_the_list_and_when_logging(store: Store) -> None:
    lead_id = _enrolled_lead(store)
    with store.write() as tx:
        for _ in range(3):
            log_activity(
                tx=tx, data=ActivityCreate(kind="call", lead_id=lead_id, outcome="busy"), cap=CAP
            )
        create_tickler(tx=tx, data=TicklerCreate(text="Again", due_at=tx.now, lead_id=lead_id))
    assert _queue(store, now=datetime.now(BERLIN) + timedelta(minutes=1)) == []
    with pytest.raises(ConsentRefused, match="called 3 times"), store.write() as tx:
        log_activity(tx=tx, data=ActivityCreate(kind="call", lead_id=lead_id), cap=CAP)
    with store.write() as tx:
        activity, overridden = log_activity(
            tx=tx, data=ActivityCreate(kind="call", lead_id=lead_id), cap=CAP, force=True
        )
    assert activity.consent_override and overridden


def test_calling_hours_hold_in_the_leads_own_zone(store: Store) -> None:
    _enrolled_lead(store, "New York", phone="+1 212 555 0100")
    _enrolled_lead(store, "Berlin")
    at = _later()  # 11:00 in Berlin, 05:00 in New York
    names = [i.name for i in _queue(store, now=at, hours=(time(9), time(18)))]
    assert names == ["Berlin"]


def test_claims_hold_a_lead_by_its_own_key(store: Store) -> None:
    lead_id = _due_lead(store)
    with store.write() as tx:
        ann, bob = Rep(name="ann"), Rep(name="bob")
        tx.add(ann)
        tx.add(bob)
        tx.flush()
        ann_id, bob_id = ann.id, bob.id
    key = claim_key(None, lead_id)
    assert split_key(key) == (None, lead_id) and split_key(lead_id) == (lead_id, None)
    with store.write() as tx:
        mine, taken = claim_contacts(tx=tx, contact_ids=[key], me=ann_id, hours=4)
        assert (mine, taken) == ([key], [])
        (claim,) = live_claims(tx.db, tx.now)
        assert claim.contact_id == key
    at = datetime.now(BERLIN) + timedelta(minutes=1)
    (held,) = _queue(store, now=at, me=ann_id)
    assert held.claimed and held.lead_id == lead_id
    assert _queue(store, now=at, me=bob_id) == []
    # Logging the call on the lead ends ann's claim: bob may call it again.
    with store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", lead_id=lead_id, outcome="no-answer", rep_id=ann_id),
            cap=CAP,
            plan_clock=CLOCK,
        )
    with store.write() as tx:
        assert live_claims(tx.db, tx.now) == []


def test_crm_calls_lists_a_lead_in_json_and_by_its_lead_key(tmp_path: Path) -> None:
    from crmtui.store.database import open_store
    from tests.cli_commands import run

    store = open_store(tmp_path / "c.db")
    try:
        lead_id = _due_lead(store)
    finally:
        store.close()
    db = str(tmp_path / "c.db")
    listed = run(["calls", "--format", "json", "--db", db])
    assert listed.code == 0, listed.err
    (row,) = json.loads(listed.out)
    assert (row["kind"], row["lead_id"], row["contact_id"]) == ("lead", lead_id, None)
    table = run(["calls", "--db", db])
    assert f"lead:{lead_id}" in table.out


def test_a_claim_on_a_lead_syncs_to_the_leads_territory_and_holds_it_there(
    tmp_path: Path,
) -> None:
    """ann's claim reaches bob (North) and not sue (South); bob's list leaves the lead out."""
    from tests.sync_support import Team

    team = Team(str(tmp_path / "server.db"), tmp_path)
    try:
        ann, ann_token = team.laptop("ann", "ann")
        bob, bob_token = team.laptop("bob", "bob")
        sue, sue_token = team.laptop("sue", "sue")
        ca = team.sync_client(ann, ann_token)
        ca.sync()
        with ann.write() as tx:
            lead = create_lead(
                tx=tx,
                data=LeadCreate(name="Lena Vogel", phone="030 1234567", territory_id=team.north),
                region="DE",
            )
            create_tickler(
                tx=tx,
                data=TicklerCreate(
                    text="Call", due_at=tx.now - timedelta(minutes=1), lead_id=lead.id
                ),
            )
            me = tx.db.execute("SELECT id FROM rep WHERE name = 'ann'").fetchone()[0]
            claim_contacts(tx=tx, contact_ids=[claim_key(None, lead.id)], me=me, hours=4)
        report = ca.sync()
        assert report.rejected == 0, report.reasons
        team.sync_client(bob, bob_token).sync()
        team.sync_client(sue, sue_token).sync()
        at = datetime.now(BERLIN) + timedelta(minutes=1)
        with bob.write() as tx:
            (claim,) = live_claims(tx.db, at)
            assert claim.contact_id == f"lead:{lead.id}" and claim.rep_id == me
            bob_id = tx.db.execute("SELECT id FROM rep WHERE name = 'bob'").fetchone()[0]
        assert _queue(bob, now=at, me=bob_id) == []
        (mine,) = _queue(ann, now=at, me=me)
        assert mine.claimed and mine.lead_id == lead.id
        with sue.write() as tx:
            assert live_claims(tx.db, at) == []
    finally:
        team.close()
