"""Column types shared by the models: UTC timestamps stored as sortable text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_STORED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
"""Exactly the text `TIMESTAMP_FORMAT` writes (the fast parse takes nothing else)."""


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def format_timestamp(value: datetime) -> str:
    """Render an aware datetime as the fixed-width UTC text stored in SQLite."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: timestamps must carry a time zone")
    utc = value.astimezone(UTC)
    if utc.year >= 1000:  # isoformat is the same text, several times faster than strftime
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return utc.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse the stored UTC text back into an aware datetime."""
    # The stored shape read by the C parser: strptime costs ~30 us a value, and a
    # write loads rows of several timestamps (the write target is 10 ms).
    if _STORED.fullmatch(text):
        return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as `YYYY-MM-DDTHH:MM:SS.ffffffZ` text.

    SQLite has no timestamp type and SQLAlchemy's DateTime drops the zone there;
    fixed-width UTC text keeps the zone, sorts correctly and reads well in the
    sqlite3 shell and in the raw-SQL lookup path.
    """

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        """Convert to UTC text on the way in."""
        return None if value is None else format_timestamp(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert stored text back to an aware datetime."""
        return None if value is None else parse_timestamp(value)
