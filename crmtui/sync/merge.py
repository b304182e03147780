"""The merge rules: one pure function that both the server and the client call.

`decide` looks at one incoming operation and the current state of its row and
field, and says what happens. It never reads a clock or a database, so the same
inputs give the same answer on every replica, which is what makes them converge.

Rules (DESIGN.md, "The journal and sync contract"):

- per field, the later HLC wins; equal HLCs are ordered by device id;
- high-stakes deal fields edited *concurrently* by two devices become a conflict:
  the later value stands for now and both values are kept for a person to pick.
  Concurrent means the incoming op's `base_hlc` (the HLC of the value it
  overwrote on its device) differs from the current HLC of the field: the device
  had not seen the value it is replacing;
- consent fields are a disable-wins flag (`merge_consent`): the state keeps the
  opt-outs (`true`) not yet cancelled, an opt-in cancels exactly the opt-outs its
  device had observed, and the value is `true` while any opt-out stands. An
  opt-out is never undone by an older or concurrent opt-in; an opt-in made after
  seeing every opt-out re-enables. The result depends on the set of ops, not on
  the order they arrive in;
- activities (and every entity other than contacts and deals): delete wins;
- contacts and deals: an edit arriving for a deleted record brings it back and
  flags it, and a delete that had not seen the latest edit leaves the record in
  place, flagged, rather than throwing that edit away.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from crmtui.domain.hlc import HLC, tick

MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
"""How far ahead of the server's clock an op's HLC may be before it is clamped.

Five minutes absorbs ordinary drift between laptops; a device whose clock is a
year ahead wins ties against edits made within five minutes of it, never more.
"""

HIGH_STAKES: dict[str, frozenset[str]] = {
    "deal": frozenset({"amount_minor", "stage_id", "expected_close", "status"}),
}
CONSENT: dict[str, frozenset[str]] = {
    "contact": frozenset({"do_not_call", "do_not_email"}),
}
RESURRECTING = frozenset({"contact", "deal"})
"""Entities where an edit concurrent with a delete brings the record back."""

Status = Literal["applied", "superseded", "conflict", "rejected"]
SERVER_DEVICE = "server"
"""The device named on a consent field's merged state: the server made that version."""

Key = tuple[str, str]
"""A version's (HLC, device): names an op, or a merged consent state the server made."""


@dataclass(frozen=True)
class Version:
    """A field's value with the clock reading and device that set it."""

    value: str | None
    hlc: str
    device_id: str

    def key(self) -> tuple[str, str]:
        """Total order of versions: HLC, then device id."""
        return (self.hlc, self.device_id)


@dataclass(frozen=True)
class RowState:
    """What a replica knows about a row: does it exist, is it deleted, when last changed."""

    exists: bool = False
    deleted: bool = False
    others_hlc: str | None = None
    """The highest HLC of any field edit of the row received from another device than
    the incoming op's (applied or not); a delete whose base is older had not seen it."""


@dataclass(frozen=True)
class Incoming:
    """An operation being merged (its HLC already clamped on the server)."""

    entity: str
    op: str
    field: str | None
    value: str | None
    hlc: str
    device_id: str
    base_hlc: str | None = None
    base_device: str | None = None
    """The device of the overwritten version (HLCs of two devices can be equal)."""


@dataclass(frozen=True)
class Decision:
    """What to do with an incoming operation."""

    status: Status
    write_field: bool = False
    """Store the incoming value as the field's new version."""
    create_row: bool = False
    delete_row: bool = False
    undelete_row: bool = False
    flag: bool = False
    """The record came back (or stayed) because of a concurrent edit and delete."""
    conflict: bool = False
    """Record both values for a person to pick (high-stakes fields)."""
    reason: str | None = None
    consent: ConsentState | None = None
    """A consent field's new state; with `write_field`, its value is the field's new value."""


@dataclass(frozen=True)
class ConsentState:
    """A consent field as a disable-wins flag: the opt-outs that still stand.

    `live` holds the (HLC, device) of every opt-out no opt-in has cancelled yet.
    `seen` maps a version a device may send back as its base to the live opt-outs
    that device had observed: an op's own observations (its base's, its device's
    own earlier opt-outs and, for an opt-out, itself), and for a merged state the
    server published (device `SERVER_DEVICE`) every opt-out standing in it.
    Cancelled opt-outs never come back, so both only keep live ones, and once
    nothing is live the state is empty again.
    """

    live: frozenset[Key] = frozenset()
    seen: Mapping[Key, frozenset[Key]] = field(default_factory=dict)

    @property
    def value(self) -> str:
        """The field's value: `true` while any opt-out stands."""
        return _TRUE if self.live else _FALSE

    @classmethod
    def from_version(cls, current: Version | None) -> ConsentState:
        """The state of a field known only by its version (stored before states were kept)."""
        if current is None or current.value != _TRUE:
            return cls()
        key = current.key()
        return cls(frozenset({key}), {key: frozenset({key})})

    def named_by(self, incoming: Incoming) -> bool:
        """Tell whether the op's own version can stand for this state (its merge result).

        It can when the op's value is the state's and what the op had observed of
        the opt-outs standing is all of them (always so when none stands, or when
        the only one is the op's own); otherwise the server publishes a version of
        its own for the state, since a device holding the op's version would not
        know which of them it had seen.
        """
        key = (incoming.hlc, incoming.device_id)
        return incoming.value == self.value and self.seen.get(key, frozenset()) == self.live

    def published(self, key: Key) -> ConsentState:
        """This state once published as version `key`: a device holding it saw every opt-out."""
        if not self.live:
            return self
        return ConsentState(self.live, {**self.seen, key: self.live})

    def dumps(self) -> str:
        """JSON text of the state (stored by the server)."""
        return json.dumps(
            {
                "live": sorted(self.live),
                "seen": sorted([*k, sorted(v)] for k, v in self.seen.items()),
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str | None) -> ConsentState:
        """Read a state written by `dumps` (empty text: the empty state)."""
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            frozenset((h, d) for h, d in data["live"]),
            {(h, d): frozenset((x, y) for x, y in v) for h, d, v in data["seen"]},
        )


_TRUE = "true"
_FALSE = "false"


def is_high_stakes(entity: str, field: str | None) -> bool:
    """Tell whether concurrent edits of this field need a person to decide."""
    return field is not None and field in HIGH_STAKES.get(entity, frozenset())


def is_consent(entity: str, field: str | None) -> bool:
    """Tell whether this field is an opt-out flag (least permissive wins)."""
    return field is not None and field in CONSENT.get(entity, frozenset())


def _concurrent(incoming: Incoming, current: Version) -> bool:
    # The same device's edits are sequential by construction; a clamped HLC may
    # make its own base look stale, which must not count as a concurrent edit.
    if incoming.device_id == current.device_id:
        return False
    if incoming.base_device is None:
        return incoming.base_hlc != current.hlc
    return (incoming.base_hlc, incoming.base_device) != current.key()


def _observed(state: ConsentState, incoming: Incoming) -> frozenset[Key]:
    """The live opt-outs the incoming op's device had seen when it made the op."""
    own = frozenset(k for k in state.live if k[1] == incoming.device_id)
    base = incoming.base_hlc
    if base is None:
        return own
    if incoming.base_device is not None:
        return own | state.seen.get((base, incoming.base_device), frozenset())
    # The client names its base by HLC only: its own op first, then a published
    # state, then (versions stored before states were kept) any op with that HLC.
    for key in ((base, incoming.device_id), (base, SERVER_DEVICE)):
        if key in state.seen:
            return own | state.seen[key]
    return own.union(*(v for k, v in state.seen.items() if k[0] == base))


def merge_consent(state: ConsentState, incoming: Incoming) -> ConsentState:
    """Merge one consent op: an opt-out adds itself, an opt-in cancels what it had seen.

    The outcome is a function of the set of ops (each device's own in its order),
    not of their arrival order: an opt-in's cancellations are fixed by its base and
    its device's earlier ops, all of which reached this replica before it.
    """
    key = (incoming.hlc, incoming.device_id)
    observed = _observed(state, incoming)
    if incoming.value == _TRUE:
        live = state.live | {key}
        observed = observed | {key}
    else:
        live = state.live - observed
    if not live:
        return ConsentState()
    seen = {k: kept for k, v in {**state.seen, key: observed}.items() if (kept := v & live)}
    return ConsentState(live, seen)


def _decide_consent(incoming: Incoming, current: Version | None, state: ConsentState) -> Decision:
    new = merge_consent(state, incoming)
    changed = new.live != state.live or current is None or current.value != new.value
    if incoming.value == _TRUE or not new.live:
        return Decision("applied", write_field=changed, consent=new)
    return Decision(
        "superseded",
        write_field=changed,
        consent=new,
        reason="an opt-out made elsewhere stands",
    )


def _decide_field(
    incoming: Incoming, current: Version | None, consent: ConsentState | None = None
) -> Decision:
    if consent is not None and is_consent(incoming.entity, incoming.field):
        return _decide_consent(incoming, current, consent)
    if current is None:
        return Decision("applied", write_field=True)
    newer = (incoming.hlc, incoming.device_id) > current.key()
    if is_consent(incoming.entity, incoming.field) and _concurrent(incoming, current):
        # Without the field's state (a laptop showing a pulled value next to its own
        # pending edit): the least permissive of the two, until the server decides.
        if incoming.value == current.value:
            # Keep the earliest of equal concurrent opt-outs: a later opt-in from a
            # device that saw only one of them must still count as concurrent.
            return _lww(not newer, "the same value was already there")
        # Least permissive: the opt-out stands, whichever clock is later.
        if incoming.value == _TRUE:
            return Decision("applied", write_field=True, reason="opt-out wins")
        return Decision("superseded", reason="an opt-out made elsewhere stands")
    if (
        is_high_stakes(incoming.entity, incoming.field)
        and _concurrent(incoming, current)
        and incoming.value != current.value
    ):
        return Decision(
            "conflict",
            write_field=newer,
            conflict=True,
            reason="edited on another device at the same time; both values kept",
        )
    return _lww(newer, "a newer value was already there")


def _lww(newer: bool, reason: str) -> Decision:
    if newer:
        return Decision("applied", write_field=True)
    return Decision("superseded", reason=reason)


def decide(
    incoming: Incoming,
    row: RowState,
    current: Version | None,
    consent: ConsentState | None = None,
) -> Decision:
    """Decide one incoming operation against the row's and field's current state.

    `consent` is a consent field's state (the server keeps it); the decision then
    carries the new state, whose value the field takes when `write_field` is set.
    """
    if incoming.op == "create":
        if row.exists:
            return Decision("superseded", reason="already created")
        return Decision("applied", create_row=True)
    resurrecting = incoming.entity in RESURRECTING
    if incoming.op == "delete":
        if row.deleted:
            return Decision("superseded", reason="already deleted")
        if (
            resurrecting
            and row.others_hlc is not None
            and (incoming.base_hlc is None or row.others_hlc > incoming.base_hlc)
        ):
            # The deleting device had not seen the latest edit: keep the record.
            return Decision(
                "conflict", flag=True, reason="edited on another device; kept and flagged"
            )
        return Decision("applied", delete_row=True)
    # A field set.
    field_decision = _decide_field(incoming, current, consent)
    if not row.deleted:
        return field_decision
    if not resurrecting:
        # Delete wins; the field still follows the clock so tombstones converge too.
        return Decision(
            "superseded",
            write_field=field_decision.write_field,
            reason="the record was deleted",
            consent=field_decision.consent,
        )
    return Decision(
        field_decision.status if field_decision.status != "superseded" else "applied",
        write_field=field_decision.write_field,
        undelete_row=True,
        flag=True,
        conflict=field_decision.conflict,
        reason="deleted on another device; brought back and flagged",
        consent=field_decision.consent,
    )


def clamp(hlc: str, now_millis: int, previous: str | None = None) -> str:
    """Clamp an HLC running more than MAX_CLOCK_SKEW_MS ahead of `now_millis`.

    Clamped readings from one batch stay strictly increasing (after `previous`),
    so a device's later edit of a field still follows its earlier one.
    """
    reading = HLC.decode(hlc)
    limit = now_millis + MAX_CLOCK_SKEW_MS
    if reading.millis <= limit:
        return hlc
    last = HLC.decode(previous) if previous is not None else None
    clamped = tick(last, limit) if last is not None and last.millis >= limit else HLC(limit, 0)
    return clamped.encode()
