"""Service-level undo: the inverse of a recorded write, journaled, refused after a later change."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmtui.domain.recurrence import parse_every
from crmtui.domain.validate import InvalidInput
from crmtui.search.lookup import search_contacts
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    delete_contact,
    tag_contact,
    update_contact,
)
from crmtui.services.follow_ups.ticklers import (
    TicklerCreate,
    complete_tickler,
    create_tickler,
    defer_tickler,
    snooze_tickler,
)
from crmtui.services.upkeep.undo import record, undo
from crmtui.store.database import Store
from crmtui.store.models import Contact, Tickler

BERLIN = ZoneInfo("Europe/Berlin")


def _contact(store: Store) -> str:
    with store.write() as tx:
        data = ContactCreate(name="Jon Smith", email="jon@example.com", city="Berlin", tags=["vip"])
        return create_contact(tx=tx, data=data, region="DE").id


def _tickler(store: Store, cid: str, due: datetime, **extra: object) -> str:
    with store.write() as tx:
        data = TicklerCreate(text="Call back", due_at=due, contact_id=cid, **extra)  # type: ignore[arg-type]
        return create_tickler(tx=tx, data=data).id


def _row(store: Store, model: type, row_id: str) -> object:
    with store.read() as session:
        row = session.get(model, row_id)
        assert row is not None
        return row


def _ops(store: Store, row_id: str) -> list[tuple[str, str | None]]:
    db = sqlite3.connect(store.path)
    return list(
        db.execute("SELECT op, field FROM journal WHERE row_id = ? ORDER BY hlc", (row_id,))
    )


def test_undo_an_edit_restores_every_field_and_journals_it(store: Store) -> None:
    cid = _contact(store)
    with store.write() as tx:
        data = ContactUpdate(name="Jonathan Smyth", email="", phone="030 1234567", tags=["a"])
        _, step = record(
            tx, "Edit", lambda t: update_contact(tx=t, contact_id=cid, data=data, region="DE")
        )
    assert {c.field for c in step.changes} >= {"name", "email", "phone", "phone_e164", "tags"}
    journaled = len(_ops(store, cid))
    with store.write() as tx:
        undo(tx=tx, step=step)
    c = _row(store, Contact, cid)
    assert isinstance(c, Contact)
    assert (c.name, c.email, c.phone, c.phone_e164, c.tags) == (
        "Jon Smith",
        "jon@example.com",
        None,
        None,
        ["vip"],
    )
    assert (c.given_name, c.family_name) == ("Jon", "Smith")
    # The undo is ordinary journaled edits (so it syncs), one per field put back.
    undone = _ops(store, cid)[journaled:]
    assert ("set", "name") in undone and ("set", "email") in undone and len(undone) >= 5
    db = sqlite3.connect(store.path)
    assert [h.name for h in search_contacts(db, "Jon Smith", limit=1)] == ["Jon Smith"]


def test_undo_refuses_after_a_later_change_and_writes_nothing(store: Store) -> None:
    cid = _contact(store)
    with store.write() as tx:
        _, step = record(tx, "Tag", lambda t: tag_contact(tx=t, contact_id=cid, add=["x"]))
    with store.write() as tx:
        update_contact(tx=tx, contact_id=cid, data=ContactUpdate(city="Köln"), region="DE")
    before = len(_ops(store, cid))
    with pytest.raises(InvalidInput, match="changed since"), store.write() as tx:
        undo(tx=tx, step=step)
    assert len(_ops(store, cid)) == before
    c = _row(store, Contact, cid)
    assert isinstance(c, Contact) and c.tags == ["vip", "x"] and c.city == "Köln"


def test_undo_a_delete_restores_the_contact(store: Store) -> None:
    cid = _contact(store)
    with store.write() as tx:
        _, step = record(tx, "Delete", lambda t: delete_contact(tx=t, contact_id=cid))
    with store.write() as tx:
        undo(tx=tx, step=step)
    c = _row(store, Contact, cid)
    assert isinstance(c, Contact) and c.deleted_at is None
    db = sqlite3.connect(store.path)
    assert [h.id for h in search_contacts(db, "Jon Smith", limit=1)] == [cid]


def test_undo_done_reopens_and_removes_the_next_occurrence(store: Store) -> None:
    cid = _contact(store)
    due = datetime.now(BERLIN).replace(hour=9, minute=0, second=0, microsecond=0)
    tid = _tickler(store, cid, due - timedelta(days=1), recurrence=parse_every("daily"))
    with store.write() as tx:
        (_, nxt), step = record(
            tx, "Done", lambda t: complete_tickler(tx=t, tickler_id=tid, tz=BERLIN)
        )
    assert nxt is not None
    with store.write() as tx:
        undo(tx=tx, step=step)
    t = _row(store, Tickler, tid)
    assert isinstance(t, Tickler) and (t.status, t.done_at) == ("open", None)
    n = _row(store, Tickler, nxt.id)
    assert isinstance(n, Tickler) and n.deleted_at is not None
    assert ("delete", None) in _ops(store, nxt.id)


def test_undo_snooze_and_defer_restore_the_dates(store: Store) -> None:
    cid = _contact(store)
    due = datetime.now(UTC) - timedelta(days=1)
    tid = _tickler(store, cid, due)
    until = datetime.now(UTC) + timedelta(hours=2)
    with store.write() as tx:
        _, snoozed = record(
            tx, "Snooze", lambda t: snooze_tickler(tx=t, tickler_id=tid, until=until)
        )
    with store.write() as tx:
        undo(tx=tx, step=snoozed)
    t = _row(store, Tickler, tid)
    assert isinstance(t, Tickler) and t.snoozed_until is None and t.due_at == due
    with store.write() as tx:
        snooze_tickler(tx=tx, tickler_id=tid, until=until)
    with store.write() as tx:
        _, deferred = record(
            tx,
            "Defer",
            lambda t: defer_tickler(tx=t, tickler_id=tid, due_at=due + timedelta(days=3)),
        )
    with store.write() as tx:
        undo(tx=tx, step=deferred)
    t = _row(store, Tickler, tid)
    assert isinstance(t, Tickler) and t.due_at == due and t.snoozed_until == until


def test_a_lead_conversion_is_undone_whole_and_search_forgets_the_contact(store: Store) -> None:
    from crmtui.services.sales.leads import LeadConversion, LeadCreate, create_lead
    from crmtui.services.upkeep.undo import record_convert
    from crmtui.store.models import Account, Deal, Lead

    with store.write() as tx:
        lead_id = create_lead(
            tx=tx, data=LeadCreate(name="Eva Neu", company="Neu GmbH"), region="DE"
        ).id
    with store.write() as tx:
        done, step = record_convert(
            tx, lead_id=lead_id, data=LeadConversion(amount_minor=5_000_00), region="DE"
        )
        made = (done.account.id, done.contact.id, done.deal.id)  # type: ignore[union-attr]
    assert step.label == "Convert lead"
    db = sqlite3.connect(store.path)
    assert [h.id for h in search_contacts(db, "Eva Neu")] == [made[1]]
    with store.write() as tx:
        undo(tx=tx, step=step)
    lead = _row(store, Lead, lead_id)
    assert isinstance(lead, Lead) and lead.status != "converted"
    for model, row_id in zip((Account, Contact, Deal), made, strict=True):
        row = _row(store, model, row_id)
        assert row.deleted_at is not None, model  # type: ignore[attr-defined]
    assert search_contacts(db, "Eva Neu") == []
    # Journaled: the tombstones sync like any delete.
    assert ("delete", None) in _ops(store, made[1])
