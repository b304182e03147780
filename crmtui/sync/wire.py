"""The sync protocol's messages, shared by the client and the server (pydantic).

Every field is bounded: the server rejects a request that does not fit before it
touches the database, so a fuzzer or a broken client cannot make it allocate or
store without limit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from crmtui.domain.validate import MAX_SYNCED_VALUE_CHARS

API_VERSION = "v1"
PROTOCOL_VERSION = 2
"""The sync protocol this code speaks, sent on every request and answer (`PROTOCOL_HEADER`).

1: the wire of `/v1` before the version was sent (no header means 1). 2: the
server checks every op against the field specs and decides scope (issue #14);
the messages are the same, so either side still works with a 1.
"""
MIN_CLIENT_PROTOCOL = 1
"""The oldest client protocol a server accepts (older: 426, "upgrade crmtui")."""
MIN_SERVER_PROTOCOL = 1
"""The oldest server protocol a client syncs with (older: "upgrade the server")."""
PROTOCOL_HEADER = "X-Crm-Protocol"
MAX_PUSH_OPS = 1000
"""Operations in one push; the client sends batches of at most this many."""
MAX_PULL_OPS = 5000
"""Changes in one pull page."""
MAX_OWN_RANGES = 32
"""Feed ranges a pull may name as drawn by the device's own pushes (`own`)."""
MAX_VALUE_CHARS = MAX_SYNCED_VALUE_CHARS
"""JSON text of one field value (notes are the largest thing a field holds); local
writes are held to it (`crmtui.store.journal`), so every change can be pushed."""
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Request bodies larger than this are refused with 413 before parsing."""

HlcText = Annotated[str, Field(pattern=r"^[0-9]{13}-[0-9]{5}$", min_length=19, max_length=19)]
IdText = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z-]+$")]
NameText = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z_][a-z0-9_]*$")]
OpKind = Literal["create", "set", "delete"]
PushStatus = Literal["applied", "superseded", "conflict", "rejected"]
ChangeKind = Literal["create", "set", "delete", "undelete", "removal"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Op(_Strict):
    """One journal operation as sent by a device."""

    op_id: IdText
    tx_id: IdText
    hlc: HlcText
    entity: NameText
    row_id: IdText
    op: OpKind
    field: NameText | None = None
    value: Annotated[str, Field(max_length=MAX_VALUE_CHARS)] | None = None
    base_hlc: HlcText | None = None
    """The HLC of the value this op overwrote on its device (None: nothing known).

    The server compares it with its own current HLC for the field: when they
    differ, the device had not seen the latest value, so the edit is concurrent.
    """
    base_device: IdText | None = None
    """The device that made the overwritten value (two devices' HLCs can be equal)."""


class PushRequest(_Strict):
    """A batch of pending operations from one device."""

    device_id: IdText
    ops: Annotated[list[Op], Field(max_length=MAX_PUSH_OPS)]
    resolved_conflicts: Annotated[list[IdText], Field(max_length=MAX_PUSH_OPS)] = []


class FieldVersion(_Strict):
    """A field's value on the server and the clock reading that set it."""

    value: str | None
    hlc: HlcText
    device_id: IdText


class PushResult(_Strict):
    """The server's answer for one operation."""

    op_id: IdText
    status: PushStatus
    reason: str | None = None
    hlc: HlcText | None = None
    """The HLC the server stored for the op (clamped when the device ran ahead)."""
    current: FieldVersion | None = None
    """The field as it stands on the server when the op did not take effect."""


class PushResponse(_Strict):
    """Per-operation answers, in the order the operations were sent."""

    results: list[PushResult]
    server_hlc: HlcText
    feed: tuple[int, int] | None = None
    """The first and last feed numbers this batch drew (None: it drew none).

    Sent only to a client that asks for it (header `X-Crm-Feed-Range: 1`), so a
    client that does not know the field is never sent it. The echoes in that range
    (docs/sync.md) are ops answered here; a client that has recorded these answers
    may name the range when it pulls (`own`) and is not sent them back.
    """


class Change(_Strict):
    """One change in the server's feed, as a device applies it."""

    seq: int
    kind: ChangeKind
    entity: NameText
    row_id: IdText
    field: NameText | None = None
    value: str | None = None
    hlc: HlcText
    device_id: IdText
    flagged: bool = False
    """Set on an undelete: the record came back because it was edited elsewhere."""


class ConflictInfo(_Strict):
    """A high-stakes field edited concurrently on two devices; a person picks."""

    id: IdText
    entity: NameText
    row_id: IdText
    field: NameText
    kept: FieldVersion
    other: FieldVersion
    resolved: bool = False


class PullResponse(_Strict):
    """One page of the feed after a cursor, filtered to what the device may see."""

    changes: list[Change]
    removals: list[Change] = []
    """Records that left the device's scope (kind `removal`); also in `changes` order."""
    conflicts: list[ConflictInfo] = []
    cursor: int
    has_more: bool
    server_hlc: HlcText


class WhoAmI(_Strict):
    """The authenticated device and its rep."""

    device_id: str
    device_name: str
    rep_id: str
    rep_name: str
    role: str
    territories: list[str]


class Health(_Strict):
    """A liveness or readiness answer."""

    status: Literal["ok", "unavailable"]
    detail: str | None = None


OUTSIDE_SCOPE = "the record is outside your territories"
"""A push answer's reason for an op on a record the rep may not read (it moved away)."""

SERVER_HEADER = "X-Crm-Server"
"""Every `/v1` answer names the server's identity (`srv_meta.server_id`): a laptop
that sees another one than it synced with knows the server was reset or replaced."""
MAX_RESEED_RECORDS = 500
"""Records in one reseed request."""
MAX_RECORD_FIELDS = 100
"""Fields of one reseeded record (the widest entity has fewer)."""


class ReseedField(_Strict):
    """One field of a reseeded record: the laptop's value and the version it holds."""

    field: NameText
    value: Annotated[str, Field(max_length=MAX_VALUE_CHARS)] | None
    hlc: HlcText
    device_id: IdText


class ReseedRecord(_Strict):
    """A record as a laptop holds it, with the original versions (`POST /v1/reseed`)."""

    entity: NameText
    row_id: IdText
    created_hlc: HlcText
    created_device: IdText
    deleted: bool = False
    live_hlc: HlcText
    """The version of its last create, delete or undelete: the later one wins."""
    live_device: IdText
    fields: Annotated[list[ReseedField], Field(max_length=MAX_RECORD_FIELDS)]


class ReseedRequest(_Strict):
    """A batch of a laptop's full state, sent after an admin opened a reseed window."""

    device_id: IdText
    records: Annotated[list[ReseedRecord], Field(max_length=MAX_RESEED_RECORDS)]


class ReseedResult(_Strict):
    """The server's answer for one reseeded record."""

    entity: NameText
    row_id: IdText
    status: Literal["applied", "rejected"]
    reason: str | None = None


class ReseedResponse(_Strict):
    """Per-record answers, in the order sent."""

    results: list[ReseedResult]
    server_hlc: HlcText
