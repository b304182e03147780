"""Local bookkeeping of mail: the outbox, the messages already logged, reminders notified.

Not journaled or synced (like `undo_record`): what a message did travels as its
activity, an ordinary journaled record. The outbox belongs to this laptop (it is
what this laptop will send); the logged Message-IDs make `crm mail scan` and
`crm log email` idempotent here; the notified reminders keep `crm notify` from
raising the same reminder twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from crmtui.domain.ids import uuid7
from crmtui.store.types import UTCDateTime, utcnow

OUTBOX_STATUSES = ("queued", "sent", "failed", "refused")


class MailOutbox(SQLModel, table=True):
    """One message written here and waiting to be sent (or sent, failed, refused)."""

    __tablename__ = "mail_outbox"
    id: str = Field(default_factory=uuid7, primary_key=True, max_length=36)
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    to_addr: str
    to_name: str | None = None
    subject: str
    body: str
    message_id: str = Field(unique=True)
    """Made at queue time and kept, so a retry after an unclear failure is the same message."""
    template: str | None = None
    status: str = Field(default="queued", max_length=10, index=True)
    reason: str | None = None
    """Why the last attempt failed, or why consent refused it."""
    attempts: int = 0
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    activity_id: str | None = Field(default=None, max_length=36)


class MailLogged(SQLModel, table=True):
    """A message (by Message-ID) already logged for a contact on this laptop."""

    __tablename__ = "mail_logged"
    message_id: str = Field(primary_key=True)
    contact_id: str = Field(primary_key=True, max_length=36)
    activity_id: str = Field(max_length=36)
    direction: str = Field(max_length=3)  # "in" or "out"
    logged_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ReminderNotified(SQLModel, table=True):
    """A reminder `crm notify` has shown, at the due time it had then (a deferral notifies again)."""

    __tablename__ = "reminder_notified"
    tickler_id: str = Field(primary_key=True, max_length=36)
    due_at: str = Field(primary_key=True, max_length=27)
    notified_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
