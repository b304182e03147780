"""The HLC recovers from a one-time clock jump: once the server clamps the laptop's
ops, the laptop stops stamping the future (issue #14)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from crmtui.domain.hlc import HLC
from crmtui.services.address_book.contacts import (
    ContactCreate,
    ContactUpdate,
    create_contact,
    update_contact,
)
from crmtui.store import journal
from crmtui.sync.merge import MAX_CLOCK_SKEW_MS
from tests.sync_support import BACKENDS, Team, make_team

YEAR_MS = 365 * 24 * 3600 * 1000


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """The server on SQLite and on PostgreSQL."""
    yield from make_team(request, tmp_path)


def _last_city_hlc(path: Path, row_id: str) -> HLC:
    db = sqlite3.connect(path)
    try:
        (hlc,) = db.execute(  # the newest edit, by when it was written
            "SELECT hlc FROM journal WHERE row_id = ? AND field = 'city' ORDER BY rowid DESC",
            (row_id,),
        ).fetchone()
    finally:
        db.close()
    return HLC.decode(hlc)


def test_a_laptop_stops_stamping_the_future_after_a_clock_jump(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, ann_token = team.laptop("ann")
    bob, bob_token = team.laptop("bob")
    team.sync_client(ann, ann_token).sync()  # the territories
    with ann.write() as tx:
        jane = create_contact(tx=tx, data=ContactCreate(name="Jane"), region="DE")
        tx.update(jane, {"territory_id": team.north})  # seen by bob too
    # Once, ann's clock runs a year ahead while she edits.
    ahead = SimpleNamespace(time_ns=lambda: time.time_ns() + YEAR_MS * 1_000_000)
    with monkeypatch.context() as m:
        m.setattr(journal, "time", ahead)
        with ann.write() as tx:
            update_contact(tx=tx, contact_id=jane.id, data=ContactUpdate(city="Leeds"), region="DE")
    assert _last_city_hlc(ann.path, jane.id).millis > time.time_ns() // 1_000_000 + YEAR_MS // 2
    team.sync_client(ann, ann_token).sync()
    # The clock is right again; her next edit is stamped near the server's clock,
    # not a year ahead (at most the server's clamp, MAX_CLOCK_SKEW_MS, ahead).
    with ann.write() as tx:
        update_contact(tx=tx, contact_id=jane.id, data=ContactUpdate(city="York"), region="DE")
    now_ms = time.time_ns() // 1_000_000
    assert _last_city_hlc(ann.path, jane.id).millis <= now_ms + MAX_CLOCK_SKEW_MS
    team.sync_client(ann, ann_token).sync()
    # Bob, who has seen her edit, changes it: his value wins everywhere.
    team.sync_client(bob, bob_token).sync()
    with bob.write() as tx:
        update_contact(tx=tx, contact_id=jane.id, data=ContactUpdate(city="Hull"), region="DE")
    team.sync_client(bob, bob_token).sync()
    team.sync_client(ann, ann_token).sync()
    with ann.read() as a, bob.read() as b:
        from crmtui.store.models import Contact

        mine, theirs = a.get(Contact, jane.id), b.get(Contact, jane.id)
        assert mine is not None and theirs is not None
        assert mine.city == theirs.city == "Hull"
