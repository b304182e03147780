"""Applying a pushed batch: authorise, merge and record each op, in one transaction.

A batch reads the state of its rows and fields once, decides its ops one after the
other against that state in memory (so a later op sees what an earlier op of the
same batch did), and writes everything back at the end with one statement per
table (`crmtui.server.bulk`). The feed lock, taken first, keeps other pushes out
meanwhile, so the state read at the start stays current until commit.

Most ops of a batch are plain: a field of a live record in the rep's scope, with
no special merge rule. `_apply_plain` decides those with the per-field
last-writer-wins rule of `crmtui.sync.merge.decide` (the only rule that applies
to them) without building its inputs; everything else -- creates, deletes, consent
and high-stakes fields, territory and owner changes, the links an activity or
tickler takes its territory from, records outside the rep's scope or deleted,
unknown names -- goes through `_apply_one` and `decide` itself.
`tests/test_sync_bulk.py` checks both give the same answers and the same state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from crmtui.domain.hierarchy import depths
from crmtui.domain.hlc import HLC, receive, tick
from crmtui.domain.ids import uuid7
from crmtui.server import tables as t
from crmtui.server.auth import Principal, subtree
from crmtui.server.bulk import existing_ids, insert_rows, rows_by_keys, upsert_rows
from crmtui.server.feed import PendingChange, lock_feed, write_changes
from crmtui.server.locks import lock_for_push, lock_territories
from crmtui.store.models import CONTACT_ITEMS, ENTITIES
from crmtui.sync.fields import (
    BUILTIN,
    LINK_TARGETS,
    MANAGERS_DECIDE,
    SHARED,
    check_op,
    missing_fields,
    shared_class,
)
from crmtui.sync.merge import (
    MAX_CLOCK_SKEW_MS,
    SERVER_DEVICE,
    ConsentState,
    Incoming,
    RowState,
    Version,
    clamp,
    decide,
    is_consent,
    is_high_stakes,
)
from crmtui.sync.wire import OUTSIDE_SCOPE, Op, PushRequest, PushResponse

OWN_TERRITORY = frozenset({"account", "contact", "deal", "lead"})
"""Entities that carry a territory_id; the others inherit one from what they link to."""
LINKS = t.LINK_FIELDS
NOT_SYNCED_FIELDS = frozenset({"id", "updated_at", "deleted_at"})
MOVES = frozenset({"territory_id", "owner_id"})
"""Fields whose change moves a record between scopes (or will): never a plain set."""


def _fields(entity: str) -> frozenset[str]:
    return frozenset(ENTITIES[entity].model_fields) - NOT_SYNCED_FIELDS


FIELDS = {name: _fields(name) for name in ENTITIES}


def _plain_fields(entity: str) -> frozenset[str]:
    # A link of a record without a territory of its own decides its territory.
    moves = MOVES if entity in OWN_TERRITORY else MOVES | frozenset(LINKS)
    return frozenset(
        name
        for name in FIELDS[entity] - moves
        if not is_consent(entity, name)
        and not is_high_stakes(entity, name)
        # A link's target must exist and be readable (`_refuse_link`).
        and (entity, name) not in LINK_TARGETS
    )


PLAIN_FIELDS = {name: _plain_fields(name) for name in ENTITIES if name not in SHARED}
"""Per entity, the fields whose merge is last-writer-wins and nothing else."""

_NEWER_THERE = "a newer value was already there"
_decode = json.JSONDecoder().decode
"""`json.loads` without its argument checks (values are `str`, checked by the wire model)."""
"""`decide`'s reason for a plain set that lost to the stored version."""

RowKey = tuple[str, str]
FieldKey = tuple[str, str, str]
Result = dict[str, Any]
"""One op's answer (a `PushResult`); the batch's answers are validated once, together."""


@dataclass
class _Batch:
    conn: Connection
    who: Principal
    device: str
    now_ms: int
    per_op: bool = False
    """Decide every op with `decide` and write its effects before the next op."""
    changes: list[PendingChange] = field(default_factory=list)
    batch_values: dict[RowKey, dict[str, str | None]] = field(default_factory=dict)
    last_clamped: str | None = None
    # Read once per batch and written back at the end: a statement or two per table
    # and batch instead of several per op (the feed lock keeps other pushes out).
    rows: dict[RowKey, dict[str, Any] | None] = field(default_factory=dict)
    fields: dict[FieldKey, Version] = field(default_factory=dict)
    dirty_rows: set[RowKey] = field(default_factory=set)
    dirty_fields: set[FieldKey] = field(default_factory=set)
    stored_rows: set[RowKey] = field(default_factory=set)
    """Keys already in the database (written back as updates, the rest as inserts)."""
    stored_fields: set[FieldKey] = field(default_factory=set)
    consent: dict[FieldKey, ConsentState] = field(default_factory=dict)
    """Consent fields' states (`merge.ConsentState`), read with the batch like its fields."""
    dirty_consent: set[FieldKey] = field(default_factory=set)
    stored_consent: set[FieldKey] = field(default_factory=set)
    newest_published: str | None = None
    """The newest version the server made for a consent field's merged state."""
    created: set[RowKey] = field(default_factory=set)
    """Records created in this batch (their territory was decided from the whole batch)."""
    reps: dict[str, frozenset[str] | None] = field(default_factory=dict)
    """Reps named as owners in this batch: the territories each may see (None: all)."""
    depths: dict[str, int] | None = None
    """Each territory's depth in the hierarchy (read once, when a link decides one)."""
    valid_fields: dict[RowKey, set[str]] = field(default_factory=dict)
    """Per record, the fields the batch sets to a valid non-null value (a create's needs)."""
    placing: tuple[RowKey, str | None] | None = None
    """The territory `_refuse` decided for the op's new record, reused by `_create_row`."""

    def __post_init__(self) -> None:
        # An HLC whose milliseconds (13 fixed-width digits) are at most this text is
        # never clamped, so most ops skip parsing their HLC.
        self.clamp_above = f"{self.now_ms + MAX_CLOCK_SKEW_MS:013d}"


_ID_TEXT = re.compile(r"[0-9A-Za-z-]{1,36}")
"""What an id may be (`crmtui.sync.fields`): the only link values worth looking up."""


def _link_keys(ops: list[Op]) -> set[RowKey]:
    """The records the batch's link values name (checked by `_refuse_link`): read with the rest."""
    keys: set[RowKey] = set()
    for op in ops:
        target = LINK_TARGETS.get((op.entity, op.field or ""))
        # An id is at most 36 characters: its JSON text at most 38.
        if target is not None and op.value and op.value[:1] == '"' and len(op.value) <= 38:
            try:
                name = _decode(op.value)
            except ValueError:
                continue  # malformed: refused by `_malformed` before it is looked at
            # Only an id can name a record; anything else (a lone surrogate, which the
            # database driver cannot even encode) is refused by `_malformed`.
            if isinstance(name, str) and _ID_TEXT.fullmatch(name):
                keys.add((target, name))
    return keys


def _prefetch(b: _Batch, ops: list[Op]) -> None:
    keys = sorted({(op.entity, op.row_id) for op in ops})
    for m in rows_by_keys(b.conn, t.row_scope, sorted(set(keys) | _link_keys(ops))):
        b.rows[(m["entity"], m["row_id"])] = m
        b.stored_rows.add((m["entity"], m["row_id"]))
    for f in rows_by_keys(b.conn, t.field_state, keys):
        fkey = (f["entity"], f["row_id"], f["field"])
        b.fields[fkey] = Version(f["value"], f["hlc"], f["device_id"])
        b.stored_fields.add(fkey)
    consent_keys = sorted(
        {(op.entity, op.row_id) for op in ops if op.op == "set" and is_consent(op.entity, op.field)}
    )
    for c in rows_by_keys(b.conn, t.consent_state, consent_keys):
        ckey = (c["entity"], c["row_id"], c["field"])
        b.consent[ckey] = ConsentState.loads(c["state"])
        b.stored_consent.add(ckey)
    for key in keys:
        b.rows.setdefault(key, None)


_SCOPE_COLUMNS = [c.name for c in t.row_scope.columns]


def _write_back(b: _Batch) -> None:
    """Write the rows and fields changed since the last write-back: inserts, then updates."""
    rows = sorted(b.dirty_rows)
    scope = {k: [r[n] for n in _SCOPE_COLUMNS] for k in rows if (r := b.rows[k]) is not None}
    insert_rows(b.conn, t.row_scope, [r for k, r in scope.items() if k not in b.stored_rows])
    upsert_rows(b.conn, t.row_scope, [r for k, r in scope.items() if k in b.stored_rows])
    fields = sorted(b.dirty_fields)
    values = {k: (*k, v.value, v.hlc, v.device_id) for k in fields if (v := b.fields[k])}
    insert_rows(b.conn, t.field_state, [r for k, r in values.items() if k not in b.stored_fields])
    upsert_rows(b.conn, t.field_state, [r for k, r in values.items() if k in b.stored_fields])
    states = {k: (*k, b.consent[k].dumps()) for k in sorted(b.dirty_consent)}
    # An empty state (no opt-out standing) needs no row unless one is stored already.
    insert_rows(
        b.conn,
        t.consent_state,
        [r for k, r in states.items() if k not in b.stored_consent and b.consent[k].live],
    )
    upsert_rows(b.conn, t.consent_state, [r for k, r in states.items() if k in b.stored_consent])
    b.stored_rows.update(rows)
    b.stored_fields.update(fields)
    b.stored_consent.update(k for k in states if k in b.stored_consent or b.consent[k].live)
    b.dirty_rows.clear()
    b.dirty_fields.clear()
    b.dirty_consent.clear()


def _territory_of(b: _Batch, entity: str, row_id: str) -> str | None:
    key = (entity, row_id)
    if b.rows.get(key) is None:
        found = rows_by_keys(b.conn, t.row_scope, [key])
        if found:
            b.rows[key] = found[0]
            b.stored_rows.add(key)
    row = b.rows.get(key)
    return row["territory_id"] if row is not None else None


def _initial_territory(b: _Batch, op: Op) -> str | None:
    values = b.batch_values.get((op.entity, op.row_id), {})
    if op.entity in OWN_TERRITORY:
        raw = values.get("territory_id")
        explicit = json.loads(raw) if raw else None
        account = values.get("account_id")
        if op.entity == "contact" and explicit is None and account and account != "null":
            # A contact made at an account is placed in the account's territory.
            return _territory_of(b, "account", json.loads(account))
        return explicit
    found = []
    for link in LINKS:
        raw = values.get(link)
        target = json.loads(raw) if raw else None
        if target:
            found.append(_territory_of(b, link.removesuffix("_id"), target))
    return _most_restrictive(b, found)


def _most_restrictive(b: _Batch, territories: list[str | None]) -> str | None:
    """Of the territories a record's links are in, the one deepest in the hierarchy.

    A call note on a South deal and an unplaced contact is South's, never everyone's;
    between equally deep ones, the first link (contact, deal, account) decides.
    """
    if b.depths is None:
        parents = dict(b.conn.execute(select(t.territory.c.id, t.territory.c.parent_id)).all())
        b.depths = depths(parents)
    best: str | None = None
    for territory in territories:
        if territory is not None and (
            best is None or b.depths.get(territory, 0) > b.depths.get(best, 0)
        ):
            best = territory
    return best


def _visible(b: _Batch, row: dict[str, Any]) -> bool:
    """Tell whether the pushing rep may read and write this record (`Principal.sees_row`)."""
    if row["territory_id"] is None and row["created_device"] == b.device:
        return True  # made by this laptop (not yet bound to the rep on its first push)
    return b.who.sees_row(row["entity"], row["territory_id"], row["created_device"])


def _relinks(b: _Batch, op: Op, row: dict[str, Any] | None) -> bool:
    """Tell whether the op changes a link that decides an existing record's territory."""
    return (
        op.op == "set"
        and op.field in LINKS
        and op.entity not in OWN_TERRITORY
        and row is not None
        and (op.entity, op.row_id) not in b.created
    )


def _inherited(b: _Batch, op: Op) -> str | None:
    """The territory the op's record takes from its links once the op's value is in."""
    found = []
    for link in LINKS:
        if link == op.field:
            raw = op.value
        else:
            version = b.fields.get((op.entity, op.row_id, link))
            raw = version.value if version is not None else None
        target = _decode(raw) if raw else None
        if target:
            found.append(_territory_of(b, link.removesuffix("_id"), str(target)))
    return _most_restrictive(b, found)


def _row_state(b: _Batch, op: Op) -> tuple[RowState, dict[str, Any] | None]:
    m = b.rows.get((op.entity, op.row_id))
    if m is None:
        return RowState(), None
    others = None
    if op.op == "delete":
        # Every field op logged for the record before this batch (the batch's own
        # are logged at its end; they are all from this device anyway). The log
        # kept the server's id of the pushing device, never the journal id that
        # `b.device` is, so a device test here never excluded anything.
        c = t.change.c
        others = b.conn.execute(
            select(func.max(c.hlc)).where(
                c.entity == op.entity,
                c.row_id == op.row_id,
                c.op_id.is_not(None),
                c.field.is_not(None),
            )
        ).scalar()
    return RowState(exists=True, deleted=bool(m["deleted"]), others_hlc=others), m


def _field_version(b: _Batch, op: Op) -> Version | None:
    return b.fields.get((op.entity, op.row_id, op.field or ""))


_UNKNOWN_REP: frozenset[str] = frozenset({"\0unknown"})
"""`_reach`'s answer for an id that names no rep (no territory is called that)."""


def _reach(b: _Batch, rep_id: str) -> frozenset[str] | None:
    """The territories a rep may see (None: all, an admin), as `auth.authenticate` has it."""
    if rep_id not in b.reps:
        role = b.conn.execute(select(t.rep.c.role).where(t.rep.c.id == rep_id)).scalar()
        if role is None:
            b.reps[rep_id] = _UNKNOWN_REP
        elif role == "admin":
            b.reps[rep_id] = None
        else:
            assigned = frozenset(
                b.conn.execute(
                    select(t.rep_territory.c.territory_id).where(t.rep_territory.c.rep_id == rep_id)
                ).scalars()
            )
            b.reps[rep_id] = subtree(b.conn, assigned) if role == "manager" else assigned
    return b.reps[rep_id]


def _refuse_owner(b: _Batch, op: Op, row: dict[str, Any] | None) -> str | None:
    """Why the rep may not hand this record to the named owner, or None when it may.

    The owner is a rep the server knows (or nobody). Reps and managers give or
    take ownership only to someone who can see the record's territory -- inside
    their own territories or subtree, which `_refuse` already checked the record
    is; an admin may name any rep.
    """
    owner = json.loads(op.value) if op.value else None
    if owner is None:
        return None
    if not isinstance(owner, str):
        return "an owner is a rep's id"
    reach = _reach(b, owner)
    if reach is _UNKNOWN_REP:
        return "the new owner is not a rep known to the server"
    if b.who.role == "admin" or owner == b.who.rep_id:
        return None
    territory = row["territory_id"] if row is not None else _initial_territory(b, op)
    if territory and reach is not None and territory not in reach:
        return "the new owner does not work in the record's territory"
    return None


def _refuse(b: _Batch, op: Op, row: dict[str, Any] | None) -> str | None:
    """Why the rep may not make this op, or None when it may."""
    who = b.who
    # The op's own form (entity, field, value) was checked with its batch (`_malformed`).
    shared = shared_class(op.entity)
    if shared is not None and who.role not in shared.writers:
        return f"{op.entity} records are {shared.name}, changed by an admin only"
    if op.entity in MANAGERS_DECIDE and who.role == "rep":
        return f"{op.entity} records are decisions made by managers and admins"
    if row is None and op.op != "create":
        return "unknown record (its creation was not accepted by the server)"
    if row is not None and not _visible(b, row):
        return OUTSIDE_SCOPE
    if op.op == "set" and (op.entity, op.field) in LINK_TARGETS:
        bad = _refuse_link(b, op.entity, op.field or "", op.value)
        if bad is not None:
            return bad
    if row is None:
        bad = _bad_new_link(b, op)
        if bad is not None:
            return f"a new {bad}"
        missing = missing_fields(op.entity, b.valid_fields.get((op.entity, op.row_id), set()))
        if missing:
            return f"a new {op.entity} needs a valid {', '.join(missing)}"
        target = _initial_territory(b, op)
        # Nothing the op does before `_create_row` changes what decides it: kept for it.
        b.placing = ((op.entity, op.row_id), target)
        if not who.sees(target):
            return "the record would be outside your territories"
    if op.op == "set" and op.field == "territory_id" and op.entity in OWN_TERRITORY:
        target = json.loads(op.value) if op.value else None
        placed = row is not None and (op.entity, op.row_id) not in b.created
        if placed and who.role == "rep" and target != row["territory_id"]:  # type: ignore[index]
            # Unplacing would show it to every manager, moving hides it from teammates.
            return "territory changes are made by managers and admins"
        if not who.sees(target):
            return "territory changes outside your territories are decided by the server"
    if op.op == "set" and op.field == "owner_id":
        return _refuse_owner(b, op, row)
    if _relinks(b, op, row):
        inherited = _inherited(b, op)
        if not who.sees(inherited):
            return "the record would be outside your territories"
        if who.role == "rep" and inherited != row["territory_id"]:  # type: ignore[index]
            return "a link that moves the record to another territory is a manager's change"
    return None


def _refuse_link(b: _Batch, entity: str, name: str, text: str | None) -> str | None:
    """Why a link value may not be stored, or None: it names a record the caller may read.

    The same answer for a record that does not exist and one outside the caller's
    scope, so a refusal tells nothing about ids that belong to others. A deleted
    record still exists (a contact or deal can come back). Records created earlier
    in the batch are in `b.rows` already; the default pipeline exists everywhere.
    """
    target_id = _decode(text) if text else None
    if target_id is None:
        return None
    target = LINK_TARGETS[(entity, name)]
    if (target, target_id) in BUILTIN:
        return None
    key = (target, str(target_id))
    if b.rows.get(key) is None:
        _territory_of(b, *key)
    row = b.rows.get(key)
    if row is not None and _visible(b, row):
        return None
    return f"{entity}.{name} does not name a {target} you can link to"


def _bad_new_link(b: _Batch, op: Op) -> str | None:
    """Why a new record's links (its batch's values) may not be stored, or None.

    A create with such a link is refused whole, like one missing a required field:
    a record made without the link would not be the one the laptop holds, and
    its territory would be decided without it.
    """
    values = b.batch_values.get((op.entity, op.row_id), {})
    for name, text in values.items():
        if (op.entity, name) in LINK_TARGETS:
            reason = _refuse_link(b, op.entity, name, text)
            if reason is not None:
                return reason
    return None


def _malformed(b: _Batch, ops: list[Op]) -> dict[str, str]:
    """Check each op's form against the field specs; note the batch's valid values.

    Returns the reason per malformed op id. Only valid values reach `batch_values`
    (a new record's territory is decided from them) and `valid_fields`.
    """
    malformed: dict[str, str] = {}
    for op in ops:
        reason = check_op(op.entity, op.op, op.field, op.value)
        if reason is not None:
            malformed.setdefault(op.op_id, reason)
            continue
        if op.op == "set" and op.field is not None:
            key = (op.entity, op.row_id)
            b.batch_values.setdefault(key, {})[op.field] = op.value
            if op.value is not None and op.value != "null":
                b.valid_fields.setdefault(key, set()).add(op.field)
    return malformed


def _emit(b: _Batch, kind: str, op: Op, hlc: str, territory: str | None, **kw: object) -> None:
    b.changes.append(
        PendingChange(
            kind=kind,
            entity=op.entity,
            row_id=op.row_id,
            field=kw.get("field"),  # type: ignore[arg-type]
            value=kw.get("value"),  # type: ignore[arg-type]
            hlc=hlc,
            device_id=str(kw.get("device_id", b.device)),
            territory_id=territory,
            flagged=bool(kw.get("flagged", False)),
            echo=bool(kw.get("echo", False)),
        )
    )


def _move(b: _Batch, op: Op, hlc: str, old: str | None, new: str | None) -> None:
    """A record changed territory: remove it from the old scope, snapshot it into the new."""
    _emit(b, "removal", op, hlc, old)
    _emit(b, "create", op, hlc, new)
    for (entity, row_id, name), v in sorted(b.fields.items()):
        if (entity, row_id) == (op.entity, op.row_id):
            _emit(b, "set", op, v.hlc, new, field=name, value=v.value, device_id=v.device_id)


def _follow(b: _Batch, op: Op, hlc: str) -> None:
    """Records that take their territory from the moved one (`_initial_territory`) follow it.

    An activity, a tickler or a stage change linking the moved contact, deal or
    account takes the most restrictive territory of its links again; when that
    changed, it is re-scoped: a removal for its old territory, a snapshot of its
    fields for the new one. What takes its territory from a re-scoped record follows
    in turn (an account's price list, then the list's prices; a deal's quote, then
    its lines).
    """
    _write_back(b)  # the batch's own links and rows are then in the tables
    _follow_row(b, op.entity, op.row_id, hlc, depth=0)


_FOLLOW_DEPTH = 3
"""Links chain at most account > price list > price or deal > quote > quote line."""


def _follow_row(b: _Batch, entity: str, row_id: str, hlc: str, *, depth: int) -> None:
    link = f"{entity}_id"
    if link not in LINKS or depth >= _FOLLOW_DEPTH:
        return
    named = b.conn.execute(
        select(t.field_state.c.entity, t.field_state.c.row_id).where(
            t.field_state.c.field == link, t.field_state.c.value == json.dumps(row_id)
        )
    ).all()
    keys = sorted({(e, r) for e, r in named if e in ENTITIES and e not in OWN_TERRITORY})
    fields: dict[RowKey, dict[str, Version]] = {}
    for f in rows_by_keys(b.conn, t.field_state, keys):
        version = Version(f["value"], f["hlc"], f["device_id"])
        fields.setdefault((f["entity"], f["row_id"]), {})[f["field"]] = version
    for key in keys:
        own = fields.get(key, {})
        targets = [(n, _decode(own[n].value or "null")) for n in LINKS if n in own and own[n].value]
        placed = _most_restrictive(
            b, [_territory_of(b, n.removesuffix("_id"), str(v)) for n, v in targets if v]
        )
        old = _territory_of(b, *key)
        row = b.rows.get(key)
        if row is None or old == placed:
            continue
        _touch(b, row, territory_id=placed)
        if row["deleted"]:
            continue
        child, child_id = key
        b.changes.append(PendingChange("removal", child, child_id, None, None, hlc, b.device, old))
        b.changes.append(
            PendingChange("create", child, child_id, None, None, hlc, b.device, placed)
        )
        for name, v in sorted(own.items()):
            b.changes.append(
                PendingChange("set", child, child_id, name, v.value, v.hlc, v.device_id, placed)
            )
        _follow_row(b, child, child_id, hlc, depth=depth + 1)


def _record_conflict(
    b: _Batch, op: Op, hlc: str, current: Version, won: bool, territory: str | None
) -> None:
    """Keep both values of a concurrent high-stakes edit for a person to pick."""
    mine = Version(op.value, hlc, b.device)
    kept, other = (mine, current) if won else (current, mine)
    conflict_id = uuid7()
    b.conn.execute(
        insert(t.conflict).values(
            id=conflict_id,
            entity=op.entity,
            row_id=op.row_id,
            field=op.field,
            kept_value=kept.value,
            kept_hlc=kept.hlc,
            kept_device=kept.device_id,
            other_value=other.value,
            other_hlc=other.hlc,
            other_device=other.device_id,
            territory_id=territory,
            seq=0,
        )
    )
    b.changes.append(
        PendingChange(
            "conflict",
            op.entity,
            op.row_id,
            op.field,
            None,
            hlc,
            b.device,
            territory,
            conflict_id=conflict_id,
        )
    )


def _item_creator(b: _Batch, op: Op) -> str:
    """Who an unplaced record counts as made by: for a contact's item, the contact's maker.

    An unplaced record is seen by its maker's laptops, managers and admins; a phone a
    manager adds to a rep's unplaced contact must reach that rep like the contact does.
    """
    if op.entity not in CONTACT_ITEMS:
        return b.device
    raw = b.batch_values.get((op.entity, op.row_id), {}).get("contact_id")
    contact_id = json.loads(raw) if raw else None
    if not contact_id:
        return b.device
    _territory_of(b, "contact", contact_id)  # reads the contact's scope row into the batch
    owner = b.rows.get(("contact", contact_id))
    return str(owner["created_device"]) if owner is not None else b.device


def _create_row(b: _Batch, op: Op, hlc: str) -> dict[str, Any]:
    """Make a new record's scope row (territory decided from the batch) and emit its create."""
    key = (op.entity, op.row_id)
    placing, b.placing = b.placing, None
    territory = (
        placing[1] if placing is not None and placing[0] == key else _initial_territory(b, op)
    )
    row: dict[str, Any] = {
        "entity": op.entity,
        "row_id": op.row_id,
        "territory_id": territory,
        "owner_id": None,
        "deleted": False,
        "flagged": False,
        "last_hlc": hlc,
        "created_hlc": hlc,
        "created_device": _item_creator(b, op) if territory is None else b.device,
    }
    b.rows[(op.entity, op.row_id)] = row
    b.dirty_rows.add((op.entity, op.row_id))
    b.created.add((op.entity, op.row_id))
    _emit(b, "create", op, hlc, territory, echo=True)
    return row


def _touch(b: _Batch, row: dict[str, Any], **values: object) -> None:
    """Change a scope row in memory; it is written back with the batch."""
    row.update(values)
    b.dirty_rows.add((row["entity"], row["row_id"]))


def _apply_plain(b: _Batch, op: Op, hlc: str) -> Result | None:
    """Decide a plain field set, or None when the op needs `_apply_one`.

    Plain: a known field with no rule but last-writer-wins (not consent, not high
    stakes, not a territory or owner change) of a live record inside the rep's
    scope, with a JSON value. `decide` then returns `_lww` of "newer than the
    stored version" (or "applied" when there is none) -- exactly what is done here.
    """
    entity, row_id, name, value = op.entity, op.row_id, op.field, op.value
    fields = PLAIN_FIELDS.get(entity)
    if op.op != "set" or fields is None or name not in fields:
        return None
    row = b.rows.get((entity, row_id))
    if row is None or row["deleted"] or not _visible(b, row):
        return None
    key = (entity, row_id, name)
    current = b.fields.get(key)
    if current is not None and (hlc, b.device) <= (current.hlc, current.device_id):
        return _result(op, "superseded", hlc, _NEWER_THERE, current)
    b.fields[key] = Version(value, hlc, b.device)
    b.dirty_fields.add(key)
    territory = row["territory_id"] or None
    b.changes.append(
        PendingChange("set", entity, row_id, name, value, hlc, b.device, territory, echo=True)
    )
    if hlc > row["last_hlc"]:
        row["last_hlc"] = hlc
        b.dirty_rows.add((entity, row_id))
    return {"op_id": op.op_id, "status": "applied", "reason": None, "hlc": hlc, "current": None}


def _publish(b: _Batch, current: Version | None, hlc: str) -> str:
    """A new version for a consent field's merged state: just after the field's last and the op.

    Not the server's clock: a delete compares its base with other devices' edits,
    so a published version stays among the clock readings of the ops it merges.
    """
    last = max(current.hlc, hlc) if current is not None else hlc
    published = tick(HLC.decode(last), 0).encode()
    b.newest_published = max(b.newest_published or published, published)
    return published


def _write_consent(
    b: _Batch,
    op: Op,
    state: ConsentState,
    changed: bool,
    current: Version | None,
    hlc: str,
    territory: str | None,
) -> None:
    """Keep a consent field's new state; when it changed, publish its value.

    The field takes the merged state's value under the op's version when that names
    the state (`ConsentState.named_by`), else under a version of the server's own
    whose observed opt-outs are all those standing; the feed carries it.
    """
    fkey = (op.entity, op.row_id, op.field or "")
    b.consent[fkey] = state
    b.dirty_consent.add(fkey)
    if not changed:
        return
    mine = Incoming(op.entity, op.op, op.field, op.value, hlc, b.device)
    if state.named_by(mine):
        # The usual case (one opt-out, or every one cancelled): the op's own version.
        b.fields[fkey] = Version(op.value, hlc, b.device)
        b.dirty_fields.add(fkey)
        # A consent field's versions do not follow the clock (an older opt-out can
        # follow a newer opt-in), so a device needs its own op back to put its value
        # back after an earlier entry of the feed -- unless there is none: the record
        # was created in this batch, whose ops all come from this device.
        new = (op.entity, op.row_id) in b.created
        _emit(b, "set", op, hlc, territory, field=op.field, value=op.value, echo=new)
        return
    published = _publish(b, current, hlc)
    b.fields[fkey] = Version(state.value, published, SERVER_DEVICE)
    b.dirty_fields.add(fkey)
    b.consent[fkey] = state.published((published, SERVER_DEVICE))
    _emit(
        b,
        "set",
        op,
        published,
        territory,
        field=op.field,
        value=state.value,
        device_id=SERVER_DEVICE,
    )


def _write_field(
    b: _Batch, op: Op, row: dict[str, Any] | None, hlc: str, territory: str | None, *, deleted: bool
) -> str | None:
    """Store the op's value as the field's version and emit it; returns the row's territory."""
    fkey = (op.entity, op.row_id, op.field or "")
    b.fields[fkey] = Version(op.value, hlc, b.device)
    b.dirty_fields.add(fkey)
    if op.field == "owner_id" and row is not None:
        _touch(b, row, owner_id=json.loads(op.value) if op.value else None)
    if _relinks(b, op, row):
        moving, new = True, _inherited(b, op)
    else:
        moving = op.field == "territory_id" and op.entity in OWN_TERRITORY
        new = json.loads(op.value) if moving and op.value else None
    if not moving or new == territory:
        _emit(b, "set", op, hlc, territory, field=op.field, value=op.value, echo=True)
        return territory
    # The old scope gets a removal only; the new one a snapshot with this value.
    if row is not None:
        _touch(b, row, territory_id=new)
    if not deleted:
        _move(b, op, hlc, territory, new)
    _follow(b, op, hlc)
    return new


def _apply_one(b: _Batch, op: Op, hlc: str) -> Result:
    emitted = len(b.changes)
    result = _decide_one(b, op, hlc)
    if result["status"] not in _RECORDED:
        # The device records the version of an op answered `applied` or `conflict`
        # only: anything else it must be sent back (e.g. an edit of a deleted
        # activity, superseded, still moves the field's clock on the server).
        for change in b.changes[emitted:]:
            change.echo = False
    return result


_RECORDED = frozenset({"applied", "conflict"})
"""Answers whose version the device records (`SyncClient._record`)."""


def _decide_one(b: _Batch, op: Op, hlc: str) -> Result:
    b.placing = None
    state, row = _row_state(b, op)
    refusal = _refuse(b, op, row)
    if refusal is not None:
        # The server's value goes back only to a caller who may read the record.
        readable = row is not None and _visible(b, row)
        current = _field_version(b, op) if op.op == "set" and readable else None
        return _result(op, "rejected", hlc, refusal, current)
    current = _field_version(b, op) if op.op == "set" else None
    fkey = (op.entity, op.row_id, op.field or "")
    consent = None
    if op.op == "set" and is_consent(op.entity, op.field):
        found = b.consent.get(fkey)
        consent = found if found is not None else ConsentState.from_version(current)
    incoming = Incoming(
        op.entity, op.op, op.field, op.value, hlc, b.device, op.base_hlc, op.base_device
    )
    d = decide(incoming, state, current, consent)
    territory: str | None = str(row["territory_id"]) if row and row["territory_id"] else None
    if d.create_row:
        row = _create_row(b, op, hlc)
        territory = row["territory_id"]
    if d.consent is not None:
        _write_consent(b, op, d.consent, d.write_field, current, hlc, territory)
    elif d.write_field:
        territory = _write_field(b, op, row, hlc, territory, deleted=state.deleted)
    if d.delete_row:
        if row is not None:
            _touch(b, row, deleted=True)
        _emit(b, "delete", op, hlc, territory)
    if d.undelete_row:
        if row is not None:
            _touch(b, row, deleted=False, flagged=True)
        _emit(b, "undelete", op, hlc, territory, flagged=True)
    elif d.flag:
        if row is not None:
            _touch(b, row, flagged=True)
        _emit(b, "undelete", op, hlc, territory, flagged=True)
    if (
        (d.write_field or d.delete_row or d.undelete_row)
        and row is not None
        and (hlc > str(row["last_hlc"]))
    ):
        _touch(b, row, last_hlc=hlc)
    if d.conflict and current is not None:
        _record_conflict(b, op, hlc, current, d.write_field, territory)
    shown = None if d.write_field or op.op != "set" else _field_version(b, op)
    if d.consent is not None:
        # The device keeps its own value only when it is the merged one.
        shown = after if (after := _field_version(b, op)) and after.value != op.value else None
    return _result(op, d.status, hlc, d.reason, shown)


def _clamp(b: _Batch, hlc: str) -> str:
    """The op's HLC, clamped when it runs ahead of the server (see `merge.clamp`)."""
    if hlc[:13] <= b.clamp_above:
        return hlc
    clamped = clamp(hlc, b.now_ms, b.last_clamped)
    if clamped != hlc:
        b.last_clamped = clamped
    return clamped


def _result(
    op: Op, status: str, hlc: str, reason: str | None = None, current: Version | None = None
) -> Result:
    """A `PushResult`: `current` is the field on the server when the op did not take effect."""
    shown = None
    if current is not None:
        shown = {"value": current.value, "hlc": current.hlc, "device_id": current.device_id}
    return {"op_id": op.op_id, "status": status, "reason": reason, "hlc": hlc, "current": shown}


def _resolve(b: _Batch, conflict_ids: list[str], now: str) -> None:
    for cid in conflict_ids:
        row = b.conn.execute(select(t.conflict).where(t.conflict.c.id == cid)).first()
        if row is None or row.resolved_at is not None:
            continue
        scope = rows_by_keys(b.conn, t.row_scope, [(row.entity, row.row_id)])
        if not scope or not _visible(b, scope[0]):
            continue
        b.conn.execute(update(t.conflict).where(t.conflict.c.id == cid).values(resolved_at=now))
        b.changes.append(
            PendingChange(
                "conflict",
                row.entity,
                row.row_id,
                row.field,
                None,
                row.kept_hlc,
                b.device,
                row.territory_id,
                conflict_id=cid,
            )
        )


def _log(b: _Batch, op: Op, hlc: str, result: Result, emitted: int, now_text: str) -> None:
    """Log the op with its answer: on its echo (one row per op), else on a `LOGGED` row."""
    logged = next((c for c in b.changes[emitted:] if c.echo), None)
    if logged is None:
        logged = PendingChange(t.LOGGED, op.entity, op.row_id, op.field, None, hlc, b.device, None)
        b.changes.append(logged)
    # The echo carries the op's stored (clamped) HLC: the log's answer for a resend.
    logged.op_id, logged.received_at = op.op_id, now_text
    logged.status, logged.reason = result["status"], result["reason"]


class DeviceMismatch(ValueError):
    """The batch names another journal device than the one bound to this token."""


def bind_client(conn: Connection, who: Principal, client_id: str) -> None:
    """Bind the token's device to the laptop's journal device id on first use."""
    bound = conn.execute(
        select(t.device.c.client_id).where(t.device.c.id == who.device_id)
    ).scalar()
    if bound == client_id:
        return
    if bound is not None:
        raise DeviceMismatch("this token belongs to another database (its device id differs)")
    holder = conn.execute(
        select(t.device.c.id, t.device.c.rep_id, t.device.c.revoked_at).where(
            t.device.c.client_id == client_id
        )
    ).first()
    if holder is not None:
        if holder[2] is None:
            raise DeviceMismatch(
                "this database is already enrolled with another live token"
                f" (device {holder[0]}); revoke that one first"
            )
        if holder[1] != who.rep_id:
            raise DeviceMismatch(
                "this database was enrolled for another rep; ask the admin for a token"
                " of that rep or start from a new database"
            )
        # Re-enrolment: the laptop's earlier token was revoked and a new one issued to
        # the same rep. The binding moves to the new device (the old one stays revoked),
        # so the records this laptop created stay the rep's.
        conn.execute(update(t.device).where(t.device.c.id == holder[0]).values(client_id=None))
    conn.execute(update(t.device).where(t.device.c.id == who.device_id).values(client_id=client_id))


def apply_push(
    engine: Engine,
    who: Principal,
    request: PushRequest,
    now_ms: int,
    now_text: str,
    *,
    per_op: bool = False,
) -> PushResponse:
    """Apply one batch in one transaction and answer per op, in the order sent.

    An op seen before (same op id) is answered from the log and changes nothing,
    so a retry after a lost response can neither lose nor duplicate anything.
    `per_op` sends every op through `decide` and writes its effects before the
    next op is read (the reference the batched path is tested against).
    """
    answer = apply_batch(engine, who, request, now_ms, now_text, per_op=per_op)
    return PushResponse.model_validate(answer)


class _WiderThanLocked(Exception):
    """A manager's push touched a territory it had not locked: redo it under the everything lock."""


def _manager_territories(
    conn: Connection, who: Principal, device: str, ops: list[Op]
) -> frozenset[str] | None:
    """The territories a manager's batch touches, read before locking; None: lock everything.

    Each op's record, the records its link values name, and every territory a
    `territory_id` set names. A batch that writes shared records, or touches an
    unplaced record another rep made, takes the everything lock.
    """
    if who.role != "manager" or conn.dialect.name != "postgresql":
        return None
    if any(op.entity in SHARED for op in ops):
        return None
    found: set[str] = set()
    keys = sorted({(op.entity, op.row_id) for op in ops} | _link_keys(ops))
    for m in rows_by_keys(conn, t.row_scope, keys):
        if m["entity"] in SHARED:
            continue  # a link to reference data: read only, never locked by anyone
        if m["territory_id"] is None:
            if m["created_device"] != device and m["created_device"] not in who.clients:
                return None
            continue
        found.add(m["territory_id"])
    for op in ops:
        if op.op == "set" and op.field == "territory_id" and op.value:
            try:
                value = _decode(op.value)
            except ValueError:
                continue  # malformed: refused before it is read
            if isinstance(value, str):
                found.add(value)
    return frozenset(found)


def _within(b: _Batch, locked: frozenset[str]) -> None:
    """Raise `_WiderThanLocked` when the batch read or wrote outside the territories it locked."""

    def ok(entity: str, territory: str | None, created: str | None) -> bool:
        if entity in SHARED or territory in locked:
            return True
        return territory is None and (created == b.device or created in b.who.clients)

    for (entity, _row), row in b.rows.items():
        if row is not None and not ok(entity, row["territory_id"], row["created_device"]):
            raise _WiderThanLocked
    for change in b.changes:
        row = b.rows.get((change.entity, change.row_id))
        created = row["created_device"] if row is not None else b.device
        if not ok(change.entity, change.territory_id, created):
            raise _WiderThanLocked


def _lock(
    conn: Connection, who: Principal, request: PushRequest, *, narrow: bool
) -> frozenset[str] | None:
    """Take a push's locks; returns the territories a manager's push locked (else None)."""
    locked = None
    if narrow and not request.resolved_conflicts:  # a conflict may be anywhere in scope
        locked = _manager_territories(conn, who, request.device_id, list(request.ops))
    if locked is not None:
        lock_territories(conn, locked, who.rep_id)
        return locked
    if not lock_for_push(conn, who):
        lock_feed(conn)
    return None


def apply_batch(
    engine: Engine,
    who: Principal,
    request: PushRequest,
    now_ms: int,
    now_text: str,
    *,
    per_op: bool = False,
) -> dict[str, Any]:
    """`apply_push` answering with the plain data of a `PushResponse` (for the route)."""
    try:
        return _apply_batch(engine, who, request, now_ms, now_text, per_op=per_op, narrow=True)
    except _WiderThanLocked:
        # Rolled back: nothing of the first attempt was written.
        return _apply_batch(engine, who, request, now_ms, now_text, per_op=per_op, narrow=False)


def _apply_batch(
    engine: Engine,
    who: Principal,
    request: PushRequest,
    now_ms: int,
    now_text: str,
    *,
    per_op: bool,
    narrow: bool,
) -> dict[str, Any]:
    with engine.begin() as conn:
        # A rep's push locks its territories only (crmtui.server.locks), a manager's
        # the territories of the records it touches; their entries are numbered at
        # the end, under the counter lock (crmtui.server.feed).
        ops = list(request.ops)
        locked = _lock(conn, who, request, narrow=narrow)
        bind_client(conn, who, request.device_id)
        b = _Batch(conn, who, request.device_id, now_ms, per_op=per_op)
        _prefetch(b, ops)
        if locked is not None:
            _within(b, locked)  # a record moved between the first read and the locks
        malformed = _malformed(b, ops)
        # (status, reason, hlc) of ops answered before, from the log or this batch.
        seen: dict[str, tuple[str, str | None, str]] = {
            r.op_id: (r.status, r.reason, r.hlc)
            for r in existing_ids(conn, t.change, "op_id", [op.op_id for op in ops])
        }
        results: list[Result] = []
        newest = "0000000000000-00000"
        for op in ops:
            before = seen.get(op.op_id)
            if before is not None:
                status, reason, stored = before
                results.append(
                    {
                        "op_id": op.op_id,
                        "status": status,
                        "reason": reason,
                        "hlc": stored,
                        "current": None,
                    }
                )
                continue
            hlc = _clamp(b, op.hlc)
            emitted = len(b.changes)
            refusal = malformed.get(op.op_id)
            result: Result | None = None
            if refusal is not None:
                # Checked before anything reads the value: it changes nothing.
                result = _result(op, "rejected", hlc, refusal)
            elif not per_op:
                result = _apply_plain(b, op, hlc)
            if result is None:
                result = _apply_one(b, op, hlc)
            if per_op:
                _write_back(b)
            results.append(result)
            # A duplicate inside the batch is a no-op too.
            seen[op.op_id] = (result["status"], result["reason"], hlc)
            _log(b, op, hlc, result, emitted, now_text)
            # HLC texts are fixed-width, so the text order is the clock order.
            newest = max(newest, hlc)
        if locked is not None:
            _within(b, locked)
        _write_back(b)
        _resolve(b, list(request.resolved_conflicts), now_text)
        conn.execute(
            update(t.device).where(t.device.c.id == who.device_id).values(last_seen_at=now_text)
        )
        # Numbered last: `write_changes` draws the numbers with one UPDATE of the
        # counter, whose row lock is held from there to commit (one insert of the
        # entries), so pushes decide in parallel and each feed row is written once,
        # already numbered (`crmtui.server.feed`).
        drawn = write_changes(conn, b.changes)
        newest = max(newest, b.newest_published or newest)
    server_hlc = receive(None, HLC.decode(newest), now_ms).encode()
    # `feed`: the feed numbers this batch drew; its echoes are the ops answered here.
    return {"results": results, "server_hlc": server_hlc, "feed": drawn}
