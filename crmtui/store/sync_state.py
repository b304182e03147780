"""Local bookkeeping of sync: the version of each synced field, and conflicts.

`sync_field` holds, per field, the HLC and device of the value this replica took
from the server (or had accepted by it). A field's version is its newest pending
journal op if there is one, else this row: the client sends it as `base_hlc`, so
the server can tell an informed edit from a concurrent one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from crmtui.domain.ids import uuid7
from crmtui.store.types import UTCDateTime, utcnow


class SyncField(SQLModel, table=True):
    """The synced version of one field of one record."""

    __tablename__ = "sync_field"
    entity: str = Field(primary_key=True, max_length=40)
    row_id: str = Field(primary_key=True, max_length=36)
    field: str = Field(primary_key=True, max_length=60)
    hlc: str = Field(max_length=19)
    device_id: str = Field(max_length=36)


class SyncConflict(SQLModel, table=True):
    """A value a person may want back: a conflict to resolve, or an overwritten value.

    `kind` is `conflict` (a high-stakes field edited on two devices; the server
    kept one value, `other_value` is the one set aside), `overwritten` (a value
    made on this device that a newer one from elsewhere replaced, on a pull or in
    a push answer `superseded`), `rejected` (an edit of this device the server
    refused; `other_value` is it) or `quarantined` (a pulled value held back).
    """

    __tablename__ = "sync_conflict"
    id: str = Field(default_factory=uuid7, primary_key=True, max_length=36)
    server_id: str | None = Field(default=None, index=True, max_length=36)
    kind: str = Field(max_length=12)
    entity: str = Field(max_length=40)
    row_id: str = Field(max_length=36)
    field: str = Field(max_length=60)
    kept_value: str | None = None
    kept_device: str | None = Field(default=None, max_length=36)
    other_value: str | None = None
    other_device: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    resolution: str | None = Field(default=None, max_length=12)
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """When the resolution was sent to the server (conflicts only)."""


class PendingRecord(SQLModel, table=True):
    """A record with journal rows not pushed yet, and the record a user knows it as.

    Counted up by the journal's writers (`store.pending.note_pending`) and down by
    triggers on `journal` (migration 0011), in the transaction that journals, marks
    pushed or drops ops: the pending count is read from here and `PendingTotal`,
    never by counting the journal. `record_entity`
    and `record_id` say what a user changed: a phone, email or address item is its
    contact (one new contact with two phones is one changed record).
    """

    __tablename__ = "sync_pending"
    __table_args__ = (
        Index("ix_sync_pending_record", "record_entity", "record_id"),
        {"sqlite_with_rowid": False},  # one b-tree fewer to write per counted row
    )
    entity: str = Field(primary_key=True, max_length=40)
    row_id: str = Field(primary_key=True, max_length=36)
    record_entity: str = Field(max_length=40)
    record_id: str = Field(max_length=36)
    ops: int
    """Pending journal rows of this entity and row id."""


class PendingTotal(SQLModel, table=True):
    """Changed records waiting for a push, per entity a user knows (a handful of rows)."""

    __tablename__ = "sync_pending_total"
    entity: str = Field(primary_key=True, max_length=40)
    records: int
