"""`resolve.live_id`: a live row's id without loading it, as `get_live(...).id` would give it."""

from __future__ import annotations

import pytest

from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.store.database import Store
from crmtui.store.models import Contact
from crmtui.store.resolve import NotFound, get_live, live_id


def _contact(store: Store, name: str) -> str:
    with store.write() as tx:
        return create_contact(tx=tx, data=ContactCreate(name=name), region="DE").id


def test_a_full_id_or_a_unique_prefix_gives_the_id(store: Store) -> None:
    cid = _contact(store, "Anna Müller")
    with store.write() as tx:
        assert live_id(tx, Contact, cid) == cid
        assert live_id(tx, Contact, f"  {cid.upper()} ") == cid
        assert live_id(tx, Contact, cid[:13]) == cid == get_live(tx, Contact, cid[:13]).id


def test_a_deleted_or_unknown_row_is_refused_with_get_lives_message(store: Store) -> None:
    cid = _contact(store, "Anna Müller")
    with store.write() as tx:
        tx.delete(get_live(tx, Contact, cid))
        # Deleted in this transaction and not flushed yet: still seen as deleted.
        with pytest.raises(NotFound, match="no contact with id"):
            live_id(tx, Contact, cid)
    with store.write() as tx, pytest.raises(NotFound, match="no contact with id 'nosuchid'"):
        live_id(tx, Contact, "nosuchid")
