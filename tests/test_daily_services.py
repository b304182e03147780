"""Activities, ticklers, recurrence and consent in the store services."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmtui.domain.recurrence import parse_every
from crmtui.domain.validate import InvalidInput
from crmtui.domain.when import BadWhen
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap, ConsentRefused
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.ticklers import (
    TicklerCreate,
    cancel_tickler,
    complete_tickler,
    create_tickler,
    defer_tickler,
    reopen_tickler,
    snooze_tickler,
)
from crmtui.store.database import Store
from crmtui.store.models import Tickler

BERLIN = ZoneInfo("Europe/Berlin")
CAP = CallCap(3, 30)
# The real clock, started at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_day")


def _contact(store: Store, **fields: object) -> str:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(name="Jon Smith", **fields), region="DE").id


def _count(store: Store, sql: str) -> int:
    return sqlite3.connect(store.path).execute(sql).fetchone()[0]


def test_log_a_call_with_a_follow_up_in_one_transaction(store: Store) -> None:
    cid = _contact(store, company="Acme")
    due = datetime(2030, 1, 2, 9, tzinfo=BERLIN)
    with store.write() as tx:
        activity, overridden = log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=cid, outcome="no-answer", duration_s=60),
            cap=CAP,
            follow_up=TicklerCreate(text="call back", due_at=due),
        )
    assert overridden == []
    assert activity.account_id is not None  # taken from the contact
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT contact_id, text, status FROM tickler").fetchone() == (
        cid,
        "call back",
        "open",
    )
    tx_ids = {
        r[0]
        for r in db.execute("SELECT tx_id FROM journal WHERE entity IN ('activity', 'tickler')")
    }
    assert len(tx_ids) == 1


def test_a_bad_follow_up_rolls_back_the_activity(store: Store) -> None:
    cid = _contact(store)
    with pytest.raises(InvalidInput), store.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=cid),
            cap=CAP,
            follow_up=TicklerCreate(text="  ", due_at=datetime(2030, 1, 1, tzinfo=UTC)),
        )
    assert _count(store, "SELECT count(*) FROM activity") == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"kind": "call", "outcome": "great"}, "outcome"),
        ({"kind": "call", "occurred_at": datetime(2099, 1, 1, tzinfo=UTC)}, "at"),
        ({"kind": "call", "duration_s": -5}, "duration"),
    ],
)
def test_bad_activity_input(store: Store, data: dict, field: str) -> None:
    cid = _contact(store)
    with pytest.raises(InvalidInput) as err, store.write() as tx:
        log_activity(tx=tx, data=ActivityCreate(contact_id=cid, **data), cap=CAP)
    assert err.value.field == field


def test_do_not_call_refuses_unless_forced_and_the_override_is_recorded(store: Store) -> None:
    cid = _contact(store, do_not_call=True)
    with pytest.raises(ConsentRefused, match="do-not-call"), store.write() as tx:
        log_activity(tx=tx, data=ActivityCreate(kind="call", contact_id=cid), cap=CAP)
    assert _count(store, "SELECT count(*) FROM activity") == 0
    with store.write() as tx:
        _, overridden = log_activity(
            tx=tx, data=ActivityCreate(kind="call", contact_id=cid), cap=CAP, force=True
        )
    assert overridden and "do-not-call" in overridden[0]
    assert _count(store, "SELECT consent_override FROM activity") == 1
    # A note is not a call: no consent question.
    with store.write() as tx:
        log_activity(
            tx=tx, data=ActivityCreate(kind="note", contact_id=cid, text="asked to stop"), cap=CAP
        )


def test_do_not_email(store: Store) -> None:
    cid = _contact(store, do_not_email=True)
    with pytest.raises(ConsentRefused, match="do-not-email"), store.write() as tx:
        log_activity(tx=tx, data=ActivityCreate(kind="email", contact_id=cid), cap=CAP)


def test_call_cap_counts_calls_in_the_window(store: Store) -> None:
    cid = _contact(store)
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    with store.write() as tx:
        log_activity(
            tx=tx, data=ActivityCreate(kind="call", contact_id=cid, occurred_at=old), cap=CAP
        )
    for _ in range(3):
        with store.write() as tx:
            log_activity(tx=tx, data=ActivityCreate(kind="call", contact_id=cid), cap=CAP)
    with (
        pytest.raises(ConsentRefused, match="called 3 times in the last 30 days"),
        store.write() as tx,
    ):
        log_activity(tx=tx, data=ActivityCreate(kind="call", contact_id=cid), cap=CAP)
    # The contact's own cap wins over the default.
    from crmtui.services.address_book.contacts import ContactUpdate, update_contact

    with store.write() as tx:
        update_contact(tx=tx, contact_id=cid, data=ContactUpdate(max_calls=5), region="DE")
    with store.write() as tx:
        log_activity(tx=tx, data=ActivityCreate(kind="call", contact_id=cid), cap=CAP)


def _tickler(store: Store, cid: str, due: datetime, **extra: object) -> str:
    with store.write() as tx:
        return create_tickler(
            tx=tx, data=TicklerCreate(text="follow up", due_at=due, contact_id=cid, **extra)
        ).id


def _get(store: Store, tid: str) -> Tickler:
    with store.read() as session:
        t = session.get(Tickler, tid)
        assert t is not None
        return t


def test_snooze_keeps_the_due_date_and_defer_moves_it(store: Store) -> None:
    cid = _contact(store)
    due = datetime.now(UTC) - timedelta(days=1)
    tid = _tickler(store, cid, due)
    until = datetime.now(UTC) + timedelta(hours=2)
    with store.write() as tx:
        snooze_tickler(tx=tx, tickler_id=tid, until=until)
    t = _get(store, tid)
    assert t.due_at == due and t.snoozed_until == until
    with pytest.raises(InvalidInput), store.write() as tx:
        snooze_tickler(tx=tx, tickler_id=tid, until=datetime.now(UTC) - timedelta(hours=1))
    later = due + timedelta(days=3)
    with store.write() as tx:
        defer_tickler(tx=tx, tickler_id=tid, due_at=later)
    t = _get(store, tid)
    assert t.due_at == later and t.snoozed_until is None


def test_completing_a_calendar_series_creates_the_next_occurrence(store: Store) -> None:
    cid = _contact(store)
    rule = parse_every("weekly on mon")
    due = datetime.now(BERLIN).replace(hour=9, minute=0, second=0, microsecond=0)
    due -= timedelta(days=due.weekday())  # this week's Monday
    tid = _tickler(store, cid, due, recurrence=rule)
    with store.write() as tx:
        done, nxt = complete_tickler(tx=tx, tickler_id=tid, tz=BERLIN)
    assert done.status == "done"
    assert nxt is not None and nxt.series_id == done.series_id == tid
    local = nxt.due_at.astimezone(BERLIN)
    assert local.weekday() == 0 and local.hour == 9
    assert nxt.due_at > datetime.now(UTC)
    with pytest.raises(InvalidInput, match="already done"), store.write() as tx:
        complete_tickler(tx=tx, tickler_id=tid, tz=BERLIN)
    # Undo: the occurrence the completion made goes away with it.
    with store.write() as tx:
        reopen_tickler(tx=tx, tickler_id=tid)
    assert _get(store, tid).status == "open"
    assert _count(store, "SELECT count(*) FROM tickler WHERE deleted_at IS NULL") == 1


def test_after_done_recurrence_counts_from_completion(store: Store) -> None:
    cid = _contact(store)
    tid = _tickler(store, cid, datetime(2020, 1, 1, 14, tzinfo=BERLIN), recur_after_days=30)
    with store.write() as tx:
        _, nxt = complete_tickler(tx=tx, tickler_id=tid, tz=BERLIN)
    assert nxt is not None
    expected_day = datetime.now(BERLIN).date() + timedelta(days=30)
    assert nxt.due_at.astimezone(BERLIN).date() == expected_day
    assert nxt.due_at.astimezone(BERLIN).hour == 14


def test_cancel_and_plain_completion(store: Store) -> None:
    cid = _contact(store)
    tid = _tickler(store, cid, datetime(2030, 1, 1, tzinfo=UTC))
    with store.write() as tx:
        _, nxt = complete_tickler(tx=tx, tickler_id=tid, tz=BERLIN)
    assert nxt is None
    tid2 = _tickler(store, cid, datetime(2030, 1, 1, tzinfo=UTC))
    with store.write() as tx:
        cancel_tickler(tx=tx, tickler_id=tid2)
    assert _get(store, tid2).status == "cancelled"


@pytest.mark.parametrize(
    "extra",
    [
        {"recurrence": "FREQ=NEVER"},
        {"recurrence": "FREQ=DAILY", "recur_after_days": 3},
        {"recur_after_days": 0},
    ],
)
def test_bad_recurrence(store: Store, extra: dict) -> None:
    cid = _contact(store)
    with pytest.raises((InvalidInput, BadWhen)):
        _tickler(store, cid, datetime(2030, 1, 1, tzinfo=UTC), **extra)
    assert _count(store, "SELECT count(*) FROM tickler") == 0
