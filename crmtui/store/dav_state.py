"""Local bookkeeping of the CardDAV/CalDAV sync: which record is which card or to-do.

Not journaled or synced (like `mail_state`): the links belong to this laptop and
its server account. Each link keeps the text last synced and its ETag, because a
phone's card carries no field clocks: what the phone changed is found by
comparing its card with that text, and only those fields are journaled.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from crmtui.store.types import UTCDateTime, utcnow

LINK_KINDS = ("card", "todo", "event")
LINK_STATES = ("synced", "phone_deleted")


class DavLink(SQLModel, table=True):
    """One record (contact, reminder series, meeting) and its resource on the server."""

    __tablename__ = "dav_link"
    kind: str = Field(primary_key=True, max_length=8)
    record_key: str = Field(primary_key=True, max_length=60)
    """The contact id, the reminder's series (or own) id, or the meeting's activity id."""
    href: str = Field(unique=True)
    etag: str | None = None
    body: str
    """The resource's text as last synced (the base the next diff is taken against)."""
    state: str = Field(default="synced", max_length=14)
    synced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
