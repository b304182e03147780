"""Team calling: claims on a shared call list. Two reps of one territory claim the same
contact offline; after sync both laptops agree who holds it, the loser is told and the
call list no longer offers it to them. Plus the rule itself and the shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtui.domain.call_claims import Claim, holder, lost
from crmtui.domain.validate import InvalidInput
from crmtui.reports.calls import CallFilter, call_queue, over_cap
from crmtui.services.address_book.contacts import ContactCreate, create_contact
from crmtui.services.consent import CallCap
from crmtui.services.follow_ups.activities import ActivityCreate, log_activity
from crmtui.services.follow_ups.call_claims import (
    claim_contacts,
    held_by_me,
    held_by_others,
    lost_claims,
    me_on,
)
from crmtui.store.database import Store
from tests.cli_commands import run
from tests.sync_support import BACKENDS, Team, make_team

T0 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LIST = CallFilter(tag="fair")


def _claim(cid: str, rep: str, minute: int, *, hours: int = 4, id_: str = "") -> Claim:
    at = T0 + timedelta(minutes=minute)
    return Claim(id_ or f"{rep}-{minute}", cid, rep, at, at + timedelta(hours=hours))


def test_the_earliest_live_claim_holds_whatever_the_order() -> None:
    ann, bob = _claim("c", "ann", 0), _claim("c", "bob", 5)
    now = T0 + timedelta(minutes=10)
    assert holder([bob, ann], now) == ann == holder([ann, bob], now)
    assert lost([ann, bob], "bob", now) == [(bob, ann)]
    assert lost([ann, bob], "ann", now) == []
    # Expired or released, a claim holds nothing: the later one holds.
    assert holder([ann, bob], T0 + timedelta(hours=4, minutes=1)) == bob
    released = Claim(ann.id, "c", "ann", ann.claimed_at, ann.expires_at, now)
    assert holder([released, bob], now) == bob
    # Same moment: the lower id, the same on every laptop.
    twin = _claim("c", "bob", 0, id_="aaa")
    assert holder([ann, twin], now) == twin


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """A server on SQLite and on PostgreSQL (skipped unless reachable)."""
    yield from make_team(request, tmp_path)


def _queue(store: Store, me: str | None, now: datetime) -> list[str]:
    with store.write() as tx:
        return [i.name for i in call_queue(tx.db, now=now, cap=CallCap(), filter=LIST, me=me)]


def _over_the_cap_offline(a: Store, b: Store, ca: Any, cb: Any, contact_id: str) -> None:
    """A cap of one call: each rep, offline, calls the contact once; neither is refused
    (neither knows the other's call). After sync the excess is reported, not hidden."""
    one = CallCap(1, 30)
    for store, rep in ((a, "ann"), (b, "bob")):
        with store.write() as tx:
            log_activity(
                tx=tx,
                data=ActivityCreate(kind="call", contact_id=contact_id, outcome="no-answer"),
                cap=one,
                rep_name=rep,
            )
    ca.sync()
    cb.sync()
    ca.sync()
    for store in (a, b):
        with store.write() as tx:
            found = over_cap(tx.db, now=datetime.now(UTC), cap=one)
        assert [(o.name, o.calls, o.reps) for o in found] == [("Anna Weber", 2, ("ann", "bob"))]


def test_two_reps_claiming_offline_converge_and_the_loser_is_told(team: Team) -> None:
    a, ta = team.laptop("ann", "ann")
    b, tb = team.laptop("bob", "bob")
    ca, cb = team.sync_client(a, ta), team.sync_client(b, tb)
    ca.sync()
    cb.sync()
    with a.write() as tx:
        ann = me_on(tx.db, "ann")
        ids = []
        for name, phone in (("Anna Weber", "+49 30 1234567"), ("Ben Ott", "+49 30 7654321")):
            contact = create_contact(
                tx=tx, data=ContactCreate(name=name, phone=phone, tags=["fair"]), region="DE"
            )
            # Placed in North: both reps' laptops receive it.
            tx.update(contact, {"territory_id": team.north})
            ids.append(contact.id)
    ca.sync()
    cb.sync()
    with b.write() as tx:
        bob = me_on(tx.db, "bob")
    assert ann and bob and ann != bob
    now = datetime.now(UTC)
    assert _queue(b, bob, now) == ["Anna Weber", "Ben Ott"]

    # Offline: ann claims both, then bob claims Anna Weber a minute later.
    with a.write() as tx:
        mine, taken = claim_contacts(tx=tx, contact_ids=ids, me=ann, hours=4)
        assert (mine, taken) == (ids, [])
    with b.write() as tx:
        tx.now = tx.now + timedelta(minutes=1)
        assert claim_contacts(tx=tx, contact_ids=ids[:1], me=bob, hours=4) == (ids[:1], [])
    assert _queue(b, bob, now) == ["Anna Weber", "Ben Ott"]  # bob knows nothing yet

    ca.sync()
    cb.sync()
    ca.sync()
    later = now + timedelta(minutes=2)
    for store in (a, b):
        with store.write() as tx:
            assert set(held_by_me(tx.db, ann, later)) == set(ids)
            assert set(held_by_others(tx.db, bob, later)) == set(ids)
    with b.write() as tx:
        told = lost_claims(tx.db, bob, later)
    assert [(m.rep_id, w.rep_id, m.contact_id) for m, w in told] == [(bob, ann, ids[0])]
    # Bob's call list leaves out both of ann's contacts; ann's starts with them.
    assert _queue(b, bob, later) == []
    assert _queue(a, ann, later) == ["Anna Weber", "Ben Ott"]
    with b.write() as tx:
        tx.now = later
        assert claim_contacts(tx=tx, contact_ids=ids[1:], me=bob, hours=4) == ([], ids[1:])

    # Ann's call ends her claim on Ben Ott; after sync bob may take him.
    with a.write() as tx:
        log_activity(
            tx=tx,
            data=ActivityCreate(kind="call", contact_id=ids[1], outcome="connected"),
            cap=CallCap(),
            rep_name="ann",
        )
    ca.sync()
    cb.sync()
    with b.write() as tx:
        assert ids[1] not in held_by_others(tx.db, bob, later)

    _over_the_cap_offline(a, b, ca, cb, ids[0])


def test_a_claim_is_bounded_and_the_shell_claims_lists_and_releases(tmp_path: Path) -> None:
    db = str(tmp_path / "crm.db")

    def crm(*args: str, code: int = 0) -> tuple[str, str]:
        ran = run([*args, "--db", db])
        assert ran.error is None, ran.error
        assert ran.code == code, (ran.code, ran.out, ran.err)
        return ran.out, ran.err

    crm("db", "upgrade")
    crm("contact", "add", "Anna Weber", "--tag", "fair", "--phone", "+49 30 1234567")
    crm("contact", "add", "Ben Ott", "--tag", "fair", "--phone", "+49 30 7654321")
    _, err = crm("calls", "--tag", "fair", "--claim", "--hours", "30", code=2)
    assert "at most 24 hours" in err
    out, err = crm("calls", "--tag", "fair", "--claim", "--hours", "2", "--format", "json")
    assert "claimed 2 contact(s) for 2 h" in err
    assert all(item["claimed"] for item in json.loads(out))
    out, _ = crm("claims", "list", "--format", "json")
    assert sorted((r["contact"], r["state"]) for r in json.loads(out)) == [
        ("Anna Weber", "held"),
        ("Ben Ott", "held"),
    ]
    _, err = crm("claims", "release", "anna")
    assert "released 1 claim(s)" in err
    out, _ = crm("claims", "list", "--format", "json")
    assert [r["contact"] for r in json.loads(out)] == ["Ben Ott"]


def test_hours_out_of_range_are_refused(store: Store) -> None:
    with store.write() as tx, pytest.raises(InvalidInput, match="at most 24 hours"):
        claim_contacts(tx=tx, contact_ids=[], me=None, hours=0)


def test_calling_hours_hold_in_the_contacts_own_zone() -> None:
    from datetime import time

    from crmtui.domain.calling_hours import number_zones, parse_hours, within

    hours = parse_hours("09:00-18:00")
    assert hours == (time(9), time(18))
    seattle, berlin = number_zones("+12066791295"), number_zones("+493012345678")
    assert [z.key for z in seattle] == ["America/Los_Angeles"]
    noon_utc = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 13:00 in Berlin, 05:00 in Seattle
    assert within(noon_utc, berlin, hours) and not within(noon_utc, seattle, hours)
    with pytest.raises(ValueError, match="must start before it ends"):
        parse_hours("18:00-09:00")
    with pytest.raises(ValueError, match="must be HH:MM-HH:MM"):
        parse_hours("9 to 5")


def test_the_shell_offers_only_contacts_within_their_calling_hours(
    tmp_path: Path, fixed_day: None
) -> None:
    """On a fixed afternoon: the window is built from the hour read here, and at 23:59 the
    command, reading the clock again, found itself past the window on the next day."""
    import os

    db = str(tmp_path / "crm.db")
    for args in (
        ["db", "upgrade"],
        ["contact", "add", "Anna Weber", "--tag", "fair", "--phone", "+49 30 1234567"],
        ["contact", "add", "Sam Reed", "--tag", "fair", "--phone", "+1 206 679 1295"],
    ):
        assert run([*args, "--db", db]).code == 0
    config = Path(os.environ["CRMTUI_CONFIG"])
    # Three hours around Berlin's hour now: Seattle, nine hours behind, is outside them.
    hour = datetime.now(ZoneInfo("Europe/Berlin")).hour
    config.write_text(f'calling_hours = "{max(hour - 1, 0):02d}:00-{min(hour + 1, 23):02d}:59"\n')
    ran = run(["calls", "--tag", "fair", "--format", "json", "--db", db])
    assert [item["name"] for item in json.loads(ran.out)] == ["Anna Weber"]
    config.write_text('calling_hours = "18:00-09:00"\n')
    ran = run(["calls", "--db", db])
    assert ran.code == 2 and "calling_hours must start before it ends" in ran.err


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2"]),
            st.sampled_from(["ann", "bob", "sue"]),
            st.integers(0, 30),
            st.integers(1, 5),
        ),
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_every_laptop_picks_the_same_holder_whatever_order_it_holds_the_claims(
    raw: list[tuple[str, str, int, int]], rng: Any
) -> None:
    claims = [
        _claim(cid, rep, minute, hours=hours, id_=f"{n:02d}")
        for n, (cid, rep, minute, hours) in enumerate(raw)
    ]
    now = T0 + timedelta(minutes=45)
    shuffled = list(claims)
    rng.shuffle(shuffled)
    for cid in ("c1", "c2"):
        mine = [c for c in claims if c.contact_id == cid]
        assert holder(mine, now) == holder([c for c in shuffled if c.contact_id == cid], now)
    for rep in ("ann", "bob", "sue"):
        told = lost(claims, rep, now)
        assert told == lost(shuffled, rep, now)
        # A rep is told about a contact only when another rep's live claim holds it.
        assert all(w.rep_id != rep and w.live(now) and m.rep_id == rep for m, w in told)
