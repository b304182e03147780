"""A contact's phones, emails and addresses: add, remove, mark primary; columns follow items."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from crmtui.domain.contact_details import (
    _NAMESPACE,
    PhoneItem,
    dialled,
    item_id,
    parse_address_spec,
    parse_phone_spec,
)
from crmtui.domain.validate import InvalidInput
from crmtui.search.lookup import connect, find_by_phone, search_contacts
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import Store, open_store
from crmtui.store.migrate import upgrade
from crmtui.store.models import PHONE_KINDS, Contact, ContactAddress, ContactEmail, ContactPhone
from crmtui.store.resolve import NotFound


def _add(store: Store, **fields: object) -> Contact:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(**fields), region="DE")


def _edit(store: Store, cid: str, **fields: object) -> list[str]:
    with store.write() as tx:
        return update_contact(tx=tx, contact_id=cid, data=ContactUpdate(**fields), region="DE")


def _contact(store: Store, cid: str) -> Contact:
    with store.read() as s:
        c = s.get(Contact, cid)
        assert c is not None
        return c


def _live(store: Store, model: type, cid: str) -> list:
    with store.read() as s:
        rows = s.exec(select(model).where(model.contact_id == cid)).all()
        return sorted((r for r in rows if r.deleted_at is None), key=lambda r: r.id)


def test_the_old_fields_become_items_and_the_columns_stay(store: Store) -> None:
    c = _add(
        store,
        name="Anna Weber",
        phone="+49 30 1234567",
        mobile="+49 151 7654321",
        email="anna@example.org",
        city="Berlin",
        country="de",
    )
    phones = _live(store, ContactPhone, c.id)
    assert [(p.kind, p.number, p.is_primary) for p in phones] == [
        ("work", "+49 30 1234567", True),
        ("mobile", "+49 151 7654321", False),
    ]
    assert [(e.address, e.is_primary) for e in _live(store, ContactEmail, c.id)] == [
        ("anna@example.org", True)
    ]
    [address] = _live(store, ContactAddress, c.id)
    assert (address.city, address.country) == ("Berlin", "DE")
    row = _contact(store, c.id)
    assert (row.phone, row.mobile, row.email, row.city, row.country) == (
        "+49 30 1234567",
        "+49 151 7654321",
        "anna@example.org",
        "Berlin",
        "DE",
    )


def test_many_typed_phones_with_extension_and_an_explicit_dialled_one(store: Store) -> None:
    c = _add(
        store,
        name="Ben Fax",
        phones=["fax:+49 30 9999999", "work:+49 30 1111111;ext=12", "home:+49 30 2222222"],
    )
    phones = _live(store, ContactPhone, c.id)
    assert [(p.kind, p.extension, p.is_primary) for p in phones] == [
        ("fax", None, False),
        ("work", "12", True),  # a fax listed first is never the dialled one
        ("home", None, False),
    ]
    assert _contact(store, c.id).phone == "+49 30 1111111"
    _edit(store, c.id, primary_phone="+49 30 2222222")
    assert _contact(store, c.id).phone == "+49 30 2222222"
    assert [p.is_primary for p in _live(store, ContactPhone, c.id)] == [False, False, True]


def test_a_fax_cannot_be_dialled(store: Store) -> None:
    c = _add(store, name="Ben", phones=["fax:+49 30 9999999", "work:+49 30 1111111"])
    with pytest.raises(InvalidInput, match="fax"):
        _edit(store, c.id, primary_phone="fax")
    with pytest.raises(InvalidInput, match="fax"):
        _add(store, name="Cy", phones=["fax:+49 30 9999998;primary"])
    assert _contact(store, c.id).phone == "+49 30 1111111"


def test_removing_the_dialled_phone_dials_the_next_and_keeps_others(store: Store) -> None:
    c = _add(store, name="Cleo", phones=["work:+49 30 1111111", "mobile:+49 151 2222222"])
    _edit(store, c.id, remove_phones=["+49 30 1111111"])
    row = _contact(store, c.id)
    # The mobile is dialled now: the call list dials `phone`, else `mobile`.
    assert (row.phone, row.mobile) == (None, "+49 151 2222222")
    assert [p.is_primary for p in _live(store, ContactPhone, c.id)] == [True]
    with store.read() as s:
        gone = s.exec(select(ContactPhone).where(ContactPhone.number == "+49 30 1111111")).one()
        assert gone.deleted_at is not None  # a tombstone, journaled like every delete
    with pytest.raises(NotFound, match="no phone"):
        _edit(store, c.id, remove_phones=["+49 40 5555555"])


def test_emails_add_remove_primary(store: Store) -> None:
    c = _add(store, name="Dora", email="dora@work.example", emails=["home:dora@home.example"])
    assert _contact(store, c.id).email == "dora@work.example"
    _edit(store, c.id, primary_email="dora@home.example")
    assert _contact(store, c.id).email == "dora@home.example"
    _edit(store, c.id, remove_emails=["dora@home.example"])
    assert _contact(store, c.id).email == "dora@work.example"
    with pytest.raises(InvalidInput, match="already"):
        _edit(store, c.id, emails=["other:Dora@work.example"])


def test_addresses_and_person_fields(store: Store) -> None:
    c = _add(
        store,
        name="Emil",
        addresses=["home:street=Hauptstr. 1;postcode=10115;city=Berlin;country=de"],
        birthday=date(1980, 4, 15),
        nickname="Em",
        salutation="Herr",
        department="Einkauf",
        website="https://emil.example",
    )
    [a] = _live(store, ContactAddress, c.id)
    assert (a.kind, a.street, a.postcode, a.city, a.country) == (
        "home",
        "Hauptstr. 1",
        "10115",
        "Berlin",
        "DE",
    )
    row = _contact(store, c.id)
    assert (row.city, row.birthday, row.nickname, row.department) == (
        "Berlin",
        date(1980, 4, 15),
        "Em",
        "Einkauf",
    )
    _edit(store, c.id, addresses=["work:city=Hamburg;primary"])
    assert _contact(store, c.id).city == "Hamburg"


def test_a_bad_spec_writes_nothing(store: Store) -> None:
    c = _add(store, name="Fay", phone="+49 30 1111111")
    for bad in (
        {"phones": ["pager:+49 30 1"]},
        {"phones": ["work:+49 30 2222222;ext=abc"]},
        {"emails": ["not-an-address"]},
        {"addresses": ["work:town=Berlin"]},
        {"phones": ["work:+49 30 2222222"], "emails": ["broken@"]},
    ):
        with pytest.raises(InvalidInput):
            _edit(store, c.id, **bad)
    assert [p.number for p in _live(store, ContactPhone, c.id)] == ["+49 30 1111111"]


def test_search_and_who_find_a_secondary_email_and_phone(store: Store) -> None:
    c = _add(
        store,
        name="Gert Sommer",
        phone="+49 30 1111111",
        emails=["work:gert@firma.example", "home:gert.sommer@privat.example"],
        phones=["home:+49 40 8888888"],
    )
    _add(store, name="Someone Else", phone="+49 30 3333333")
    db = connect(store.path)
    try:
        assert [h.id for h in search_contacts(db, "gert.sommer@privat.example")][:1] == [c.id]
        assert [h.id for h in find_by_phone(db, "040 8888888")] == [c.id]
    finally:
        db.close()


def test_parse_specs() -> None:
    assert parse_phone_spec("work:+49 30 1;ext=12;primary", PHONE_KINDS) == (
        "work",
        "+49 30 1",
        "12",
        True,
    )
    assert parse_phone_spec("+49 30 1", PHONE_KINDS) == ("work", "+49 30 1", None, False)
    assert parse_address_spec("home:city=Köln;country=DE", ("work", "home", "other")) == (
        "home",
        {"city": "Köln", "country": "DE"},
        False,
    )
    with pytest.raises(InvalidInput, match="not a kind"):
        parse_phone_spec("pager:123", PHONE_KINDS)


def test_dialled_rule_is_the_same_whatever_the_order() -> None:
    a = PhoneItem("2", "work", "1", "+1", True)
    b = PhoneItem("3", "mobile", "2", "+2", True)
    fax = PhoneItem("1", "fax", "3", "+3", True)
    assert dialled([a, b, fax]) == dialled([fax, b, a]) == b


def _seed_0006(path: Path) -> None:
    upgrade(path, "0006_report_indexes")
    db = sqlite3.connect(path)
    ts = "2026-01-02T03:04:05.000000Z"
    db.execute(
        "INSERT INTO contact (id, name, phone, phone_e164, mobile, mobile_e164, email, city,"
        " country, tags, do_not_call, do_not_email, created_at, updated_at)"
        " VALUES ('c1', 'Old Person', '030 1234567', '+49301234567', '0151 7654321',"
        " '+491517654321', 'old@example.org', 'Berlin', 'DE', '[]', 0, 0, ?, ?)",
        (ts, ts),
    )
    db.execute(
        "INSERT INTO contact (id, name, tags, do_not_call, do_not_email, created_at, updated_at)"
        " VALUES ('c2', 'No Details', '[]', 0, 0, ?, ?)",
        (ts, ts),
    )
    db.commit()
    db.close()


def test_migration_moves_columns_into_items_and_back(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _seed_0006(path)
    upgrade(path, "0007_contact_details")
    db = sqlite3.connect(path)
    phones = db.execute(
        "SELECT contact_id, kind, number, e164, is_primary FROM contact_phone ORDER BY kind DESC"
    ).fetchall()
    assert phones == [
        ("c1", "work", "030 1234567", "+49301234567", 1),
        ("c1", "mobile", "0151 7654321", "+491517654321", 0),
    ]
    assert db.execute("SELECT contact_id, address FROM contact_email").fetchall() == [
        ("c1", "old@example.org")
    ]
    assert db.execute("SELECT city, country FROM contact_address").fetchall() == [("Berlin", "DE")]
    journaled = db.execute(
        "SELECT entity, count(*) FROM journal WHERE op = 'create' GROUP BY entity ORDER BY 1"
    ).fetchall()
    assert journaled == [("contact_address", 1), ("contact_email", 1), ("contact_phone", 2)]
    db.close()
    # The app works on it: the columns are the items' primaries.
    store = open_store(path)
    try:
        assert _contact(store, "c1").phone == "030 1234567"
        _edit(store, "c1", phones=["home:+49 40 5555555"])
    finally:
        store.close()
    from alembic import command

    from crmtui.store.migrate import _alembic_config

    command.downgrade(_alembic_config(path), "0006_report_indexes")
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"contact_phone", "contact_email", "contact_address"}
    assert db.execute(
        "SELECT phone, mobile, email, city, country FROM contact WHERE id = 'c1'"
    ).fetchone() == ("030 1234567", "0151 7654321", "old@example.org", "Berlin", "DE")
    pending_items = db.execute(
        "SELECT count(*) FROM journal WHERE entity LIKE 'contact\\_%' ESCAPE '\\'"
        " AND pushed_at IS NULL"
    ).fetchone()[0]
    assert pending_items == 0
    db.close()
    command.upgrade(_alembic_config(path), "head")  # and up again
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM contact_phone").fetchone()[0] == 2
    db.close()


def test_item_ids_are_the_uuid5_every_laptop_makes() -> None:
    # item_id builds the UUIDv5 text itself (fast path); it must stay uuid.uuid5's.
    import uuid

    for contact_id in ("0193a6b2-7c1d-7e00-8000-000000000001", str(uuid.uuid4()), "é/ü"):
        for slot in ("phone", "mobile", "email", "address"):
            expected = str(uuid.uuid5(_NAMESPACE, f"{contact_id}/{slot}"))
            assert item_id(contact_id, slot) == expected


def test_two_migrations_of_one_contact_make_the_same_item_ids(tmp_path: Path) -> None:
    ids = []
    for name in ("a.db", "b.db"):
        path = tmp_path / name
        _seed_0006(path)
        upgrade(path)
        db = sqlite3.connect(path)
        ids.append(db.execute("SELECT id FROM contact_phone ORDER BY id").fetchall())
        db.close()
    assert ids[0] == ids[1] and len(ids[0]) == 2


def test_an_imports_items_get_ordered_uuid7_ids_not_derived_ones() -> None:
    from crmtui.services.contact_items import item_rows

    contacts = [
        {"id": f"c{i}", "phone": "030 1234567", "phone_e164": "+49301234567",
         "mobile": "0151 1234567" if i % 2 else None, "email": f"p{i}@example.com",
         "city": "Berlin", "country": "DE"}
        for i in range(40)
    ]  # fmt: skip
    out = item_rows(contacts)
    assert [len(out[t]) for t in ("contact_phone", "contact_email", "contact_address")] == [
        60,
        40,
        40,
    ]
    for rows in out.values():
        ids = [r["id"] for r in rows]
        # Version 7 and growing (appended to the indexes), not `item_id`'s uuid5 of the slot.
        assert all(i[14] == "7" for i in ids) and ids == sorted(ids)
        assert not {item_id(r["contact_id"], "email") for r in rows} & set(ids)
    assert len({r["id"] for rows in out.values() for r in rows}) == 140
