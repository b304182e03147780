"""The merge function: every delivery order that keeps each device's own order converges."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.store.hlc import HLC
from crmtui.sync.merge import (
    MAX_CLOCK_SKEW_MS,
    Incoming,
    RowState,
    Version,
    clamp,
    decide,
)

BASE = Version('"start"', HLC(1000, 0).encode(), "dev-0")
FIELDS = {
    "deal": ["amount_minor", "name"],
    "contact": ["do_not_call", "city"],
    "activity": ["text"],
}
WITHOUT_CONSENT = {
    "deal": ["amount_minor", "name"],
    "contact": ["city", "name"],
    "activity": ["text"],
}


def _replay(ops: list[Incoming]) -> tuple[bool, dict[str, Version]]:
    """Apply ops in order to one row; return (deleted, field versions)."""
    deleted = False
    fields: dict[str, Version] = {}
    received: list[Incoming] = []
    for op in ops:
        current = fields.get(op.field or "", BASE if op.field else None)
        others = max((o.hlc for o in received if o.device_id != op.device_id), default=None)
        d = decide(op, RowState(exists=True, deleted=deleted, others_hlc=others), current)
        if op.op == "set":
            received.append(op)
        if d.write_field and op.field:
            fields[op.field] = Version(op.value, op.hlc, op.device_id)
        if d.delete_row:
            deleted = True
        if d.undelete_row:
            deleted = False
    return deleted, dict(sorted(fields.items()))


@st.composite
def offline_edits(
    draw: st.DrawFn, fields: dict[str, list[str]] = FIELDS
) -> tuple[str, list[list[Incoming]]]:
    """Devices editing one record offline, each from the same starting state."""
    entity = draw(st.sampled_from(sorted(fields)))
    per_device: list[list[Incoming]] = []
    for n in range(draw(st.integers(2, 4))):
        device = f"dev-{n + 1}"
        seen: dict[str, str] = {}
        ops: list[Incoming] = []
        clock = draw(st.integers(1001, 1010))
        for _ in range(draw(st.integers(1, 4))):
            clock += draw(st.integers(0, 3))
            hlc = HLC(clock, len(ops)).encode()
            if draw(st.booleans()) and draw(st.booleans()):
                # Its base: the newest version it synced (nothing since going offline).
                ops.append(Incoming(entity, "delete", None, None, hlc, device, BASE.hlc))
                break  # the services do not edit a deleted record
            name = draw(st.sampled_from(fields[entity]))
            value = draw(
                st.sampled_from(["true", "false"] if name == "do_not_call" else ["1", "2", '"x"'])
            )
            base_device = device if name in seen else BASE.device_id
            ops.append(
                Incoming(
                    entity, "set", name, value, hlc, device, seen.get(name, BASE.hlc), base_device
                )
            )
            seen[name] = hlc
        per_device.append(ops)
    return entity, per_device


def _interleave(rng: random.Random, streams: list[list[Incoming]]) -> list[Incoming]:
    queues = [list(s) for s in streams if s]
    out: list[Incoming] = []
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        queues = [q for q in queues if q]
    return out


@settings(max_examples=400, deadline=None)
@given(offline_edits(WITHOUT_CONSENT), st.randoms(use_true_random=False))
def test_any_delivery_order_converges(
    edits: tuple[str, list[list[Incoming]]], rng: random.Random
) -> None:
    _entity, streams = edits
    results = {repr(_replay(_interleave(rng, streams))) for _ in range(6)}
    assert len(results) == 1, results


@pytest.mark.xfail(
    strict=True,
    reason="known gap: a device that opts out then opts in, concurrent with another device's "
    "opt-out, converges to different values by delivery order (one version per field "
    "cannot record two concurrent opt-outs); see docs/sync.md",
)
@settings(max_examples=400, deadline=None)
@given(offline_edits(FIELDS), st.randoms(use_true_random=False))
def test_any_delivery_order_converges_with_consent_fields(
    edits: tuple[str, list[list[Incoming]]], rng: random.Random
) -> None:
    _entity, streams = edits
    results = {repr(_replay(_interleave(rng, streams))) for _ in range(6)}
    assert len(results) == 1, results


@settings(max_examples=200, deadline=None)
@given(offline_edits(), st.randoms(use_true_random=False))
def test_delete_wins_for_activities_and_contacts_come_back(
    edits: tuple[str, list[list[Incoming]]], rng: random.Random
) -> None:
    entity, streams = edits
    deleted, _ = _replay(_interleave(rng, streams))
    deleters = {op.device_id for s in streams for op in s if op.op == "delete"}
    edited_elsewhere = any(
        op.op == "set" and op.device_id not in deleters for s in streams for op in s
    )
    if entity == "activity":
        assert deleted == bool(deleters)
    elif edited_elsewhere:
        # An edit on a device that did not delete, concurrent with the delete, keeps it.
        assert not deleted
    elif deleters and not any(op.op == "set" for s in streams for op in s):
        assert deleted


def test_an_opt_out_is_never_undone_by_a_concurrent_opt_in() -> None:
    opt_out = Incoming(
        "contact", "set", "do_not_call", "true", HLC(1001, 0).encode(), "dev-1", BASE.hlc
    )
    later_opt_in = Incoming(
        "contact", "set", "do_not_call", "false", HLC(5000, 0).encode(), "dev-2", BASE.hlc
    )
    for order in ([opt_out, later_opt_in], [later_opt_in, opt_out]):
        _, fields = _replay(order)
        assert fields["do_not_call"].value == "true"
    # An opt-in made after seeing the opt-out is a deliberate change.
    informed = Incoming(
        "contact", "set", "do_not_call", "false", HLC(5000, 0).encode(), "dev-2", opt_out.hlc
    )
    assert _replay([opt_out, informed])[1]["do_not_call"].value == "false"


def test_concurrent_amounts_conflict_and_sequential_ones_do_not() -> None:
    a = Incoming("deal", "set", "amount_minor", "1", HLC(1001, 0).encode(), "dev-1", BASE.hlc)
    b = Incoming("deal", "set", "amount_minor", "2", HLC(1002, 0).encode(), "dev-2", BASE.hlc)
    cur = Version(a.value, a.hlc, a.device_id)
    assert decide(b, RowState(exists=True), cur).conflict
    informed = Incoming("deal", "set", "amount_minor", "2", HLC(1002, 0).encode(), "dev-2", a.hlc)
    assert not decide(informed, RowState(exists=True), cur).conflict
    name = Incoming("deal", "set", "name", '"n"', HLC(1002, 0).encode(), "dev-2", BASE.hlc)
    assert decide(name, RowState(exists=True), Version('"m"', a.hlc, "dev-1")).status == "applied"


def test_a_clock_a_year_ahead_is_clamped_and_stays_ordered() -> None:
    now = 1_800_000_000_000
    year = 365 * 24 * 3600 * 1000
    first = clamp(HLC(now + year, 0).encode(), now)
    second = clamp(HLC(now + year, 1).encode(), now, first)
    assert HLC.decode(first).millis == now + MAX_CLOCK_SKEW_MS
    assert second > first
    assert clamp(HLC(now + 1000, 0).encode(), now) == HLC(now + 1000, 0).encode()
