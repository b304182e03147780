"""One company whatever the case of its name, in the services and in imports alike."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store
from crmtui.store.models import Account


def test_a_company_typed_in_another_case_is_the_same_account(store: Store) -> None:
    with store.write() as tx:
        first = create_contact(
            tx=tx, data=ContactCreate(name="Anna", company="ÀRZTE GmbH"), region="DE"
        )
        second = create_contact(
            tx=tx, data=ContactCreate(name="Bernd", company="àrzte gmbh"), region="DE"
        )
        third = create_contact(
            tx=tx, data=ContactCreate(name="Carla", company="Ärzte GmbH"), region="DE"
        )
    assert first.account_id == second.account_id
    assert third.account_id != first.account_id  # Ä is not À
    with store.read() as s:
        assert sorted(a.name for a in s.exec(select(Account)).all()) == ["ÀRZTE GmbH", "Ärzte GmbH"]


def test_the_sql_fold_is_python_s(store: Store, db_path: Path) -> None:
    with store.read() as s:
        folded = s.connection().exec_driver_sql("SELECT unicode_lower('ÀÉÎ Straße İ')").scalar()
    assert folded == "ÀÉÎ Straße İ".lower()
