"""pending counter: changed records kept in two tables; demo databases drop 0007's item journal

Revision ID: 0011_pending_counter
Revises: 0009_kept_choices
Create Date: 2026-12-07 12:15:00.000000

- sync_pending (one row per entity and row id with unpushed journal rows, and the
  record a user knows it as: an item is its contact) and sync_pending_total (changed
  records per entity): counted up by the journal's writers (store/pending.py), down by
  triggers on `journal` and `sync_pending`, in the transaction of every write that
  journals, marks pushed or deletes ops. The pending count shown at start-up was a
  count over every pending op (7.9 s for 3.47M); it is now a read of a few rows.
- ix_journal_pending_tx: the push takes the rest of a batch's last transaction; without
  an index that read every pending row once per batch (a migrated 1M-contact database
  has 1.47M pending item creates in one transaction).
- A demo database never syncs (the demo writes no journal): the item creates 0007
  journaled there are dropped (3.47M ops on the 1M bench database).
- Downgrade: the triggers, tables and index go; the dropped demo ops do not come back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011_pending_counter"
down_revision: str | None = "0010_contact_extras"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEMS = ("contact_phone", "contact_email", "contact_address")
_IN_ITEMS = "('contact_phone', 'contact_email', 'contact_address')"


def _contact_of(entity: str, row_id: str) -> str:
    """SQL: the contact of an item row, NULL for any other entity (or a missing item)."""
    whens = " ".join(
        f"WHEN '{t}' THEN (SELECT contact_id FROM {t} WHERE id = {row_id})" for t in ITEMS
    )
    return f"(CASE {entity} {whens} END)"


_RELEASE = (
    "UPDATE sync_pending SET ops = ops - 1 WHERE entity = OLD.entity AND row_id = OLD.row_id;"
    " DELETE FROM sync_pending WHERE entity = OLD.entity AND row_id = OLD.row_id AND ops <= 0;"
)
TRIGGERS = {
    "journal_pending_pushed": (
        "AFTER UPDATE OF pushed_at ON journal"
        " WHEN OLD.pushed_at IS NULL AND NEW.pushed_at IS NOT NULL",
        _RELEASE,
    ),
    "journal_pending_dropped": (
        "AFTER DELETE ON journal WHEN OLD.pushed_at IS NULL",
        _RELEASE,
    ),
    # Inserts are counted by the journal's writers (crmtui/store/pending.py): a trigger
    # on every journal insert cost ~100 us a row (imports, pulls). Rows leave here,
    # whoever marks them pushed or drops them; a record leaves its total with its last.
    "sync_pending_record_done": (
        "AFTER DELETE ON sync_pending WHEN NOT EXISTS (SELECT 1 FROM sync_pending p"
        " WHERE p.record_entity = OLD.record_entity AND p.record_id = OLD.record_id)",
        "UPDATE sync_pending_total SET records = records - 1 WHERE entity = OLD.record_entity;",
    ),
}


def upgrade() -> None:
    """Apply this revision."""
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "sync_pending",
        sa.Column("entity", text(length=40), nullable=False),
        sa.Column("row_id", text(length=36), nullable=False),
        sa.Column("record_entity", text(length=40), nullable=False),
        sa.Column("record_id", text(length=36), nullable=False),
        sa.Column("ops", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "row_id"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_sync_pending_record", "sync_pending", ["record_entity", "record_id"], unique=False
    )
    op.create_table(
        "sync_pending_total",
        sa.Column("entity", text(length=40), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity"),
    )
    op.create_index(
        "ix_journal_pending_tx",
        "journal",
        ["tx_id", "hlc"],
        unique=False,
        sqlite_where=sa.text("pushed_at IS NULL"),
    )
    conn = op.get_bind()
    demo = conn.execute(sa.text("SELECT value FROM local_meta WHERE key = 'demo'")).scalar()
    if demo == "1":
        _drop_derived_item_ops(conn)
    _count_pending(conn)
    for name, (when, body) in TRIGGERS.items():
        conn.execute(sa.text(f"CREATE TRIGGER {name} {when} BEGIN {body} END"))


def _drop_derived_item_ops(conn: sa.Connection) -> None:
    """Drop 0007's pending item creates: transactions of item creates with derived ids only.

    Derived ids are UUIDv5 (`contact_details.item_id`); a CSV import's items are too,
    but its transaction also creates contacts, so it is left alone.
    """
    conn.execute(
        sa.text(
            "DELETE FROM journal WHERE pushed_at IS NULL AND tx_id IN ("
            " SELECT DISTINCT j.tx_id FROM journal j WHERE j.pushed_at IS NULL"
            f" AND j.entity IN {_IN_ITEMS} AND j.op = 'create' AND substr(j.row_id, 15, 1) = '5'"
            " AND NOT EXISTS (SELECT 1 FROM journal o WHERE o.tx_id = j.tx_id"
            f" AND o.pushed_at IS NULL AND (o.entity NOT IN {_IN_ITEMS} OR o.op != 'create')))"
        )
    )


def _count_pending(conn: sa.Connection) -> None:
    """Fill the tables from the journal as it is (writers and triggers keep them from now on)."""
    conn.execute(
        sa.text(
            "INSERT INTO sync_pending (entity, row_id, record_entity, record_id, ops)"
            f" SELECT entity, row_id, CASE WHEN entity IN {_IN_ITEMS} THEN 'contact' ELSE entity END,"
            " coalesce(c, row_id), n FROM ("
            f"  SELECT entity, row_id, {_contact_of('entity', 'row_id')} AS c, count(*) AS n"
            "   FROM journal WHERE pushed_at IS NULL GROUP BY entity, row_id)"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO sync_pending_total (entity, records)"
            " SELECT record_entity, count(DISTINCT record_id) FROM sync_pending"
            " GROUP BY record_entity"
        )
    )


def downgrade() -> None:
    """Revert this revision."""
    for name in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_journal_pending_tx", table_name="journal")
    op.drop_table("sync_pending_total")
    op.drop_index("ix_sync_pending_record", table_name="sync_pending")
    op.drop_table("sync_pending")
