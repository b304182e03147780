"""The write transaction: rows and their journal operations, committed together.

`WriteTx` is the only way the services change tables. Each create, field change
and delete becomes one journal operation stamped with the device id and a hybrid
logical clock reading, in the same SQLite transaction as the row itself.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel

from crmtui.store.hlc import _COUNTER_MAX as HLC_COUNTER_MAX
from crmtui.store.hlc import HLC, tick
from crmtui.store.ids import uuid7
from crmtui.store.models import ENTITIES, JournalOp
from crmtui.store.types import format_timestamp, utcnow

_encode_str: Any = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses

# Bookkeeping columns that every replica derives itself; never journaled.
UNJOURNALED = frozenset({"id", "updated_at"})
_TABLE_TO_ENTITY = {cls.__tablename__: name for name, cls in ENTITIES.items()}


def encode_value(value: Any) -> str:
    """Serialise a field value for the journal (JSON; timestamps as UTC text)."""
    # The common scalar cases without json.dumps' machinery (same text out): bulk
    # imports encode millions of values.
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if isinstance(value, datetime):
        return json.dumps(format_timestamp(value))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def created_fields(values: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The (field, value) pairs a create journals: every set field but the bookkeeping."""
    for name, value in values.items():
        if name not in UNJOURNALED and value is not None and value != []:
            yield name, value


def entity_name(obj: SQLModel) -> str:
    """The journal's name for a table row's entity."""
    return _TABLE_TO_ENTITY[type(obj).__tablename__]


class WriteTx:
    """One unit of work: a SQLModel session inside `BEGIN IMMEDIATE`, plus the journal."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tx_id = uuid7()
        self.now = utcnow()
        self._device_id: str | None = None
        self._clock: HLC | None = None
        self._ops: list[JournalOp] = []

    @property
    def db(self) -> sqlite3.Connection:
        """The raw sqlite3 connection of this transaction (for the search index)."""
        return self.session.connection().connection.driver_connection  # type: ignore[return-value]

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM local_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO local_meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def device_id(self) -> str:
        """This database's device id, made on the first write."""
        if self._device_id is None:
            self._device_id = self._meta("device_id")
            if self._device_id is None:
                self._device_id = uuid7()
                self._set_meta("device_id", self._device_id)
        return self._device_id

    def next_hlc(self) -> str:
        """The next reading of this transaction's clock (also used by bulk writes)."""
        if self._clock is None:
            last = self._meta("hlc")
            self._clock = HLC.decode(last) if last else None
        self._clock = tick(self._clock, time.time_ns() // 1_000_000)
        return self._clock.encode()

    def next_hlcs(self, count: int) -> list[str]:
        """`count` consecutive clock readings at once, as `next_hlc` would give them."""
        if count <= 0:
            return []
        first = HLC.decode(self.next_hlc())
        millis, counter = first.millis, first.counter
        out = [first.encode()]
        for _ in range(count - 1):
            # What `tick` does within one millisecond: count up, carry when full.
            counter += 1
            if counter > HLC_COUNTER_MAX:
                millis, counter = millis + 1, 0
            out.append(HLC(millis, counter).encode())
        self._clock = HLC(millis, counter)
        return out

    def _op(self, entity: str, row_id: str, op: str, field: str | None, value: Any) -> None:
        self._ops.append(
            JournalOp(
                tx_id=self.tx_id,
                hlc=self.next_hlc(),
                device_id=self.device_id,
                entity=entity,
                row_id=row_id,
                op=op,
                field=field,
                value=None if op != "set" else encode_value(value),
                created_at=self.now,
            )
        )

    def add(self, obj: SQLModel) -> SQLModel:
        """Insert a new row and journal its creation and each field it sets."""
        entity = entity_name(obj)
        row_id = obj.id  # type: ignore[attr-defined]
        self.session.add(obj)
        # Insert now: without ORM relationships SQLAlchemy does not order inserts by
        # foreign key, so a stage added after its pipeline could otherwise go first.
        self.session.flush()
        self._op(entity, row_id, "create", None, None)
        for name, value in created_fields(obj.model_dump()):
            self._op(entity, row_id, "set", name, value)
        return obj

    def update(self, obj: SQLModel, changes: Mapping[str, Any]) -> list[str]:
        """Apply field changes to a row; journal and return the fields that changed."""
        entity = entity_name(obj)
        changed: list[str] = []
        for name, value in changes.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                self._op(entity, obj.id, "set", name, value)  # type: ignore[attr-defined]
                changed.append(name)
        if changed and hasattr(obj, "updated_at"):
            obj.updated_at = self.now
        if changed:
            self.session.add(obj)
        return changed

    def delete(self, obj: SQLModel) -> None:
        """Tombstone a row: it stays in the table with `deleted_at`, and the delete is journaled."""
        obj.deleted_at = self.now
        if hasattr(obj, "updated_at"):
            obj.updated_at = self.now
        self.session.add(obj)
        self._op(entity_name(obj), obj.id, "delete", None, None)  # type: ignore[attr-defined]

    def flush(self) -> None:
        """Write pending rows and journal operations (done automatically on commit)."""
        self.session.flush()
        if self._ops:
            self.session.add_all(self._ops)
            self._ops = []
            self.session.flush()
        if self._clock is not None:
            self._set_meta("hlc", self._clock.encode())
