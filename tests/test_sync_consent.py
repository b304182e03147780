"""Consent through the server: a disable-wins flag that every laptop ends up agreeing on.

Three laptops (Ann twice, Bob) against one server on either store: concurrent
opt-outs, an opt-in that had seen only some of them, and a deliberate opt-in made
after seeing all of them, synced in every order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crmtui.server import tables as t
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.store.models import Contact
from crmtui.sync.client import SyncClient, pending_count
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    yield from make_team(request, tmp_path)


def _laptops(team: Team) -> tuple[list[tuple[Store, SyncClient]], str]:
    laptops = []
    # The second is a manager: an unplaced contact is seen by its creator and managers.
    for rep in ("ann", "max", "ann"):
        store, token = team.laptop(rep)
        laptops.append((store, team.sync_client(store, token, batch=3)))
    laptops[0][1].sync()
    with laptops[0][0].write() as tx:
        contact = create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE").id
    for _, client in laptops:
        client.sync()
    return laptops, contact


def _set(store: Store, contact: str, value: bool) -> None:
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=contact, data=ContactUpdate(do_not_call=value), region="DE"
        )


def _flag(store: Store, contact: str) -> bool:
    with store.read() as s:
        row = s.get(Contact, contact)
        assert row is not None
        return bool(row.do_not_call)


def _server_flag(team: Team, contact: str) -> str | None:
    with team.engine.connect() as conn:
        return conn.execute(
            select(t.field_state.c.value).where(
                t.field_state.c.row_id == contact, t.field_state.c.field == "do_not_call"
            )
        ).scalar()


def _everyone_syncs(laptops: list[tuple[Store, SyncClient]]) -> None:
    for _ in range(2):
        for _, client in laptops:
            client.sync()
    for store, _ in laptops:
        assert pending_count(store) == 0


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_an_opt_out_is_not_undone_by_a_concurrent_opt_out_and_back(
    team: Team, order: tuple[int, ...]
) -> None:
    laptops, contact = _laptops(team)
    (ann, _), (bob, _), (ann2, _) = laptops
    _set(ann, contact, True)  # Ann opts out...
    _set(bob, contact, True)  # ...and so does Bob, neither having seen the other,
    _set(bob, contact, False)  # who changes his mind about his own opt-out only.
    for i in order:
        laptops[i][1].sync()
    _everyone_syncs(laptops)
    assert [_flag(store, contact) for store, _ in laptops] == [True, True, True]
    assert _server_flag(team, contact) == "true"
    # Ann's second laptop has now seen every opt-out: clearing the flag is deliberate.
    _set(ann2, contact, False)
    _everyone_syncs(laptops)
    assert [_flag(store, contact) for store, _ in laptops] == [False, False, False]
    assert _server_flag(team, contact) == "false"


def test_an_opt_in_that_saw_one_of_two_opt_outs_leaves_the_other(team: Team) -> None:
    laptops, contact = _laptops(team)
    (ann, ann_sync), (bob, bob_sync), (ann2, ann2_sync) = laptops
    _set(ann, contact, True)
    ann_sync.sync()
    ann2_sync.sync()  # sees Ann's opt-out only
    _set(bob, contact, True)
    bob_sync.sync()
    _set(ann2, contact, False)  # made before Bob's opt-out reached this laptop
    ann2_sync.sync()
    _everyone_syncs(laptops)
    assert [_flag(store, contact) for store, _ in laptops] == [True, True, True]
    # Once it has pulled Bob's opt-out as well, the same laptop can clear the flag.
    _set(ann2, contact, False)
    _everyone_syncs(laptops)
    assert [_flag(store, contact) for store, _ in laptops] == [False, False, False]
