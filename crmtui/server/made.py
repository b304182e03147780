"""Customer records the server makes itself (a web lead, its note, its plan enrolment).

Each is written as a pushed record would be: a scope row placed in its territory
with its owner, a version per field, and a create and one set per field in the feed
under the server's device id, so a pull hands it to every device whose scope covers
the territory. Values are checked with the same field specs as a push
(`crmtui.sync.fields.check_op`): a record the server makes is one a laptop accepts.
The caller holds the feed lock (`crmtui.server.feed.lock_feed`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from crmtui.domain.hlc import HLC
from crmtui.server import tables as t
from crmtui.server.bulk import insert_rows
from crmtui.server.feed import PendingChange
from crmtui.store.types import TIMESTAMP_FORMAT
from crmtui.sync.fields import check_op, missing_fields
from crmtui.sync.merge import SERVER_DEVICE


def timestamp(moment: datetime) -> str:
    """A moment as the wire writes it (`YYYY-MM-DDTHH:MM:SS.ffffffZ`)."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def new_hlc(now_ms: int) -> str:
    """The version of a record the server makes now (a new record has no earlier version)."""
    return HLC(now_ms, 0).encode()


class BadRecord(ValueError):
    """A record the server was about to make does not fit the field specs (a bug)."""


def make_record(
    conn: Connection,
    entity: str,
    row_id: str,
    values: dict[str, object],
    *,
    territory_id: str | None,
    owner_id: str | None,
    hlc: str,
    created_device: str = SERVER_DEVICE,
) -> list[PendingChange]:
    """Store a new record made by the server; its feed entries (numbered by the caller).

    `created_device` decides who reads an unplaced record (its creator's laptops): a
    note on an unplaced contact names the contact's creator, so whoever reads the
    contact reads the note.
    """
    encoded = {
        name: json.dumps(value, ensure_ascii=False)
        for name, value in values.items()
        if value is not None
    }
    for name, text in encoded.items():
        reason = check_op(entity, "set", name, text)
        if reason is not None:
            raise BadRecord(f"{entity}.{name}: {reason}")
    missing = missing_fields(entity, set(encoded))
    if missing:
        raise BadRecord(f"a new {entity} needs {', '.join(missing)}")
    insert_rows(
        conn,
        t.row_scope,
        [(entity, row_id, territory_id, owner_id, False, False, hlc, hlc, created_device)],
    )
    insert_rows(
        conn,
        t.field_state,
        [(entity, row_id, name, text, hlc, SERVER_DEVICE) for name, text in encoded.items()],
    )
    changes = [
        PendingChange("create", entity, row_id, None, None, hlc, SERVER_DEVICE, territory_id)
    ]
    changes += [
        PendingChange("set", entity, row_id, name, text, hlc, SERVER_DEVICE, territory_id)
        for name, text in encoded.items()
    ]
    return changes


def record_values(conn: Connection, entity: str, row_id: str) -> dict[str, object]:
    """A record's current field values as the server holds them (decoded JSON)."""
    rows = conn.execute(
        select(t.field_state.c.field, t.field_state.c.value).where(
            t.field_state.c.entity == entity, t.field_state.c.row_id == row_id
        )
    ).all()
    return {name: json.loads(text) if text is not None else None for name, text in rows}
