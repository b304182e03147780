"""Contact items between laptops: concurrent adds both kept, primaries converge, server checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from crmtui.domain.ids import uuid7
from crmtui.search.lookup import connect, search_contacts
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.store.models import Contact, ContactEmail, ContactPhone
from crmtui.sync.client import SyncClient
from crmtui.sync.fields import check_op
from tests.sync_support import Team, new_record, push_ops


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def _two(team: Team) -> tuple[Store, SyncClient, Store, SyncClient, str]:
    a, ta = team.laptop("ann", "a")
    b, tb = team.laptop("ann", "b")
    ca, cb = team.sync_client(a, ta), team.sync_client(b, tb)
    with a.write() as tx:
        cid = create_contact(
            tx=tx,
            data=ContactCreate(name="Anna Weber", phone="+49 30 1111111", email="anna@example.org"),
            region="DE",
        ).id
    ca.sync()
    cb.sync()
    return a, ca, b, cb, cid


def _phones(store: Store, cid: str) -> list[tuple[str, str, bool]]:
    with store.read() as s:
        rows = s.exec(select(ContactPhone).where(ContactPhone.contact_id == cid)).all()
        return sorted((p.number, p.kind, p.is_primary) for p in rows if p.deleted_at is None)


def test_two_laptops_adding_a_phone_offline_keep_both(team: Team) -> None:
    a, ca, b, cb, cid = _two(team)
    with a.write() as tx:
        update_contact(
            tx=tx,
            contact_id=cid,
            data=ContactUpdate(phones=["mobile:+49 151 2222222"]),
            region="DE",
        )
    with b.write() as tx:
        update_contact(
            tx=tx, contact_id=cid, data=ContactUpdate(phones=["home:+49 30 3333333"]), region="DE"
        )
    for _ in range(2):
        ca.sync()
        cb.sync()
    expected = [
        ("+49 151 2222222", "mobile", False),
        ("+49 30 1111111", "work", True),
        ("+49 30 3333333", "home", False),
    ]
    assert _phones(a, cid) == expected
    assert _phones(b, cid) == expected
    with b.read() as s:
        contact = s.get(Contact, cid)
        assert contact is not None
        # The mobile column follows the item that arrived from the other laptop.
        assert (contact.phone, contact.mobile) == ("+49 30 1111111", "+49 151 2222222")


def test_concurrent_primary_marks_converge_to_the_same_dialled_phone(team: Team) -> None:
    a, ca, b, cb, cid = _two(team)
    with a.write() as tx:
        update_contact(
            tx=tx,
            contact_id=cid,
            data=ContactUpdate(phones=["mobile:+49 151 2222222;primary"]),
            region="DE",
        )
    with b.write() as tx:
        update_contact(
            tx=tx,
            contact_id=cid,
            data=ContactUpdate(phones=["work:+49 30 4444444;primary"]),
            region="DE",
        )
    for _ in range(2):
        ca.sync()
        cb.sync()
    with a.read() as s:
        pa = s.get(Contact, cid)
        assert pa is not None
        dialled_a = pa.phone
    with b.read() as s:
        pb = s.get(Contact, cid)
        assert pb is not None
        assert pb.phone == dialled_a
    assert dialled_a in ("+49 151 2222222", "+49 30 4444444")
    assert _phones(a, cid) == _phones(b, cid)


def test_a_secondary_email_added_elsewhere_is_searchable_here(team: Team) -> None:
    a, ca, b, cb, cid = _two(team)
    with a.write() as tx:
        update_contact(
            tx=tx,
            contact_id=cid,
            data=ContactUpdate(emails=["home:anna.private@example.net"]),
            region="DE",
        )
    ca.sync()
    cb.sync()
    with b.read() as s:
        emails = s.exec(select(ContactEmail).where(ContactEmail.contact_id == cid)).all()
        assert sorted(e.address for e in emails) == ["anna.private@example.net", "anna@example.org"]
        contact = s.get(Contact, cid)
        assert contact is not None and contact.email == "anna@example.org"
    db = connect(b.path)
    try:
        hits = search_contacts(db, "anna.private@example.net")
    finally:
        db.close()
    assert [h.id for h in hits][:1] == [cid]


@pytest.mark.parametrize(
    ("entity", "name", "value", "reason"),
    [
        ("contact_phone", "kind", '"pager"', "must be one of"),
        ("contact_phone", "is_primary", '"yes"', "must be true or false"),
        ("contact_email", "address", "null", "may not be null"),
        ("contact_address", "postcode", '"' + "9" * 21 + '"', "longer than 20"),
        ("contact_phone", "contact_id", '"not an id!"', "must be an id"),
        ("contact", "birthday", '"1990-13-01"', "must be a date"),
    ],
)
def test_field_specs_refuse_bad_item_values(
    entity: str, name: str, value: str, reason: str
) -> None:
    problem = check_op(entity, "set", name, value)
    assert problem is not None and reason in problem


def test_the_server_refuses_a_bad_phone_item_and_takes_a_good_one(team: Team) -> None:
    from crmtui.server import admin

    http = team.http(admin.issue_token(team.engine, "ann", "raw").token)
    cid, contact = new_record("contact", {"name": "Bo"})
    _, bad = new_record("contact_phone", {"contact_id": cid, "kind": "pager", "number": "1"})
    _, good = new_record(
        "contact_phone",
        {"contact_id": cid, "kind": "work", "number": "+4930555555", "is_primary": True},
    )
    results = push_ops(http, uuid7(), contact + bad + good)
    statuses = [r["status"] for r in results]
    assert set(statuses[: len(contact)]) == {"applied"}
    assert "rejected" in statuses[len(contact) : len(contact) + len(bad)]
    assert set(statuses[len(contact) + len(bad) :]) == {"applied"}


def test_a_phone_a_manager_adds_to_a_reps_unplaced_contact_reaches_the_rep(team: Team) -> None:
    """Items follow their contact's scope, also an unplaced contact's (seen by its maker)."""
    a, ta = team.laptop("ann", "a")
    m, tm = team.laptop("max", "m")
    ca, cm = team.sync_client(a, ta), team.sync_client(m, tm)
    with a.write() as tx:
        cid = create_contact(tx=tx, data=ContactCreate(name="Unplaced Person"), region="DE").id
    ca.sync()
    cm.sync()
    with m.write() as tx:
        update_contact(
            tx=tx, contact_id=cid, data=ContactUpdate(phones=["work:+49 30 7777777"]), region="DE"
        )
    cm.sync()
    ca.sync()
    assert _phones(a, cid) == [("+49 30 7777777", "work", True)]
    with a.read() as s:
        contact = s.get(Contact, cid)
        assert contact is not None and contact.phone == "+49 30 7777777"
