"""One disagreement, one line in `crm conflicts`: a conflict is not also an "overwritten"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.services.sales.deals import DealCreate, DealUpdate, create_deal, update_deal
from crmtui.sync.conflicts import list_conflicts
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


@pytest.mark.parametrize("batch", [1, 50])
def test_a_conflicting_amount_is_listed_once_on_each_laptop(team: Team, batch: int) -> None:
    ann, ann_token = team.laptop("ann")
    # A manager: an unplaced contact is seen by its creator and managers only.
    bob, bob_token = team.laptop("max")
    ann_sync = team.sync_client(ann, ann_token, batch=batch)
    bob_sync = team.sync_client(bob, bob_token, batch=batch)
    ann_sync.sync()
    with ann.write() as tx:
        deal = create_deal(
            tx=tx, data=DealCreate(name="Big", amount_minor=100, territory_id=team.north)
        ).id
        contact = create_contact(tx=tx, data=ContactCreate(name="Jo"), region="DE").id
    ann_sync.sync()
    bob_sync.sync()
    with ann.write() as tx:
        update_deal(tx=tx, deal_id=deal, data=DealUpdate(amount_minor=200))
    with bob.write() as tx:
        update_deal(tx=tx, deal_id=deal, data=DealUpdate(amount_minor=300))
    ann_sync.sync()
    bob_sync.sync()  # concurrent with Ann's: a conflict, Bob's value stands for now
    ann_sync.sync()  # Ann's 200 is overwritten by 300 -- as part of that conflict
    for store in (ann, bob):
        rows = [(r.kind, r.field) for r in list_conflicts(store)]
        assert rows == [("conflict", "amount_minor")], rows
    # An ordinary overwrite still leaves its note.
    with ann.write() as tx:
        update_contact(tx=tx, contact_id=contact, data=ContactUpdate(city="York"), region="DE")
    ann_sync.sync()
    bob_sync.sync()
    with bob.write() as tx:
        update_contact(tx=tx, contact_id=contact, data=ContactUpdate(city="Hull"), region="DE")
    bob_sync.sync()
    ann_sync.sync()
    kinds = sorted((r.entity, r.kind, r.field) for r in list_conflicts(ann))
    # The city is the contact's column and its address item's field: each is noted.
    assert kinds == [
        ("contact", "overwritten", "city"),
        ("contact_address", "overwritten", "city"),
        ("deal", "conflict", "amount_minor"),
    ]
