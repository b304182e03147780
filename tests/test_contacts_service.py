"""Account and contact services: rows, journal and search index move together."""

from __future__ import annotations

import json
import sqlite3

import pytest

from crmtui.domain.validate import InvalidInput
from crmtui.services.address_book.accounts import AccountUpdate, update_account
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    archive_contact,
    create_contact,
    delete_contact,
    restore_contact,
    tag_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.store.models import Account, Contact
from crmtui.store.resolve import NotFound
from tests.journal_support import logical_journal


def _raw(store: Store) -> sqlite3.Connection:
    return sqlite3.connect(store.path)


def _add(store: Store, **fields: object) -> Contact:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(**fields), region="DE")


def _journal(store: Store, row_id: str) -> list[tuple[str, str | None, str | None]]:
    """The row's contract ops (a packed create expanded into its create and sets)."""
    return [
        (op, field, value)
        for _, op, field, value, _ in logical_journal(_raw(store), "row_id = ?", (row_id,))
    ]


def test_create_normalises_and_journals_every_field(store: Store) -> None:
    c = _add(
        store,
        name="Anna Müller",
        company="Acme GmbH",
        phone="0151 1234 5678",
        email="anna@ACME.example",
        tags=["VIP", "vip", "Trade-Fair"],
    )
    assert c.phone == "0151 1234 5678"
    assert c.phone_e164 == "+4915112345678"
    assert c.email == "anna@acme.example"
    assert c.tags == ["vip", "trade-fair"]
    assert (c.given_name, c.family_name) == ("Anna", "Müller")
    ops = _journal(store, c.id)
    assert ops[0] == ("create", None, None)
    fields = {f: json.loads(v) for op, f, v in ops[1:]}
    assert fields["name"] == "Anna Müller"
    assert fields["phone_e164"] == "+4915112345678"
    assert fields["tags"] == ["vip", "trade-fair"]
    account_id = fields["account_id"]
    # The account was created in the same transaction and journaled too.
    assert _journal(store, account_id)[0] == ("create", None, None)


def test_company_reuses_an_existing_account_case_insensitively(store: Store) -> None:
    a = _add(store, name="A One", company="Acme")
    b = _add(store, name="B Two", company="ACME")
    assert a.account_id == b.account_id
    assert _raw(store).execute("SELECT count(*) FROM account").fetchone()[0] == 1


def test_update_journals_only_changed_fields(store: Store) -> None:
    c = _add(store, name="Jon Smith", city="Berlin")
    before = len(_journal(store, c.id))
    with store.write() as tx:
        changed = update_contact(
            tx=tx, contact_id=c.id, data=ContactUpdate(city="Berlin", title="CTO"), region="DE"
        )
    assert changed == ["title"]
    ops = _journal(store, c.id)
    assert len(ops) == before + 1
    assert ops[-1] == ("set", "title", '"CTO"')


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"phone": "call me maybe"}, "phone"),
        ({"phone": "12"}, "phone"),
        ({"name": "   "}, "name"),
        ({"tags": ["two words"]}, "tag"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    store: Store, fields: dict, bad_field: str
) -> None:
    data = {"name": "Valid Name", "company": "New Co", **fields}
    with pytest.raises(InvalidInput) as err:
        _add(store, **data)
    assert err.value.field == bad_field
    db = _raw(store)
    for table in ("contact", "account", "journal", "search_doc"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_failed_update_leaves_the_row_and_journal_as_they_were(store: Store) -> None:
    c = _add(store, name="Jon Smith", city="Berlin")
    before = _journal(store, c.id)
    with pytest.raises(InvalidInput), store.write() as tx:
        update_contact(
            tx=tx, contact_id=c.id, data=ContactUpdate(city="Paris", email="broken"), region="DE"
        )
    assert _raw(store).execute("SELECT city FROM contact").fetchone()[0] == "Berlin"
    assert _journal(store, c.id) == before


def test_tags_add_and_remove(store: Store) -> None:
    c = _add(store, name="Jon Smith", tags=["a"])
    with store.write() as tx:
        assert tag_contact(tx=tx, contact_id=c.id, add=["b", "C"], remove=["a"]) == ["b", "c"]


def test_delete_is_a_tombstone_and_restore_undoes_it(store: Store) -> None:
    c = _add(store, name="Jon Smith")
    with store.write() as tx:
        delete_contact(tx=tx, contact_id=c.id)
    db = _raw(store)
    assert db.execute("SELECT deleted_at IS NOT NULL FROM contact").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM search_doc").fetchone()[0] == 0
    assert _journal(store, c.id)[-1] == ("delete", None, None)
    with pytest.raises(NotFound), store.write() as tx:
        update_contact(tx=tx, contact_id=c.id, data=ContactUpdate(city="X"), region="DE")
    with store.write() as tx:
        restore_contact(tx=tx, contact_id=c.id)
    assert db.execute("SELECT deleted_at FROM contact").fetchone()[0] is None
    assert db.execute("SELECT count(*) FROM search_doc").fetchone()[0] == 1


def test_archive_marks_the_search_entry(store: Store) -> None:
    c = _add(store, name="Jon Smith")
    with store.write() as tx:
        archive_contact(tx=tx, contact_id=c.id)
    assert _raw(store).execute("SELECT archived FROM search_doc").fetchone()[0] == 1


def test_renaming_an_account_reindexes_its_contacts(store: Store) -> None:
    c = _add(store, name="Jon Smith", company="Acme")
    with store.write() as tx:
        update_account(
            tx=tx,
            account_id=c.account_id or "",
            data=AccountUpdate(name="Globex Müller"),
            region="DE",
        )
    assert _raw(store).execute("SELECT company FROM search_fts").fetchone()[0] == "globex muller"


def test_id_prefix_resolution(store: Store) -> None:
    c = _add(store, name="Jon Smith")
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=c.id[:13].upper(), data=ContactUpdate(city="Rome"), region="DE"
        )
    with store.read() as session:
        got = session.get(Contact, c.id)
        assert got is not None and got.city == "Rome"
        assert session.get(Account, c.id) is None


def test_device_id_and_clock_persist_across_transactions(store: Store) -> None:
    a = _add(store, name="First One")
    b = _add(store, name="Second Two")
    db = _raw(store)
    devices = {r[0] for r in db.execute("SELECT DISTINCT device_id FROM journal")}
    assert len(devices) == 1
    hlcs = [r[0] for r in db.execute("SELECT hlc FROM journal ORDER BY rowid")]
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == len(hlcs)
    assert db.execute("SELECT value FROM local_meta WHERE key='hlc'").fetchone()[0] == hlcs[-1]
    assert a.id < b.id
