"""One mail, one activity: two laptops logging the same message keep one after sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from crmtui.formats.mail_message import parse_message
from crmtui.services.address_book.accounts import AccountCreate, create_account
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.mail_log import log_mail, mail_activity_id
from crmtui.store.database import Store
from crmtui.store.models import Activity
from crmtui.store.sync_state import SyncConflict
from crmtui.sync.client import SyncClient
from tests.sync_support import Team

MESSAGE = b"""\
From: Anna Weber <anna@example.org>
To: Ann Rep <ann@ourco.example>
Subject: Your offer
Date: Mon, 07 Dec 2026 09:15:00 +0100
Message-ID: <offer-reply-1@example.org>
Content-Type: text/plain; charset=utf-8

Thanks, we will order the blue ones.
"""


@pytest.fixture
def team(tmp_path: Path):  # type: ignore[no-untyped-def]
    t = Team(str(tmp_path / "server.db"), tmp_path)
    yield t
    t.close()


def _emails(store: Store, contact_id: str) -> list[Activity]:
    with store.read() as s:
        rows = s.exec(
            select(Activity).where(Activity.contact_id == contact_id, Activity.kind == "email")
        ).all()
        return [a for a in rows if a.deleted_at is None]


def _log(store: Store, contact_id: str) -> list[Activity]:
    with store.write() as tx:
        return log_mail(
            tx=tx,
            message=parse_message(MESSAGE),
            direction="in",
            contact_ids=[contact_id],
            cap=CallCap(),
        )


def _pair(team: Team, second_rep: str) -> tuple[Store, SyncClient, Store, SyncClient, str]:
    a, ta = team.laptop("ann", "a")
    b, tb = team.laptop(second_rep, "b")
    ca, cb = team.sync_client(a, ta), team.sync_client(b, tb)
    ca.sync()  # the territories arrive
    with a.write() as tx:
        # In North, so bob (North too) receives it.
        create_account(
            tx=tx, data=AccountCreate(name="Weber GmbH", territory_id=team.north), region="DE"
        )
        cid = create_contact(
            tx=tx,
            data=ContactCreate(name="Anna Weber", email="anna@example.org", company="Weber GmbH"),
            region="DE",
        ).id
    ca.sync()
    cb.sync()
    return a, ca, b, cb, cid


@pytest.mark.parametrize("second_rep", ["ann", "bob"])
def test_the_same_mail_logged_on_two_laptops_is_one_activity(team: Team, second_rep: str) -> None:
    a, ca, b, cb, cid = _pair(team, second_rep)
    assert len(_log(a, cid)) == 1
    assert len(_log(b, cid)) == 1  # offline: b cannot know a logged it
    for _ in range(2):
        ca.sync()
        cb.sync()
    on_a, on_b = _emails(a, cid), _emails(b, cid)
    assert (
        [x.id for x in on_a]
        == [x.id for x in on_b]
        == [mail_activity_id("<offer-reply-1@example.org>", cid)]
    )
    assert on_a[0].text == on_b[0].text
    assert on_a[0].text is not None and "Your offer" in on_a[0].text
    # Made the same on both laptops: nothing to report but the rep who logged it.
    for store in (a, b):
        with store.read() as s:
            fields = {str(r[0]) for r in s.exec(select(SyncConflict.field)).all()}
        assert fields <= ({"rep_id"} if second_rep == "bob" else set())


def test_a_mail_that_arrived_by_sync_is_not_logged_again(team: Team) -> None:
    a, ca, b, cb, cid = _pair(team, "bob")
    _log(a, cid)
    ca.sync()
    cb.sync()
    assert _log(b, cid) == []  # already on b's timeline, from a
    assert len(_emails(b, cid)) == 1


def test_an_undone_mail_may_be_logged_again_under_a_new_id(team: Team) -> None:
    a, _ca, _b, _cb, cid = _pair(team, "ann")
    first = _log(a, cid)[0]
    with a.write() as tx:
        row = tx.session.get(Activity, first.id)
        assert row is not None
        tx.delete(row)
    again = _log(a, cid)
    assert len(again) == 1 and again[0].id != first.id
    assert [x.id for x in _emails(a, cid)] == [again[0].id]
