"""The push body the client writes by hand is the `PushRequest` pydantic would write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    delete_contact,
    update_contact,
)
from crmtui.store.database import Store
from crmtui.sync.client import SyncReport, device_id, pending_batch, pending_ops, push_body
from crmtui.sync.wire import Op, PushRequest
from tests.sync_support import Team, make_team


@pytest.fixture(params=["sqlite"])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    yield from make_team(request, tmp_path)


def _edit_after_a_sync(team: Team) -> tuple[Store, str]:
    """A laptop with synced fields (so ops carry bases) and new edits, a delete, odd text."""
    store, token = team.laptop("ann")
    with store.write() as tx:
        kept = create_contact(
            tx=tx, data=ContactCreate(name='Zoë "Q" O\'Neil', city="Köln"), region="DE"
        )
        gone = create_contact(tx=tx, data=ContactCreate(name="Gone Soon"), region="DE")
    team.sync_client(store, token).sync()
    with store.write() as tx:
        update_contact(
            tx=tx, contact_id=kept.id, data=ContactUpdate(city='Zürich \\ "tab"\t'), region="DE"
        )
        update_contact(tx=tx, contact_id=kept.id, data=ContactUpdate(city="Bern"), region="DE")
        delete_contact(tx=tx, contact_id=gone.id)
        create_contact(tx=tx, data=ContactCreate(name="新しい 人", email="a@b.de"), region="DE")
    return store, token


def test_hand_written_body_parses_to_the_same_request(team: Team) -> None:
    store, _ = _edit_after_a_sync(team)
    me = device_id(store)
    batch = pending_batch(store)
    assert any(op.base_hlc for op in batch), "the edits after a sync must carry bases"
    assert {op.op for op in batch} == {"create", "set", "delete"}
    resolved = ["0190a5f0-0000-7000-8000-000000000001"]
    expected = PushRequest(device_id=me, ops=pending_ops(store), resolved_conflicts=resolved)
    assert PushRequest.model_validate_json(push_body(me, batch, resolved)) == expected


def test_a_second_edit_of_a_field_names_the_first_as_its_base(team: Team) -> None:
    store, _ = _edit_after_a_sync(team)
    me = device_id(store)
    cities = [op for op in pending_ops(store) if (op.entity, op.field) == ("contact", "city")]
    first, second = cities[0], cities[1]
    assert first.base_hlc is not None and first.base_device == me  # synced from our own push
    assert (second.base_hlc, second.base_device) == (first.hlc, me)


def test_pushing_the_hand_written_body_applies_every_op(team: Team) -> None:
    store, token = _edit_after_a_sync(team)
    count = len(pending_ops(store))
    report = SyncReport()
    team.sync_client(store, token).push(report)
    assert (report.pushed, report.rejected, report.conflicts) == (count, 0, 0)
    assert report.applied == count
    assert pending_ops(store) == []


def test_op_fields_match_the_pending_tuple() -> None:
    # The hand-written body relies on PendingOp having exactly Op's fields, in any order.
    from crmtui.sync.client import PendingOp

    assert set(PendingOp._fields) == set(Op.model_fields)
