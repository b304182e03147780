"""Batch-made ids and clock readings (used by bulk imports) equal the one-at-a-time forms."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from crmtui.domain.hlc import _COUNTER_MAX as COUNTER_MAX
from crmtui.domain.hlc import HLC
from crmtui.store.bulk import _uuid7_run, uuid7_batch
from crmtui.store.database import open_store

_LOW62 = (1 << 62) - 1


def _field_by_field(ms: int, rand: int, count: int) -> list[str]:
    """RFC 9562 layout: 48-bit ms, version 7, 12 bits rand_a, variant 0b10, 62 bits rand_b."""
    out = []
    for i in range(count):
        r = rand + i
        value = (ms << 80) | (0x7 << 76) | ((r >> 62) << 64) | (0b10 << 62) | (r & _LOW62)
        out.append(str(uuid.UUID(int=value)))
    return out


@given(
    st.integers(0, (1 << 48) - 1),
    st.integers(0, (1 << 73) - 1)
    | st.integers(0, 4095).map(lambda a: (a << 62) | _LOW62 - 3)
    | st.integers(0, (1 << 26) - 1).map(lambda a: (a << 48) | (1 << 48) - 4),  # 4th group
    st.integers(0, 12),
)
def test_batch_ids_are_the_rfc_layout_across_a_rand_b_wrap(ms: int, rand: int, count: int) -> None:
    assert _uuid7_run(ms, rand, count) == _field_by_field(ms, rand, count)


def test_batch_ids_are_increasing_uuid7() -> None:
    ids = uuid7_batch(1000)
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    assert uuid7_batch(0) == []


def test_batch_clock_readings_equal_ticks_and_carry(tmp_path: Path) -> None:
    from crmtui.store.migrate import upgrade

    upgrade(tmp_path / "c.db")
    store = open_store(tmp_path / "c.db")
    with store.write() as tx:
        tx.next_hlc()
        # Just short of a full counter: the batch must carry into the next millisecond.
        assert tx._clock is not None
        tx._clock = HLC(tx._clock.millis + 10_000, COUNTER_MAX - 2)
        start = tx._clock
        readings = tx.next_hlcs(6)
        expected = []
        millis, counter = start.millis, start.counter
        for _ in range(6):
            counter += 1
            if counter > COUNTER_MAX:
                millis, counter = millis + 1, 0
            expected.append(HLC(millis, counter).encode())
        assert readings == expected
        assert tx._clock == HLC.decode(readings[-1])
        assert tx.next_hlc() > readings[-1]
    store.close()
