"""pending: a new contact and the items created with it are one sync_pending row

Revision ID: 0017_pending
Revises: 0016_mail
Create Date: 2026-12-07 18:20:00

`sync_pending` (0011) held one row per entity and row id with unpushed journal rows:
an import of 100k contacts wrote 455k of them (a contact, its phones, emails and
address), each an insert into two b-trees, as many as the journal rows themselves.
Now a packed create of a phone, email or address counts under its contact: the key
is ('contact', the `contact_id` its packed value carries), taken from the journal row
alone, so the writers (`store.pending.pending_key`) and the count-down triggers agree
and a later merge that moves the item cannot break it. Item sets and deletes, and
the unpacked creates of old journals, keep their own row (their record is still the
contact). What the counts mean is unchanged: pending journal rows (`sum(ops)`) and
changed records per entity (`sync_pending_total`) are the same numbers; the journal
and the push are untouched.

- Upgrade: the count-down triggers derive the new key; the rows are re-keyed in place
  (an item's packed-create ops move to its contact's row), so every pending op stays
  counted, and the totals, which count records, do not change.
- Downgrade: the 0011 triggers; the moved ops go back to their item's row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_pending"
down_revision: str | None = "0020_quotes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_ITEMS = "('contact_phone', 'contact_email', 'contact_address')"
_PACKED_ITEM = f"OLD.op = 'create' AND OLD.value IS NOT NULL AND OLD.entity IN {_IN_ITEMS}"
_KEY_ENTITY = f"CASE WHEN {_PACKED_ITEM} THEN 'contact' ELSE OLD.entity END"
_KEY_ID = (
    f"CASE WHEN {_PACKED_ITEM} THEN json_extract(OLD.value, '$.contact_id') ELSE OLD.row_id END"
)


def _release(entity: str, row_id: str) -> str:
    """Trigger body: one pending journal row less under its key; the row goes at zero."""
    where = f"entity = {entity} AND row_id = {row_id}"
    return (
        f"UPDATE sync_pending SET ops = ops - 1 WHERE {where};"
        f" DELETE FROM sync_pending WHERE {where} AND ops <= 0;"
    )


_WHEN = {
    "journal_pending_pushed": (
        "AFTER UPDATE OF pushed_at ON journal"
        " WHEN OLD.pushed_at IS NULL AND NEW.pushed_at IS NOT NULL"
    ),
    "journal_pending_dropped": "AFTER DELETE ON journal WHEN OLD.pushed_at IS NULL",
}

# The pending packed item creates, per item: its contact and how many rows (one, unless
# a journal was edited by hand).
_MOVED = (
    "SELECT entity, row_id, json_extract(value, '$.contact_id') AS contact, count(*) AS n"
    " FROM journal WHERE pushed_at IS NULL AND op = 'create' AND value IS NOT NULL"
    f" AND entity IN {_IN_ITEMS} GROUP BY entity, row_id"
)


def _triggers(entity: str, row_id: str) -> None:
    for name, when in _WHEN.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {_release(entity, row_id)} END")


def _rekey(conn: sa.Connection, *, to_contact: bool) -> None:
    """Move the pending packed item creates' counts to their contact's row, or back.

    Only `ops` move between rows of the same record (the contact), so no record
    starts or stops being pending and `sync_pending_total` stays as it is: the
    trigger that counts a record down when its last row goes is held off meanwhile.
    """
    conn.execute(sa.text("DROP TRIGGER IF EXISTS sync_pending_record_done"))
    # Set-based: a migrated 1M-contact bench database has 1.47M pending item creates.
    conn.execute(sa.text(f"CREATE TEMP TABLE pending_moved AS {_MOVED}"))
    if to_contact:
        take = (
            "UPDATE sync_pending SET ops = ops - (SELECT m.n FROM pending_moved m"
            " WHERE m.entity = sync_pending.entity AND m.row_id = sync_pending.row_id)"
            " WHERE (entity, row_id) IN (SELECT entity, row_id FROM pending_moved)"
        )
        give = (
            "SELECT 'contact', contact, 'contact', contact, sum(n) FROM pending_moved"
            " GROUP BY contact"
        )
    else:
        take = (
            "UPDATE sync_pending SET ops = ops - (SELECT sum(m.n) FROM pending_moved m"
            " WHERE m.contact = sync_pending.row_id) WHERE entity = 'contact'"
            " AND row_id IN (SELECT contact FROM pending_moved)"
        )
        give = "SELECT entity, row_id, 'contact', contact, n FROM pending_moved WHERE true"
    conn.execute(sa.text(take))
    conn.execute(
        sa.text(
            "INSERT INTO sync_pending (entity, row_id, record_entity, record_id, ops)"
            f" {give} ON CONFLICT (entity, row_id) DO UPDATE SET ops = ops + excluded.ops"
        )
    )
    conn.execute(sa.text("DROP TABLE pending_moved"))
    conn.execute(sa.text("DELETE FROM sync_pending WHERE ops <= 0"))
    conn.execute(
        sa.text(
            "CREATE TRIGGER sync_pending_record_done AFTER DELETE ON sync_pending"
            " WHEN NOT EXISTS (SELECT 1 FROM sync_pending p WHERE"
            " p.record_entity = OLD.record_entity AND p.record_id = OLD.record_id)"
            " BEGIN UPDATE sync_pending_total SET records = records - 1"
            " WHERE entity = OLD.record_entity; END"
        )
    )


def upgrade() -> None:
    """Apply this revision."""
    _rekey(op.get_bind(), to_contact=True)
    _triggers(_KEY_ENTITY, _KEY_ID)


def downgrade() -> None:
    """Revert this revision."""
    _rekey(op.get_bind(), to_contact=False)
    _triggers("OLD.entity", "OLD.row_id")
