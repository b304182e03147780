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
- consent fields: an opt-out (`true`) made concurrently with an opt-in wins
  whatever the clocks say; an opt-in that was made after seeing the opt-out
  (not concurrent) is a deliberate change and follows the clock;
- activities (and every entity other than contacts and deals): delete wins;
- contacts and deals: an edit arriving for a deleted record brings it back and
  flags it, and a delete that had not seen the latest edit leaves the record in
  place, flagged, rather than throwing that edit away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crmtui.store.hlc import HLC, tick

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


_TRUE = "true"


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


def _decide_field(incoming: Incoming, current: Version | None) -> Decision:
    if current is None:
        return Decision("applied", write_field=True)
    newer = (incoming.hlc, incoming.device_id) > current.key()
    if is_consent(incoming.entity, incoming.field) and _concurrent(incoming, current):
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


def decide(incoming: Incoming, row: RowState, current: Version | None) -> Decision:
    """Decide one incoming operation against the row's and field's current state."""
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
    field_decision = _decide_field(incoming, current)
    if not row.deleted:
        return field_decision
    if not resurrecting:
        # Delete wins; the field still follows the clock so tombstones converge too.
        return Decision(
            "superseded", write_field=field_decision.write_field, reason="the record was deleted"
        )
    return Decision(
        field_decision.status if field_decision.status != "superseded" else "applied",
        write_field=field_decision.write_field,
        undelete_row=True,
        flag=True,
        conflict=field_decision.conflict,
        reason="deleted on another device; brought back and flagged",
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
