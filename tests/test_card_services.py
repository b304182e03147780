"""The services the cards' forms added: reminder edit, activity edit, account owner; the leads inbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from crmtui.domain.validate import InvalidInput
from crmtui.reports.lead_inbox import lead_inbox
from crmtui.services.address_book.accounts import (
    AccountCreate,
    AccountUpdate,
    create_account,
    update_account,
)
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import (
    ActivityCreate,
    ActivityUpdate,
    log_activity,
    update_activity,
)
from crmtui.services.follow_ups.ticklers import (
    TicklerCreate,
    TicklerUpdate,
    complete_tickler,
    create_tickler,
    update_tickler,
)
from crmtui.services.sales.leads import LeadCreate, create_lead, disqualify_lead
from crmtui.services.territories import RepCreate, create_rep
from crmtui.store.database import Store
from crmtui.store.models import Account, Activity, Tickler
from crmtui.store.resolve import NotFound

pytestmark = pytest.mark.usefixtures("fixed_day")


def _reminder(store: Store) -> str:
    with store.write() as tx:
        contact = create_contact(tx=tx, data=ContactCreate(name="Ada Lovelace"), region="DE")
        due = tx.now + timedelta(days=1)
        return create_tickler(
            tx=tx, data=TicklerCreate(text="Call", due_at=due, contact_id=contact.id)
        ).id


def test_update_tickler_changes_text_due_and_rule_and_starts_a_series(store: Store) -> None:
    tickler_id = _reminder(store)
    due = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with store.write() as tx:
        changed = update_tickler(
            tx=tx,
            tickler_id=tickler_id,
            data=TicklerUpdate(text="Call about the PO", due_at=due, recurrence="FREQ=WEEKLY"),
        )
    assert set(changed) >= {"text", "due_at", "recurrence", "series_id"}
    with store.write() as tx:
        row = tx.session.get(Tickler, tickler_id)
        assert row is not None
        assert (row.text, row.recurrence, row.series_id) == (
            "Call about the PO",
            "FREQ=WEEKLY",
            row.id,
        )
        assert row.due_at == due
        # "" stops the repeating; the series id stays (earlier occurrences keep it).
        update_tickler(tx=tx, tickler_id=tickler_id, data=TicklerUpdate(recurrence=""))
        assert row.recurrence is None and row.series_id == row.id


def test_update_tickler_refuses_a_bad_rule_an_empty_text_and_a_done_reminder(store: Store) -> None:
    tickler_id = _reminder(store)
    for data, field in (
        (TicklerUpdate(recurrence="FREQ=SOMETIMES"), "repeat"),
        (TicklerUpdate(text="  "), "text"),
        (TicklerUpdate(due_at=datetime(2027, 1, 4, 9, 0)), "due"),  # no zone
    ):
        with pytest.raises(InvalidInput) as caught, store.write() as tx:
            update_tickler(tx=tx, tickler_id=tickler_id, data=data)
        assert caught.value.field in (field, "rule"), caught.value
    with store.write() as tx:
        complete_tickler(tx=tx, tickler_id=tickler_id, tz=UTC)
    with pytest.raises(InvalidInput, match="already done"), store.write() as tx:
        update_tickler(tx=tx, tickler_id=tickler_id, data=TicklerUpdate(text="Again"))


def _activity(store: Store) -> str:
    with store.write() as tx:
        contact = create_contact(tx=tx, data=ContactCreate(name="Alan Turing"), region="DE")
        activity, _ = log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=contact.id, outcome="no-answer"),
            cap=CallCap(3, 30),
        )
        return activity.id


def test_update_activity_corrects_moment_outcome_and_note(store: Store) -> None:
    activity_id = _activity(store)
    with store.write() as tx:
        earlier = tx.now - timedelta(hours=3)
        changed = update_activity(
            tx=tx,
            activity_id=activity_id,
            data=ActivityUpdate(occurred_at=earlier, outcome="voicemail", text="Left a message"),
        )
    assert set(changed) == {"occurred_at", "outcome", "text"}
    with store.write() as tx:
        row = tx.session.get(Activity, activity_id)
        assert row is not None and (row.outcome, row.text) == ("voicemail", "Left a message")
        update_activity(tx=tx, activity_id=activity_id, data=ActivityUpdate(outcome="", text=""))
        assert (row.outcome, row.text) == (None, None)


def test_update_activity_refuses_the_future_and_unknown_outcomes(store: Store) -> None:
    activity_id = _activity(store)
    with pytest.raises(InvalidInput) as caught, store.write() as tx:
        update_activity(
            tx=tx,
            activity_id=activity_id,
            data=ActivityUpdate(occurred_at=tx.now + timedelta(days=1)),
        )
    assert caught.value.field == "at"
    with pytest.raises(InvalidInput) as caught, store.write() as tx:
        update_activity(tx=tx, activity_id=activity_id, data=ActivityUpdate(outcome="great"))
    assert caught.value.field == "outcome"


def test_account_owner_is_a_live_rep(store: Store) -> None:
    with store.write() as tx:
        account = create_account(tx=tx, data=AccountCreate(name="Acme"), region="DE")
        rep = create_rep(tx=tx, data=RepCreate(name="Petra Lang"))
        assert update_account(
            tx=tx, account_id=account.id, data=AccountUpdate(owner_id=rep.id), region="DE"
        ) == ["owner_id"]
    with pytest.raises(NotFound), store.write() as tx:
        update_account(
            tx=tx, account_id=account.id, data=AccountUpdate(owner_id="nobody"), region="DE"
        )
    with store.write() as tx:
        row = tx.session.get(Account, account.id)
        assert row is not None and row.owner_id == rep.id


def test_lead_inbox_counts_every_status_and_filters(store: Store, db_path) -> None:
    with store.write() as tx:
        for name in ("A", "B", "C"):
            create_lead(tx=tx, data=LeadCreate(name=name), region="DE")
        out = create_lead(tx=tx, data=LeadCreate(name="D"), region="DE")
        disqualify_lead(tx=tx, lead_id=out.id, reason="student")
    db = sqlite3.connect(db_path)
    try:
        inbox = lead_inbox(db)
        assert {r.name for r in inbox.rows} == {"A", "B", "C"}
        assert (inbox.counts["open"], inbox.counts["disqualified"], inbox.counts["all"]) == (
            3,
            1,
            4,
        )
        gone = lead_inbox(db, "disqualified").rows
        assert [(r.name, r.disqualify_reason) for r in gone] == [("D", "student")]
        with pytest.raises(ValueError, match="not one of"):
            lead_inbox(db, "lost")
    finally:
        db.close()
