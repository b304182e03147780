"""Everything this laptop holds, with the versions it holds it at: what a reseed sends.

Per record: each synced field's value as the laptop shows it, under the newest
version the laptop knows of it (the synced version from the server, or a later
local edit in the journal), the version of its creation and of its last create,
delete or undelete. Versions carry their original device, so the server merges
laptops' states exactly as the feed would have.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import JSON, Boolean

from crmtui.domain.hierarchy import depths
from crmtui.store.journal import expand
from crmtui.store.models import ENTITIES
from crmtui.sync.apply_remote import _TABLES, _columns
from crmtui.sync.fields import SHARED, SPECS
from crmtui.sync.wire import MAX_RESEED_RECORDS, ReseedField, ReseedRecord

Version = tuple[str, str]
PARENTS_FIRST = ("territory", "account", "contact", "lead", "deal")
"""Records others take their territory from go first: the server places each as it comes."""


def _encode(entity: str, name: str, raw: Any) -> str:
    """A column's stored value as the JSON text its journal op carries."""
    if raw is None:
        return "null"
    column = _columns(entity)[name]
    if isinstance(column.type, Boolean):
        return "true" if raw else "false"
    if isinstance(column.type, JSON) and isinstance(raw, str):
        return json.dumps(json.loads(raw), ensure_ascii=False, sort_keys=True)
    return json.dumps(raw, ensure_ascii=False)


def _order() -> list[str]:
    shared = sorted(e for e in SHARED if e in SPECS and e != "territory")
    first = ["territory", *shared, *(e for e in PARENTS_FIRST if e != "territory")]
    return first + sorted(e for e in SPECS if e in ENTITIES and e not in first)


def _versions(
    db: sqlite3.Connection, entity: str
) -> tuple[dict[tuple[str, str], Version], dict[str, Version], dict[str, Version]]:
    """Per (row, field) the newest version known; per row its creation and last liveness."""
    fields: dict[tuple[str, str], Version] = {}
    created: dict[str, Version] = {}
    live: dict[str, Version] = {}
    for row_id, name, hlc, device in db.execute(
        "SELECT row_id, field, hlc, device_id FROM sync_field WHERE entity = ?", (entity,)
    ):
        fields[(row_id, name)] = (hlc, device)
    rows = db.execute(
        "SELECT id, row_id, op, field, value, hlc, device_id FROM journal WHERE entity = ?",
        (entity,),
    )
    for journal_id, row_id, kind, fld, value, hlc, device in rows:
        version = (hlc, device)
        for _, op, name, _v in expand(journal_id, kind, fld, value):
            if op == "set" and name is not None:
                key = (row_id, name)
                if key not in fields or version > fields[key]:
                    fields[key] = version
            elif op in ("create", "delete"):
                if op == "create" and (row_id not in created or version < created[row_id]):
                    created[row_id] = version
                if row_id not in live or version > live[row_id]:
                    live[row_id] = version
    return fields, created, live


def full_state(db: sqlite3.Connection) -> Iterator[ReseedRecord]:
    """Every record this laptop holds, parents first, as reseed records."""
    for entity in _order():
        names = [n for n in SPECS[entity] if n in _columns(entity)]
        fields, created, live = _versions(db, entity)
        quoted = ", ".join(f'"{n}"' for n in ["id", "deleted_at", *names])
        rows = db.execute(f'SELECT {quoted} FROM "{_TABLES[entity]}"').fetchall()
        if entity == "territory":
            levels = depths(dict(db.execute("SELECT id, parent_id FROM territory").fetchall()))
            rows.sort(key=lambda r: (levels.get(r[0], 0), r[0]))
        for row in rows:
            row_id, deleted = row[0], row[1] is not None
            sent = [
                ReseedField(
                    field=name,
                    value=_encode(entity, name, raw),
                    hlc=fields[(row_id, name)][0],
                    device_id=fields[(row_id, name)][1],
                )
                for name, raw in zip(names, row[2:], strict=True)
                if (row_id, name) in fields
            ]
            versions = [(f.hlc, f.device_id) for f in sent]
            first = created.get(row_id) or (min(versions) if versions else None)
            if first is None:
                continue  # nothing known of it: never synced, never journaled
            last = live.get(row_id, first)
            yield ReseedRecord(
                entity=entity,
                row_id=row_id,
                created_hlc=first[0],
                created_device=first[1],
                deleted=deleted,
                live_hlc=last[0],
                live_device=last[1],
                fields=sent,
            )


def batches(records: Iterator[ReseedRecord], budget: int) -> Iterator[list[ReseedRecord]]:
    """Records in batches under MAX_RESEED_RECORDS and about `budget` bytes of JSON each."""
    batch: list[ReseedRecord] = []
    size = 0
    for record in records:
        n = len(record.model_dump_json())
        if batch and (len(batch) >= MAX_RESEED_RECORDS or size + n > budget):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += n
    if batch:
        yield batch
