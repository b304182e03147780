"""The merge function: every delivery order that keeps each device's own order converges."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.domain.hlc import HLC
from crmtui.sync.merge import (
    MAX_CLOCK_SKEW_MS,
    SERVER_DEVICE,
    ConsentState,
    Incoming,
    RowState,
    Version,
    clamp,
    decide,
    is_consent,
)
from tests.budget import examples

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


def _replay(ops: list[Incoming]) -> tuple[bool, dict[str, object]]:
    """Apply ops in order to one row, as the server does; return (deleted, fields).

    A plain field is its version; a consent field is its value and the opt-outs
    standing (the version the server publishes for it is a fresh one of its own,
    made here from a counter as the server makes it from its clock).
    """
    deleted = False
    fields: dict[str, Version] = {}
    consent: dict[str, ConsentState] = {}
    received: list[Incoming] = []
    for n, op in enumerate(ops):
        name = op.field or ""
        current = fields.get(name, BASE if op.field else None)
        state = consent.get(name, ConsentState.from_version(current))
        others = max((o.hlc for o in received if o.device_id != op.device_id), default=None)
        row = RowState(exists=True, deleted=deleted, others_hlc=others)
        d = decide(op, row, current, state if is_consent(op.entity, op.field) else None)
        if op.op == "set":
            received.append(op)
        if d.consent is not None:
            consent[name] = d.consent
            if d.write_field and d.consent.named_by(op):
                fields[name] = Version(op.value, op.hlc, op.device_id)
            elif d.write_field:
                published = Version(d.consent.value, HLC(9000, n).encode(), SERVER_DEVICE)
                fields[name] = published
                consent[name] = d.consent.published(published.key())
        elif d.write_field and op.field:
            fields[op.field] = Version(op.value, op.hlc, op.device_id)
        if d.delete_row:
            deleted = True
        if d.undelete_row:
            deleted = False
    shown: dict[str, object] = {}
    for name, version in sorted(fields.items()):
        if name in consent:
            shown[name] = (version.value, sorted(consent[name].live))
        else:
            shown[name] = version
    return deleted, shown


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


@settings(max_examples=examples(400), deadline=None)
@given(offline_edits(WITHOUT_CONSENT), st.randoms(use_true_random=False))
def test_any_delivery_order_converges(
    edits: tuple[str, list[list[Incoming]]], rng: random.Random
) -> None:
    _entity, streams = edits
    results = {repr(_replay(_interleave(rng, streams))) for _ in range(6)}
    assert len(results) == 1, results


@settings(max_examples=examples(400), deadline=None)
@given(offline_edits(FIELDS), st.randoms(use_true_random=False))
def test_any_delivery_order_converges_with_consent_fields(
    edits: tuple[str, list[list[Incoming]]], rng: random.Random
) -> None:
    _entity, streams = edits
    results = {repr(_replay(_interleave(rng, streams))) for _ in range(6)}
    assert len(results) == 1, results
    # Disable wins: each device saw only its own ops, so the flag is set exactly when
    # some device's last word on it was an opt-out.
    last = {}
    for stream in streams:
        for op in stream:
            if op.field == "do_not_call":
                last[op.device_id] = op.value
    if last:
        fields = _replay(_interleave(rng, streams))[1]
        assert fields["do_not_call"][0] == ("true" if "true" in last.values() else "false")  # type: ignore[index]


def _opt(device: str, ms: int, value: str, base: Version | Incoming | None = None) -> Incoming:
    """A do_not_call op of `device` at `ms`, made on top of version `base`."""
    if isinstance(base, Incoming):
        base_hlc, base_device = base.hlc, base.device_id
    else:
        base_hlc, base_device = (base or BASE).hlc, (base or BASE).device_id
    hlc = HLC(ms, 0).encode()
    return Incoming("contact", "set", "do_not_call", value, hlc, device, base_hlc, base_device)


def _published(ops: list[Incoming]) -> tuple[Version, ConsentState]:
    """The field a device pulls after the server merged `ops` in order, and its state."""
    state = ConsentState()
    current: Version | None = BASE
    for n, op in enumerate(ops):
        d = decide(op, RowState(exists=True), current, state)
        assert d.consent is not None
        state = d.consent
        if d.write_field and state.named_by(op):
            current = Version(op.value, op.hlc, op.device_id)
        elif d.write_field:
            current = Version(state.value, HLC(9000, n).encode(), SERVER_DEVICE)
            state = state.published(current.key())
    assert current is not None
    return current, state


def test_an_opt_in_after_seeing_every_opt_out_re_enables() -> None:
    a, b = _opt("dev-1", 1001, "true"), _opt("dev-2", 1002, "true")
    pulled, state = _published([a, b])
    assert pulled.value == "true"
    # dev-3 pulled the merged state (both opt-outs) and clears the flag on purpose.
    informed = _opt("dev-3", 1003, "false", pulled)
    d = decide(informed, RowState(exists=True), pulled, state)
    assert d.status == "applied" and d.consent is not None and d.consent.value == "false"
    # dev-3 had seen only dev-1's opt-out (pulled before dev-2's reached the server).
    seen_one, _ = _published([a])
    _, state = _published([a, b])
    partial = _opt("dev-3", 1003, "false", seen_one)
    d = decide(partial, RowState(exists=True), pulled, state)
    assert d.status == "superseded" and d.consent is not None
    assert d.consent.live == {(b.hlc, "dev-2")}


def test_an_own_opt_out_does_not_let_its_device_cancel_others_unseen() -> None:
    a = _opt("dev-1", 1001, "true")
    mine = _opt("dev-2", 1002, "true")
    # dev-2 pushed its opt-out (answered applied, so its base is its own op) without
    # pulling dev-1's, then opts back in: only its own opt-out is cancelled.
    back_in = _opt("dev-2", 1003, "false", mine)
    for order in ([a, mine, back_in], [mine, a, back_in], [mine, back_in, a]):
        _, state = _published(order)
        assert state.live == {(a.hlc, "dev-1")}, order
    # A state stored before states were kept: a plain "true" version still counts.
    legacy = Version("true", a.hlc, "dev-1")
    state = ConsentState.from_version(legacy)
    d = decide(_opt("dev-2", 1004, "false", legacy), RowState(exists=True), legacy, state)
    assert d.consent is not None and d.consent.value == "false"
    assert ConsentState.loads(state.dumps()) == state


@settings(max_examples=examples(200), deadline=None)
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
        assert fields["do_not_call"] == ("true", [(opt_out.hlc, "dev-1")])
    # An opt-in made after seeing the opt-out is a deliberate change.
    informed = Incoming(
        "contact", "set", "do_not_call", "false", HLC(5000, 0).encode(), "dev-2", opt_out.hlc
    )
    assert _replay([opt_out, informed])[1]["do_not_call"] == ("false", [])


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
