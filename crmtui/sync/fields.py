"""What a synced field may hold, derived once from the local models' columns.

The server checks every pushed op against these specs before it decides anything,
and the client checks every pulled change the same way before writing it (a change
from an older server that let a bad value through is quarantined, not applied).
One module, one source: the SQLModel tables in `crmtui.store.models` (column type,
NULL allowed, max length, required on create) and the enumerations next to them.

A value is the JSON text a journal op carries. Besides the column's own type:
strings hold no NUL and no lone surrogate (SQLite and every JSON encoder refuse
them), integers fit in 64 bits, booleans are `true`/`false` only, numbers are
finite (`NaN` and `Infinity` are not JSON), and nothing nests except a tags list
of strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer

from crmtui.store import models as m
from crmtui.store.types import TIMESTAMP_FORMAT, UTCDateTime, parse_timestamp

NOT_SYNCED = frozenset({"id", "updated_at", "deleted_at"})
"""Columns every device keeps for itself: never sent as a field op."""
ID_PATTERN = re.compile(r"[0-9A-Za-z-]{1,36}")
"""An id as the wire carries it (`wire.IdText`): UUIDs, and short ids in tests."""
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
MAX_TAGS = 200
"""Tags on one record (each a string of at most MAX_TAG_CHARS)."""
MAX_TAG_CHARS = 200

CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("rep", "role"): m.ROLES,
    ("territory_rule", "kind"): m.TERRITORY_RULE_KINDS,
    ("lead", "status"): m.LEAD_STATUSES,
    ("deal", "status"): m.DEAL_STATUSES,
    ("activity", "kind"): m.ACTIVITY_KINDS,
    ("activity", "outcome"): m.ACTIVITY_OUTCOMES,
    ("tickler", "status"): m.TICKLER_STATUSES,
    ("stage", "forecast_category"): m.FORECAST_CATEGORIES,
    ("contact_phone", "kind"): m.PHONE_KINDS,
    ("contact_email", "kind"): m.EMAIL_KINDS,
    ("contact_address", "kind"): m.ADDRESS_KINDS,
    ("plan_event", "kind"): m.PLAN_EVENT_KINDS,
    ("plan_event", "outcome"): m.ACTIVITY_OUTCOMES,
    ("tax_class", "rounding"): m.TAX_ROUNDINGS,
    ("deal_line", "tax_rounding"): m.TAX_ROUNDINGS,
    ("quote", "status"): m.QUOTE_STATUSES,
    ("quote_line", "tax_rounding"): m.TAX_ROUNDINGS,
    ("deal_approval", "decision"): m.APPROVAL_DECISIONS,
}
"""Enumerated fields: the values the services allow (the models' constants)."""


@dataclass(frozen=True)
class SharedClass:
    """A class of records every laptop receives whatever its territories."""

    name: str
    entities: frozenset[str]
    writers: frozenset[str]
    """The roles whose pushes may create, change or delete them."""
    builtin: frozenset[tuple[str, str]] = frozenset()
    """(entity, id) of records every replica holds from its own migrations."""


def _default_pipeline() -> frozenset[tuple[str, str]]:
    # The 0002 migration makes the default pipeline and stages on every replica.
    from crmtui.services.sales.pipelines import DEFAULT_PIPELINE_ID, DEFAULT_STAGES

    return frozenset(
        {("pipeline", DEFAULT_PIPELINE_ID), *(("stage", stage.id) for stage in DEFAULT_STAGES)}
    )


SERVER_MANAGED_CLASS = SharedClass(
    "server-managed",
    frozenset({"territory", "rep", "territory_assignment", "territory_rule"}),
    frozenset({"admin"}),
)
"""Managed on the server by an admin (`crm server ...`) and published to every device."""
REFERENCE = SharedClass(
    "reference data",
    # Later issues add quotas here.
    frozenset(
        {
            "pipeline",
            "stage",
            "plan",
            "call_script",
            "exchange_rate",
            "tax_class",
            "product",
            "price_list",
            "price",
            "score_rules",
            "approval_policy",
        }
    ),
    frozenset({"admin"}),
    _default_pipeline(),
)
"""Reference data the admin publishes for the whole team: the one definition to extend."""
SHARED_CLASSES = (SERVER_MANAGED_CLASS, REFERENCE)
SERVER_MANAGED = SERVER_MANAGED_CLASS.entities
REFERENCE_DATA = REFERENCE.entities
SHARED = SERVER_MANAGED | REFERENCE_DATA
"""Entities every laptop sees whatever their territory; the others are customer records,
seen by territory (an unplaced one only by its creator, managers and admins)."""
BUILTIN = frozenset().union(*(c.builtin for c in SHARED_CLASSES))
"""Shared records that exist on every replica without being pushed (the default pipeline)."""


MANAGERS_DECIDE = frozenset({"deal_approval"})
"""Customer records only a manager or an admin makes (a rep's push is refused)."""


def shared_class(entity: str) -> SharedClass | None:
    """The shared class `entity` belongs to, or None for a customer record."""
    return next((c for c in SHARED_CLASSES if entity in c.entities), None)


@dataclass(frozen=True)
class FieldSpec:
    """One synced field: its kind, whether NULL is allowed, its bounds."""

    entity: str
    name: str
    kind: str
    """`str`, `id`, `int`, `bool`, `float`, `datetime`, `date` or `tags`."""
    nullable: bool
    required: bool
    """A new record must set it (no default in the model)."""
    max_length: int | None = None
    choices: tuple[str, ...] | None = None


def _kind(column: Any) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "datetime"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Integer):
        return "int"
    if isinstance(kind, Float):
        return "float"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, JSON):
        return "tags"
    if column.foreign_keys or getattr(kind, "length", None) == 36:
        return "id"
    return "str"


def _specs() -> dict[str, dict[str, FieldSpec]]:
    out: dict[str, dict[str, FieldSpec]] = {}
    for entity, model in m.ENTITIES.items():
        fields: dict[str, FieldSpec] = {}
        columns = model.__table__.columns  # type: ignore[attr-defined]
        for column in columns:
            if column.name in NOT_SYNCED:
                continue
            info = model.model_fields[column.name]
            kind = _kind(column)
            length = getattr(column.type, "length", None) if kind in ("str", "id") else None
            fields[column.name] = FieldSpec(
                entity,
                column.name,
                kind,
                bool(column.nullable),
                info.is_required(),
                length,
                CHOICES.get((entity, column.name)),
            )
        out[entity] = fields
    return out


SPECS: dict[str, dict[str, FieldSpec]] = _specs()
"""Per entity, per synced field, its spec."""


def _link_targets() -> dict[tuple[str, str], str]:
    entity_of = {model.__tablename__: name for name, model in m.ENTITIES.items()}
    out: dict[tuple[str, str], str] = {}
    for entity, model in m.ENTITIES.items():
        for column in model.__table__.columns:  # type: ignore[attr-defined]
            for key in column.foreign_keys:
                target = entity_of.get(key.column.table.name)
                if target is not None and column.name not in NOT_SYNCED:
                    out[(entity, column.name)] = target
    return out


LINK_TARGETS: dict[tuple[str, str], str] = _link_targets()
"""(entity, field) of every link (a foreign key of the models) and the entity it names."""


@cache
def required_fields(entity: str) -> tuple[str, ...]:
    """The fields a new record of `entity` must set, in column order."""
    return tuple(name for name, spec in SPECS[entity].items() if spec.required)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
MAX_DEPTH = 2
"""A field value nests at most a list in nothing (tags); deeper is refused unread."""


def _too_deep(text: str) -> bool:
    """Tell whether a JSON text nests deeper than MAX_DEPTH (checked before decoding it).

    Only for texts that start with `[` or `{`; strings are skipped whole, so a
    bracket inside one does not count. Python's decoder would recurse once per
    level and fail with RecursionError on a value thousands of levels deep.
    """
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def _check(spec: FieldSpec, value: Any) -> str | None:
    """Why `value` (decoded) does not fit `spec`, or None."""
    if value is None:
        return None if spec.nullable else "may not be null"
    kind = spec.kind
    if kind in ("str", "id", "datetime", "date"):
        if not isinstance(value, str):
            return "must be a string" if kind != "id" else "must be an id (a string)"
        bad = _bad_text(value)
        if bad:
            return bad
        if kind == "id" and not ID_PATTERN.fullmatch(value):
            return "must be an id (letters, digits and dashes, at most 36)"
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"is longer than {spec.max_length} characters"
        if kind == "datetime":
            try:
                parse_timestamp(value)
            except ValueError:
                return f"must be a UTC timestamp ({TIMESTAMP_FORMAT})"
        if kind == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return "must be a date (YYYY-MM-DD)"
            if len(value) != 10:
                return "must be a date (YYYY-MM-DD)"
        if spec.choices is not None and value not in spec.choices:
            return f"must be one of {', '.join(spec.choices)}"
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if not INT_MIN <= value <= INT_MAX:
            return "must fit in 64 bits"
        return None
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        return None  # NaN and Infinity never decode (`_refuse_constant`)
    # tags: a list of short strings
    if not isinstance(value, list):
        return "must be a list of strings"
    if len(value) > MAX_TAGS:
        return f"holds more than {MAX_TAGS} tags"
    for item in value:
        if not isinstance(item, str):
            return "must be a list of strings"
        bad = _bad_text(item)
        if bad:
            return f"has a tag that {bad}"
        if len(item) > MAX_TAG_CHARS:
            return f"has a tag longer than {MAX_TAG_CHARS} characters"
    return None


def check_value(entity: str, name: str, text: str | None) -> str | None:
    """Why the JSON text `text` cannot be field `entity.name`, or None when it can.

    The reason names the field and never repeats the value.
    """
    spec = SPECS.get(entity, {}).get(name)
    if spec is None:
        return f"unknown field {entity}.{name}"
    if text is None:
        decoded: Any = None
    else:
        if text[:1] in ("[", "{") and _too_deep(text):
            return f"{entity}.{name} nests lists or objects (a {spec.kind} is expected)"
        try:
            decoded = _decoder.decode(text)
        except (ValueError, RecursionError):
            return f"{entity}.{name}: the value is not JSON"
    if isinstance(decoded, dict) or (isinstance(decoded, list) and spec.kind != "tags"):
        return f"{entity}.{name} must not be a list or an object"
    reason = _check(spec, decoded)
    return f"{entity}.{name} {reason}" if reason else None


def check_op(entity: str, kind: str, name: str | None, text: str | None) -> str | None:
    """Why one op (create, set or delete) is malformed on its own, or None.

    The fields a create must set are checked with the op's batch (`missing_fields`).
    """
    if entity not in SPECS:
        return f"unknown entity {entity!r}"
    if kind != "set":
        if name is not None or text is not None:
            return f"a {kind} carries no field or value"
        return None
    if name is None or name not in SPECS[entity]:
        return f"unknown field {entity}.{name}"
    return check_value(entity, name, text)


def missing_fields(entity: str, valid: set[str] | frozenset[str]) -> list[str]:
    """The required fields of a new `entity` not among `valid` (fields set to a valid value)."""
    return [name for name in required_fields(entity) if name not in valid]


def printable(text: str | None, limit: int = 200) -> str | None:
    """A value made safe to store and show: ASCII JSON text, cut at `limit` characters."""
    if text is None:
        return None
    safe = json.dumps(text, ensure_ascii=True)[1:-1]
    return safe if len(safe) <= limit else safe[:limit] + "…"
