"""UUIDv7 ids and hybrid logical clock readings."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from crmtui.domain.hlc import HLC, receive, tick
from crmtui.domain.ids import is_uuid, uuid7


def test_uuid7_is_a_version_7_rfc_uuid() -> None:
    value = uuid.UUID(uuid7())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_sorts_in_creation_order_even_within_a_millisecond() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_is_uuid() -> None:
    assert is_uuid(uuid7())
    assert not is_uuid("smith")
    assert not is_uuid("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz")


@given(st.integers(0, 10**13 - 1), st.integers(0, 99_999))
def test_hlc_round_trips_and_sorts_as_text(millis: int, counter: int) -> None:
    h = HLC(millis, counter)
    assert HLC.decode(h.encode()) == h
    later = tick(h, millis)
    assert later > h
    assert later.encode() > h.encode()


def test_tick_follows_the_wall_clock_and_never_goes_back() -> None:
    assert tick(None, 1000) == HLC(1000, 0)
    assert tick(HLC(1000, 0), 2000) == HLC(2000, 0)
    assert tick(HLC(5000, 3), 2000) == HLC(5000, 4)  # clock went backwards


@given(
    st.builds(HLC, st.integers(0, 10**12), st.integers(0, 1000)),
    st.builds(HLC, st.integers(0, 10**12), st.integers(0, 1000)),
    st.integers(0, 10**12),
)
def test_receive_is_after_both_local_and_remote(last: HLC, remote: HLC, now: int) -> None:
    after = receive(last, remote, now)
    assert after > last
    assert after > remote
