"""Contacts in two-way sync with a real Radicale server started by the test.

The "phone" edits the server's cards directly, as a phone's CardDAV sync would;
crmtui's side goes through `crmtui.dav.run` (the code `crm dav sync` runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from crmtui.dav.run import DavSettings, MassDelete, run_sync, set_up
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.store.models import Contact, ContactPhone, JournalOp
from crmtui.store.sync_state import SyncConflict
from tests.dav_support import Phone, Radicale, radicale

REGION = "DE"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """One server for the module (a process start each); each test has its own address book."""
    with radicale(tmp_path_factory.mktemp("radicale")) as srv:
        yield srv


@pytest.fixture
def phone(server: Radicale) -> Iterator[Phone]:
    p = Phone(server)
    yield p
    p.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _setup(store: Store, server: Radicale, monkeypatch: pytest.MonkeyPatch) -> DavSettings:
    monkeypatch.setenv("DAV_TEST_PASSWORD", server.password)
    return set_up(
        store,
        DavSettings(
            url=server.url,
            user=server.user,
            password_env="DAV_TEST_PASSWORD",
            addressbook=f"{server.url}{server.user}/{Path(store.path).parent.name}/",
        ),
        calendar=False,
    )


def _sync(store: Store, settings: DavSettings):
    return run_sync(store, settings, region=REGION, tz=UTC, now=_now).cards


def _add(store: Store, name: str, **kw: object) -> str:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(name=name, **kw), region=REGION).id


def _card_href(phone: Phone, settings: DavSettings, contact_id: str) -> str:
    return f"{settings.addressbook}{contact_id}.vcf"


def _edit_card(text: str, old: str, new: str) -> str:
    assert old in text, text
    return text.replace(old, new)


def test_round_trip_both_ways(store: Store, server: Radicale, phone: Phone, monkeypatch) -> None:
    ann = _add(store, "Ann Lee", phone="+49 30 1234567", email="ann@example.org", title="Buyer")
    settings = _setup(store, server, monkeypatch)
    first = _sync(store, settings)
    assert first.new_to_phone == 1
    href = _card_href(phone, settings, ann)
    card = phone.get(href)
    assert "FN:Ann Lee" in card and "ann@example.org" in card

    # The phone changes the title and adds a mobile; the journal gets only those.
    with store.read() as s:
        before = len(s.exec(select(JournalOp)).all())
    edited = _edit_card(card, "TITLE:Buyer", "TITLE:Head buyer")
    edited = _edit_card(edited, "END:VCARD", "TEL;TYPE=CELL:+49 151 2222333\r\nEND:VCARD")
    phone.put(href, edited)
    report = _sync(store, settings)
    assert report.from_phone == ["Ann Lee"]
    with store.read() as s:
        row = s.get(Contact, ann)
        assert row is not None and row.title == "Head buyer"
        numbers = {
            p.e164 for p in s.exec(select(ContactPhone).where(ContactPhone.contact_id == ann))
        }
        assert numbers == {"+49301234567", "+491512222333"}
        ops = s.exec(select(JournalOp)).all()[before:]
    fields = {(o.entity, o.field) for o in ops}
    assert ("contact", "title") in fields
    assert ("contact", "name") not in fields and ("contact", "notes") not in fields

    # Back the other way: an edit in crmtui reaches the card.
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=ann, data=ContactUpdate(notes="prefers mornings"), region=REGION
        )
    report = _sync(store, settings)
    assert report.to_phone == 1
    assert "NOTE:prefers mornings" in phone.get(href)
    # Notes of several lines written on the phone keep their lines.
    phone.put(href, phone.get(href).replace("NOTE:prefers mornings", "NOTE:line one\\nline two"))
    assert _sync(store, settings).from_phone == ["Ann Lee"]
    with store.read() as s:
        assert s.get(Contact, ann).notes == "line one\nline two"  # type: ignore[union-attr]
    assert "+49 151 2222333" in phone.get(href) or "+491512222333" in phone.get(href)
    # A quiet round writes nothing.
    quiet = _sync(store, settings)
    assert quiet.to_phone == 0 and quiet.from_phone == [] and quiet.new_to_phone == 0


def test_edit_on_both_sides(store: Store, server: Radicale, phone: Phone, monkeypatch) -> None:
    bo = _add(store, "Bo Berg", title="CTO", notes="old note")
    settings = _setup(store, server, monkeypatch)
    _sync(store, settings)
    href = _card_href(phone, settings, bo)
    card = phone.get(href)
    # Here: the notes and the title change. On the phone (later, a REV of now): the
    # title changes too, and the nickname.
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=bo, data=ContactUpdate(notes="new note", title="CEO"), region=REGION
        )
    edited = _edit_card(card, "TITLE:CTO", "TITLE:Chief Technologist")
    edited = "\r\n".join(x for x in edited.split("\r\n") if not x.startswith("REV:"))
    edited = _edit_card(edited, "END:VCARD", "NICKNAME:Bobo\r\nREV:29991231T000000Z\r\nEND:VCARD")
    phone.put(href, edited)
    report = _sync(store, settings)
    assert report.kept_both == ["Bo Berg: title"]
    with store.read() as s:
        row = s.get(Contact, bo)
        assert row is not None
        assert (row.title, row.notes, row.nickname) == ("Chief Technologist", "new note", "Bobo")
        aside = s.exec(select(SyncConflict).where(SyncConflict.row_id == bo)).all()
    assert [(c.field, json.loads(c.other_value or "null")) for c in aside] == [("title", "CEO")]
    # Both sides now say the same.
    card = phone.get(href)
    assert (
        "TITLE:Chief Technologist" in card and "NOTE:new note" in card and "NICKNAME:Bobo" in card
    )


def test_phone_delete_archives_and_lists(
    store: Store, server: Radicale, phone: Phone, monkeypatch
) -> None:
    cy = _add(store, "Cy Dahl")
    settings = _setup(store, server, monkeypatch)
    _sync(store, settings)
    phone.delete(_card_href(phone, settings, cy))
    report = _sync(store, settings)
    assert report.archived == ["Cy Dahl"]
    with store.read() as s:
        row = s.get(Contact, cy)
        assert row is not None and row.deleted_at is None and row.archived_at is not None
    # Not put back on the phone while archived.
    again = _sync(store, settings)
    assert again.new_to_phone == 0 and again.archived == []


def test_card_new_on_phone_becomes_contact(
    store: Store, server: Radicale, phone: Phone, monkeypatch
) -> None:
    settings = _setup(store, server, monkeypatch)
    _sync(store, settings)
    phone.put(
        f"{settings.addressbook}from-phone.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:phone-1\r\nFN:Dee Ek\r\nN:Ek;Dee;;;\r\n"
        "ORG:Ek AB\r\nTEL;TYPE=CELL:+46 70 123 45 67\r\nEMAIL:dee@ek.se\r\nEND:VCARD\r\n",
    )
    report = _sync(store, settings)
    assert report.new_from_phone == ["Dee Ek"]
    with store.read() as s:
        row = s.exec(select(Contact).where(Contact.source_uid == "phone-1")).one()
        assert (row.email, row.mobile_e164) == ("dee@ek.se", "+46701234567")
    assert _sync(store, settings).new_from_phone == []


def test_many_cards_gone_at_once_is_asked_first(
    store: Store, server: Radicale, phone: Phone, monkeypatch
) -> None:
    ids = [_add(store, f"Person {i:02d}") for i in range(12)]
    settings = _setup(store, server, monkeypatch)
    _sync(store, settings)
    for cid in ids:
        phone.delete(_card_href(phone, settings, cid))
    with pytest.raises(MassDelete, match="12 of 12 cards are gone"):
        _sync(store, settings)
    with store.read() as s:
        assert all(s.get(Contact, cid).archived_at is None for cid in ids)  # type: ignore[union-attr]
    done = run_sync(store, settings, region=REGION, tz=UTC, now=_now, accept_deletes=True).cards
    assert done is not None and len(done.archived) == 12


def test_a_segment_keeps_the_cards_the_phone_added(
    store: Store, server: Radicale, phone: Phone, monkeypatch
) -> None:
    _add(store, "In Segment", tags=["key"])
    _add(store, "Not In It")
    settings = _setup(store, server, monkeypatch)
    settings = DavSettings(**{**settings.__dict__, "tag": "key"})
    assert _sync(store, settings).new_to_phone == 1
    phone.put(
        f"{settings.addressbook}new.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:phone-2\r\nFN:Eve Fa\r\nN:Fa;Eve;;;\r\nEND:VCARD\r\n",
    )
    assert _sync(store, settings).new_from_phone == ["Eve Fa"]
    quiet = _sync(store, settings)
    assert quiet.removed == 0 and quiet.new_to_phone == 0
    assert "FN:Eve Fa" in phone.get(f"{settings.addressbook}new.vcf")


def test_items_match_by_number_whatever_their_kind(
    store: Store, server: Radicale, phone: Phone, monkeypatch
) -> None:
    """A national number and an "other" phone come back from the card in another form."""
    gus = _add(store, "Gus Holm", phones=["other:030 7654321", "mobile:+49 151 999 000;ext=7"])
    settings = _setup(store, server, monkeypatch)
    _sync(store, settings)
    href = _card_href(phone, settings, gus)
    card = phone.get(href)
    # The phone drops the "other" number and leaves the mobile as it was.
    kept = [x for x in card.split("\r\n") if "7654321" not in x]
    phone.put(href, "\r\n".join(kept))
    report = _sync(store, settings)
    assert report.from_phone == ["Gus Holm"]
    with store.read() as s:
        numbers = s.exec(
            select(ContactPhone.e164, ContactPhone.extension).where(
                ContactPhone.contact_id == gus, ContactPhone.deleted_at.is_(None)
            )
        ).all()
    assert numbers == [("+49151999000", "7")]


def test_cards_written_but_not_linked_are_found_by_their_uid(
    store: Store, server: Radicale, phone: Phone, monkeypatch
) -> None:
    """A round stopped after its PUTs, before the links were kept: nothing is doubled."""
    from crmtui.store.dav_state import DavLink

    ids = [_add(store, f"Lost Link {i}") for i in range(3)]
    settings = _setup(store, server, monkeypatch)
    assert _sync(store, settings).new_to_phone == 3
    with store.write() as tx:
        for link in tx.session.exec(select(DavLink)):
            tx.session.delete(link)
    again = _sync(store, settings)
    assert again.new_from_phone == [] and again.new_to_phone == 0
    with store.read() as s:
        assert len(s.exec(select(Contact)).all()) == 3
        assert sorted(link.record_key for link in s.exec(select(DavLink))) == sorted(ids)
