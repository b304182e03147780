"""Owners that sync: a rep has one identity on the server and on every laptop (issue #14).

The server publishes its reps as `rep` records whose id is the server's rep id,
so an owner named on one laptop is the same rep on another laptop and on the
server, and an activity logged on a laptop is stamped with that rep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crmtui.server import admin
from crmtui.server import tables as t
from crmtui.server.db import make_server_engine, upgrade_server
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.sales.deals import DealCreate, DealUpdate, create_deal, update_deal
from crmtui.services.territories import ENROLLED_REP_ID_KEY, RepCreate, create_rep, find_rep
from crmtui.store.models import Activity, Deal, Rep
from tests.sync_support import BACKENDS, Team, make_team


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


def _server_rep(team: Team, name: str) -> str:
    return next(str(r["id"]) for r in admin.reps(team.engine) if r["name"] == name)


def test_a_deal_owner_is_the_same_rep_everywhere(team: Team) -> None:
    ann, ann_token = team.laptop("ann")
    bob, bob_token = team.laptop("bob")
    ann_sync = team.sync_client(ann, ann_token)
    bob_sync = team.sync_client(bob, bob_token)
    ann_sync.sync()
    bob_sync.sync()
    bob_id = _server_rep(team, "bob")
    with ann.write() as tx:
        assert find_rep(tx, "bob").id == bob_id  # published by the server
        deal = create_deal(
            tx=tx, data=DealCreate(name="Big", territory_id=team.north, owner_id=bob_id)
        ).id
    report = ann_sync.sync()
    assert report.rejected == 0, report.reasons
    bob_sync.sync()
    with bob.read() as s:
        assert s.get(Deal, deal).owner_id == bob_id  # type: ignore[union-attr]
    with team.engine.connect() as conn:
        owner = conn.execute(
            select(t.row_scope.c.owner_id).where(t.row_scope.c.row_id == deal)
        ).scalar()
    assert owner == bob_id
    # Bob hands it to Ann; Ann's laptop shows her as the owner.
    ann_id = _server_rep(team, "ann")
    with bob.write() as tx:
        update_deal(tx=tx, deal_id=deal, data=DealUpdate(owner_id=ann_id))
    assert bob_sync.sync().applied >= 1
    ann_sync.sync()
    with ann.read() as s:
        assert s.get(Deal, deal).owner_id == ann_id  # type: ignore[union-attr]


def test_renames_and_roles_reach_the_laptops(team: Team) -> None:
    ann, ann_token = team.laptop("ann")
    ann_sync = team.sync_client(ann, ann_token)
    ann_sync.sync()
    admin.rename_rep(team.engine, "bob", "robert")
    admin.set_role(team.engine, "robert", "manager")
    ann_sync.sync()
    with ann.read() as s:
        bob = s.get(Rep, _server_rep(team, "robert"))
    assert bob is not None and (bob.name, bob.role) == ("robert", "manager")


def test_an_activity_is_stamped_with_the_enrolled_rep(team: Team) -> None:
    ann, ann_token = team.laptop("ann")
    ann_sync = team.sync_client(ann, ann_token)
    ann_sync.sync()
    with ann.write() as tx:
        # A rep record of this laptop's own with the same name (made before enrolment).
        create_rep(tx=tx, data=RepCreate(name="ann"))
        tx._set_meta(ENROLLED_REP_ID_KEY, _server_rep(team, "ann"))  # as `crm sync login` does
        jo = create_contact(tx=tx, data=ContactCreate(name="Jo"), region="DE")
        note, _ = log_activity(
            tx=tx, data=ActivityCreate(kind="note", text="hi", contact_id=jo.id), cap=CallCap(3, 30)
        )
    report = ann_sync.sync()
    # Only the laptop's own rep record is refused (reps are the server's); the note is not.
    assert report.rejected and all(r.startswith("rep ") for r in report.reasons), report.reasons
    with ann.read() as s:
        assert s.get(Activity, note.id).rep_id == _server_rep(team, "ann")  # type: ignore[union-attr]


def test_reps_made_before_the_upgrade_are_published(tmp_path: Path) -> None:
    """s0005: the reps of a server from before reps were published get their records."""
    engine = make_server_engine(str(tmp_path / "old.db"))
    upgrade_server(engine, "s0003_feed_log")
    with engine.begin() as conn:  # as `add-rep` made them then: no record, no feed entry
        conn.execute(t.rep.insert().values(id="r-ann", name="ann", role="rep", created_at="x"))
        conn.execute(t.counter.update().values(value=7))
    upgrade_server(engine)
    with engine.connect() as conn:
        feed = conn.execute(
            select(t.change.c.seq, t.change.c.kind, t.change.c.field, t.change.c.value)
        ).all()
        scope = conn.execute(select(t.row_scope.c.entity, t.row_scope.c.row_id)).all()
    assert [tuple(r) for r in feed] == [
        (8, "create", None, None),
        (9, "set", "name", '"ann"'),
        (10, "set", "role", '"rep"'),
    ]
    assert [tuple(r) for r in scope] == [("rep", "r-ann")]
    engine.dispose()
