"""The write transaction: rows and their journal operations, committed together.

`WriteTx` is the only way the services change tables. Each create, field change
and delete becomes journal operations stamped with the device id and a hybrid
logical clock reading, in the same SQLite transaction as the row itself.

Storage format: a create is stored *packed*, as one journal row (`op = "create"`,
`field` NULL, `value` a JSON object of the fields it sets, each value exactly the
text its `set` op carries, one HLC). It stands for the per-field ops of the sync
contract, a `create` followed by one `set` per field, which `expand` gives back
with deterministic op ids (`field_op_id`). Journals written before packing hold a
create as a row with a NULL value followed by `set` rows; both forms coexist.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session, SQLModel

from crmtui.domain.hlc import _COUNTER_MAX as HLC_COUNTER_MAX
from crmtui.domain.hlc import HLC, tick
from crmtui.domain.ids import uuid7
from crmtui.domain.validate import MAX_SYNCED_VALUE_CHARS, InvalidInput
from crmtui.store.models import ENTITIES, JournalOp
from crmtui.store.pending import note_pending, pending_key
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


_SAFE_CHARS = MAX_SYNCED_VALUE_CHARS // 6 - 2
"""Text this long or shorter always fits: JSON writes a character as at most 6."""


def check_synced_size(entity: str, field: str, encoded: str) -> None:
    """Refuse a field value whose journal text the sync server would never take."""
    if len(encoded) > MAX_SYNCED_VALUE_CHARS:
        raise InvalidInput(
            field,
            f"is {len(encoded):,} characters as stored; a {entity}'s {field} can hold at"
            f" most {MAX_SYNCED_VALUE_CHARS:,} (the sync server's limit): shorten it",
        )


def check_created_sizes(entity: str, values: Mapping[str, Any]) -> None:
    """`check_synced_size` for every long text of a new record (short ones cannot exceed it)."""
    for name, value in values.items():
        if type(value) is str and len(value) > _SAFE_CHARS:
            check_synced_size(entity, name, _encode_str(value))


def created_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a create journals, in order: every set field but the bookkeeping."""
    # One comprehension: a bulk import calls this for each of 100k rows. Most values
    # are None, so that test goes first; text, numbers and flags never equal [].
    return {
        name: value
        for name, value in values.items()
        if value is not None
        and name not in UNJOURNALED
        and (type(value) in _NEVER_EMPTY_LIST or value != [])
    }


_NEVER_EMPTY_LIST = frozenset({str, int, bool, float})


_stamp = lru_cache(maxsize=64)(format_timestamp)  # a bulk write's rows share `tx.now`


def _as_text(value: Any) -> str:
    """The JSON text stand-in for a timestamp or a date (the encoder's `default` hook)."""
    kind = type(value)
    if kind is datetime:
        return _stamp(value)
    if kind is date:
        return value.isoformat()
    raise TypeError(f"{kind.__name__} is not a plain journal value")


_PACK = json.JSONEncoder(ensure_ascii=False, default=_as_text)  # separators ", " and ": "
# Its C encoder, called directly: JSONEncoder.encode's Python steps cost as much as
# the encoding for a row of short values (None where the C module is missing).
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_PACK_C: Any = _c_make_encoder and _c_make_encoder(
    None, _as_text, _encode_str, None, ": ", ", ", False, False, True
)


def _pack_plain(values: Mapping[str, Any]) -> str:
    """`_PACK.encode(values)`, through the C encoder when there is one."""
    if _PACK_C is None:
        return _PACK.encode(values)
    return "".join(_PACK_C(values, 0))


_PLAIN_KINDS = frozenset({str, int, bool, float, datetime, date})
_PLAIN_OR_LIST = _PLAIN_KINDS | {list}


def pack_created(values: Mapping[str, Any]) -> str:
    """A create's packed journal value: `{"field": <its set op's value>, ...}` in field order.

    Each value is written as exactly the text its set op carries (`encode_value`),
    so `unpack_created` hands it back byte for byte. Plain values (text, numbers,
    booleans, timestamps, dates, lists of text) go through one C-encoded pass,
    which writes them the same way; anything else is written value by value
    (tests/test_journal_packing.py compares the two).
    """
    kinds = set(map(type, values.values()))
    if kinds <= _PLAIN_KINDS or (
        kinds <= _PLAIN_OR_LIST
        and all(type(item) is str for v in values.values() if type(v) is list for item in v)
    ):
        return _pack_plain(values)
    return pack_each(values)


def pack_created_rows(
    entity: str, rows: Sequence[Mapping[str, Any]], now: datetime, *, plain: bool
) -> tuple[list[str], int]:
    """`pack_created(created_fields(row))` of many new rows of `entity`, each checked for
    the sync server's size limit: the texts, and how many fields they carry in all.

    The same text, made with less Python per row (a bulk import packs ~450k rows):
    a `created_at` that is the transaction's `now` is written as its text up front
    rather than through the encoder's hook, and with `plain` (every column of the
    rows' table holds text, a number, a flag, a timestamp or a date, never a list or
    an object) the rows go straight to the C encoder, which writes those kinds as
    `pack_created` does (tests/test_journal_packing.py compares the two).
    """
    stamp = _stamp(now)
    texts: list[str] = []
    count = 0
    for row in rows:
        if plain:
            journaled = {name: value for name, value in row.items() if value is not None}
            for name in UNJOURNALED:
                journaled.pop(name, None)
        else:
            journaled = created_fields(row)
        if journaled.get("created_at") is now:
            journaled["created_at"] = stamp
        text = _pack_plain(journaled) if plain else pack_created(journaled)
        if len(text) > MAX_SYNCED_VALUE_CHARS:  # only then can one field be too long
            check_created_sizes(entity, journaled)
        texts.append(text)
        count += len(journaled)
    return texts, count


def pack_each(values: Mapping[str, Any]) -> str:
    """`pack_created` written value by value through `encode_value` (any value kind)."""
    body = ", ".join(
        f"{_encode_str(name)}: {encode_value(value)}" for name, value in values.items()
    )
    return "{" + body + "}"


_WS = re.compile(r"[ \t\n\r]*")
_raw_decode = json.JSONDecoder().raw_decode


def _skip(text: str, pos: int) -> int:
    """The position of the first non-blank character at or after `pos`."""
    found = _WS.match(text, pos)
    return found.end() if found else pos


def unpack_created(text: str) -> list[tuple[str, str]]:
    """The (field, JSON value text) pairs of a packed create, in their stored order."""
    plain = _unpack_plain(text)
    if plain is not None:
        return plain
    pos = _skip(text, 0)
    if text[pos : pos + 1] != "{":
        raise ValueError(f"a packed create is a JSON object, not {text[:40]!r}")
    pos = _skip(text, pos + 1)
    out: list[tuple[str, str]] = []
    if text[pos : pos + 1] == "}":
        return out
    while True:
        name, pos = _raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos : pos + 1] != ":" or not isinstance(name, str):
            raise ValueError(f"malformed packed create at offset {pos}")
        start = _skip(text, pos + 1)
        _, pos = _raw_decode(text, start)
        # The value's own text, not a re-encoding of what it parses to.
        out.append((name, text[start:pos]))
        pos = _skip(text, pos)
        if text[pos : pos + 1] == "}":
            return out
        if text[pos : pos + 1] != ",":
            raise ValueError(f"malformed packed create at offset {pos}")
        pos = _skip(text, pos + 1)


def _unpack_plain(text: str) -> list[tuple[str, str]] | None:
    """`unpack_created` for what `_pack_plain` wrote, at C speed; None for anything else.

    The text is parsed whole and each value written back as the packer writes it;
    the pairs are taken only when that gives back the whole text character for
    character, so every value text is exactly the stored one (an escape written
    another way, a number like `1e5`, a repeated name or other spacing fall through
    to the tokenizer). A sync of a laptop's creates spent most of its reading here.
    """
    if _PACK_C is None or text[:2] != '{"':
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if type(values) is not dict:
        return None
    try:
        pairs = [(name, "".join(_PACK_C(value, 0))) for name, value in values.items()]
    except (TypeError, ValueError):
        return None  # e.g. a float the encoder refuses (NaN is not JSON there)
    back = ", ".join(f"{_encode_str(name)}: {value}" for name, value in pairs)
    return pairs if len(back) + 2 == len(text) and "{" + back + "}" == text else None


_LOW62 = (1 << 62) - 1
_RAND_A = 0xFFF << 64
_RAND74 = (1 << 74) - 1
FIELD_ID_STRIDE = 1 << 40
"""How far apart (in the 74 random bits) a packed create's derived op ids are."""


def field_op_id(create_id: str, index: int) -> str:
    """The op id of the `index`-th (1-based) field of the packed create `create_id`.

    The create's UUIDv7 with `index * 2**40` added to its 74 random bits (mod 2**74):
    the same timestamp, version and variant, so still a valid UUIDv7, and the same
    answer every time, so a push retried after a lost response resends the same ids
    and the server's dedupe holds. Ids allocated one after another (`uuid7` in a
    burst, `bulk.uuid7_batch`) differ by less than 2**40 within a millisecond, so a
    derived id can never equal another op's id: the stride is built into the
    derivation instead of being reserved at allocation.
    """
    value = int(create_id.replace("-", ""), 16)
    rand = (((value & _RAND_A) >> 64) << 62) | (value & _LOW62)
    rand = (rand + index * FIELD_ID_STRIDE) & _RAND74
    value = (value & ~(_RAND_A | _LOW62)) | ((rand >> 62) << 64) | (rand & _LOW62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


LogicalOp = tuple[str, str, str | None, str | None]
"""(op id, op, field, value) of one operation of the sync contract."""


def expand(op_id: str, op: str, field: str | None, value: str | None) -> list[LogicalOp]:
    """The contract's operations one journal row stands for (a packed create: several)."""
    if op != "create" or value is None:
        return [(op_id, op, field, value)]
    out: list[LogicalOp] = [(op_id, "create", None, None)]
    for index, (name, text) in enumerate(unpack_created(value), 1):
        out.append((field_op_id(op_id, index), "set", name, text))
    return out


def entity_name(obj: SQLModel) -> str:
    """The journal's name for a table row's entity."""
    return _TABLE_TO_ENTITY[type(obj).__tablename__]


_OpRow = tuple[str, str, str, str, str, str, str, str | None, str | None, str]
"""One journal row as `_INSERT_OP` takes it: id, tx, hlc, device, entity, row, op, field, value, at."""

_INSERT_OP = (
    f"INSERT INTO {JournalOp.__tablename__} (id, tx_id, hlc, device_id, entity, row_id, op, field,"
    " value, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class RowChange:
    """One change a recording `WriteTx` made: what it was before, for an undo."""

    entity: str
    row_id: str
    kind: str
    """"create", "set" or "delete"."""
    field: str | None = None
    before: Any = None
    after: Any = None


class WriteTx:
    """One unit of work: a SQLModel session inside `BEGIN IMMEDIATE`, plus the journal."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tx_id = uuid7()
        self.now = utcnow()
        self._db: sqlite3.Connection | None = None
        self._device_id: str | None = None
        self._clock: HLC | None = None
        self._ops: list[_OpRow] = []
        """Journal rows not written yet, as `_INSERT_OP` parameters."""
        self.pending_records: set[tuple[str, str]] = set()
        """Records this transaction has counted as pending (`store.pending.note_pending`)."""
        self.recorder: list[RowChange] | None = None
        """When a list, every add, field change and delete is noted there (for an undo)."""
        self.recorded_rows: dict[tuple[str, str], SQLModel] | None = None
        """When a dict, the rows the recorder notes are held there, for the undo to read.

        The session's identity map holds unchanged rows weakly: once a service has
        returned, a row it changed is gone from it, and reading it back cost a query
        and ~0.5 ms a row. Off by default: an import records 100k rows it need not hold.
        """

    @property
    def db(self) -> sqlite3.Connection:
        """The raw sqlite3 connection of this transaction (for the search index)."""
        # Kept once found: the transaction holds one connection to its end, and asking
        # the session each time cost ~20 us, over a dozen times a write.
        if self._db is None:
            self._db = self.session.connection().connection.driver_connection
        return self._db  # type: ignore[return-value]

    def meta(self, key: str) -> str | None:
        """One `local_meta` value (None when unset)."""
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
            self._device_id = self.meta("device_id")
            if self._device_id is None:
                self._device_id = uuid7()
                self._set_meta("device_id", self._device_id)
        return self._device_id

    def next_hlc(self) -> str:
        """The next reading of this transaction's clock (also used by bulk writes)."""
        if self._clock is None:
            last = self.meta("hlc")
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
        # What `tick` does within one millisecond: count up, carry when full. Readings
        # are written as runs sharing the "millis-" head (a bulk import makes 100k).
        width = len(str(HLC_COUNTER_MAX))
        while len(out) < count:
            if counter == HLC_COUNTER_MAX:
                millis, counter = millis + 1, -1
            run = min(count - len(out), HLC_COUNTER_MAX - counter)
            head = HLC(millis, 0).encode()[:-width]
            out += [f"{head}{c:0{width}d}" for c in range(counter + 1, counter + 1 + run)]
            counter += run
        self._clock = HLC(millis, counter)
        return out

    def _op(self, entity: str, row_id: str, op: str, field: str | None, value: str | None) -> None:
        # A plain tuple, inserted with one executemany: a JournalOp ORM object cost
        # ~0.3 ms to build and flush, a third of a one-field edit (the write target).
        self._ops.append(
            (
                uuid7(),
                self.tx_id,
                self.next_hlc(),
                self.device_id,
                entity,
                row_id,
                op,
                field,
                value,
                _stamp(self.now),
            )
        )

    def add(self, obj: SQLModel) -> SQLModel:
        """Insert a new row and journal its creation with the fields it sets (one packed row)."""
        entity = entity_name(obj)
        row_id = obj.id  # type: ignore[attr-defined]
        self.session.add(obj)
        # Insert now: without ORM relationships SQLAlchemy does not order inserts by
        # foreign key, so a stage added after its pipeline could otherwise go first.
        values = created_fields(obj.model_dump())
        check_created_sizes(entity, values)
        self.session.flush()
        self._op(entity, row_id, "create", None, pack_created(values))
        if self.recorder is not None:
            self.recorder.append(RowChange(entity, row_id, "create"))
            if self.recorded_rows is not None:
                self.recorded_rows[(entity, row_id)] = obj
        return obj

    def update(self, obj: SQLModel, changes: Mapping[str, Any]) -> list[str]:
        """Apply field changes to a row; journal and return the fields that changed."""
        entity = entity_name(obj)
        changed: list[str] = []
        for name, value in changes.items():
            if getattr(obj, name) != value:
                encoded = encode_value(value)
                check_synced_size(entity, name, encoded)
                if self.recorder is not None:
                    # A copy: a list field (tags) may be changed in place later.
                    before = copy.deepcopy(getattr(obj, name))
                    self.recorder.append(
                        RowChange(entity, obj.id, "set", name, before, copy.deepcopy(value))  # type: ignore[attr-defined]
                    )
                    if self.recorded_rows is not None:
                        self.recorded_rows[(entity, obj.id)] = obj  # type: ignore[attr-defined]
                setattr(obj, name, value)
                self._op(entity, obj.id, "set", name, encoded)  # type: ignore[attr-defined]
                changed.append(name)
        if changed and hasattr(obj, "updated_at"):
            obj.updated_at = self.now
        if changed:
            self.session.add(obj)
        return changed

    def delete(self, obj: SQLModel) -> None:
        """Tombstone a row: it stays in the table with `deleted_at`, and the delete is journaled."""
        if self.recorder is not None:
            self.recorder.append(RowChange(entity_name(obj), obj.id, "delete"))  # type: ignore[attr-defined]
            if self.recorded_rows is not None:
                self.recorded_rows[(entity_name(obj), obj.id)] = obj  # type: ignore[attr-defined]
        obj.deleted_at = self.now
        if hasattr(obj, "updated_at"):
            obj.updated_at = self.now
        self.session.add(obj)
        self._op(entity_name(obj), obj.id, "delete", None, None)  # type: ignore[attr-defined]

    def flush(self) -> None:
        """Write pending rows and journal operations (done automatically on commit)."""
        self.session.flush()
        if self._ops:
            ops, self._ops = self._ops, []
            self.db.executemany(_INSERT_OP, ops)
            # id, tx, hlc, device, entity, row, op, field, value, at (`_OpRow`)
            keys = [pending_key(op[4], op[5], op[6], op[8]) for op in ops]
            note_pending(self.db, keys, self.pending_records)
        if self._clock is not None:
            self._set_meta("hlc", self._clock.encode())
