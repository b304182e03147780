"""contact details: phones, emails and addresses as items; birthday, nickname and more

Revision ID: 0007_contact_details
Revises: 0006_report_indexes
Create Date: 2026-12-07 05:00:00.000000

- contact_phone, contact_email, contact_address: each item its own synced record
  (own id, linked by contact_id), so two laptops adding a phone offline keep both.
- contact gains birthday, nickname, salutation, department, website, source_uid
  and extra (properties we do not model, as JSON text).
- Data kept: every contact's phone, mobile, email and city/country become items,
  with ids derived from the contact (`contact_details.item_id`) and the contact's
  created_at, so two laptops migrating the same synced contact make the same items
  (field for field); their creates are
  journaled (the server answers the second "already created"), except in a demo
  database, which never syncs (decisions: 0011_pending_counter).
- Downgrade: the contact columns already hold the primaries; the items, the new
  columns and the unpushed journal ops naming them go (secondary phones, emails
  and addresses are lost, as the old schema has no place for them).
"""

import json
import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types
from crmtui.domain.contact_details import ITEM_TABLES, items_from_columns
from crmtui.domain.hlc import HLC, tick
from crmtui.domain.ids import uuid7
from crmtui.store.types import format_timestamp, utcnow

revision: str = "0007_contact_details"
down_revision: str | None = "0006_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = (
    ("birthday", sa.Date()),
    ("nickname", sqlmodel.sql.sqltypes.AutoString()),
    ("salutation", sqlmodel.sql.sqltypes.AutoString()),
    ("department", sqlmodel.sql.sqltypes.AutoString()),
    ("website", sqlmodel.sql.sqltypes.AutoString()),
    ("source_uid", sqlmodel.sql.sqltypes.AutoString()),
    ("extra", sqlmodel.sql.sqltypes.AutoString()),
)
ITEMS = ITEM_TABLES
CHUNK = 5_000


def _common() -> list[sa.Column]:
    return [
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    ]


def _tail() -> list[sa.Column | sa.Constraint]:
    ts = crmtui.store.types.UTCDateTime(length=27)
    return [
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("deleted_at", ts, nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    """Apply this revision."""
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("contact", schema=None) as batch_op:
        for name, kind in NEW_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "contact_phone",
        *_common(),
        sa.Column("number", text(), nullable=False),
        sa.Column("e164", text(), nullable=True),
        sa.Column("extension", text(length=20), nullable=True),
        *_tail(),
    )
    op.create_table(
        "contact_email",
        *_common(),
        sa.Column("address", text(), nullable=False),
        *_tail(),
    )
    op.create_table(
        "contact_address",
        *_common(),
        sa.Column("street", text(), nullable=True),
        sa.Column("city", text(), nullable=True),
        sa.Column("region", text(), nullable=True),
        sa.Column("postcode", text(length=20), nullable=True),
        sa.Column("country", text(), nullable=True),
        *_tail(),
    )
    for table in ITEMS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_contact_id", ["contact_id"], unique=False)
    op.create_index("ix_phone_item_e164", "contact_phone", ["e164"], unique=False)
    op.create_index("ix_contact_email_address", "contact_email", ["address"], unique=False)
    _move_columns_into_items()


class _Journal:
    """Journal rows for the items made here: packed creates, as `WriteTx.add` writes them."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        meta = dict(conn.execute(sa.text("SELECT key, value FROM local_meta")).all())
        self.device = meta.get("device_id")
        if self.device is None:
            self.device = uuid7()
            conn.execute(
                sa.text("INSERT INTO local_meta(key, value) VALUES ('device_id', :v)"),
                {"v": self.device},
            )
        self.clock: HLC | None = HLC.decode(meta["hlc"]) if meta.get("hlc") else None
        self.tx_id = uuid7()
        self.now = format_timestamp(utcnow())

    def rows(self, entity: str, items: list[dict[str, object]]) -> list[dict[str, object]]:
        out = []
        for item in items:
            self.clock = tick(self.clock, time.time_ns() // 1_000_000)
            values = {
                k: v for k, v in item.items() if v is not None and k not in ("id", "updated_at")
            }
            out.append(
                {
                    "id": uuid7(),
                    "tx_id": self.tx_id,
                    "hlc": self.clock.encode(),
                    "device_id": self.device,
                    "entity": entity,
                    "row_id": item["id"],
                    "op": "create",
                    "value": json.dumps(values, ensure_ascii=False),
                    "created_at": self.now,
                }
            )
        return out

    def finish(self) -> None:
        if self.clock is not None:
            self.conn.execute(
                sa.text(
                    "INSERT INTO local_meta(key, value) VALUES ('hlc', :v) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
                ),
                {"v": self.clock.encode()},
            )


def _move_columns_into_items() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, phone, phone_e164, mobile, mobile_e164, email, city, country, created_at"
            " FROM contact "
            "WHERE coalesce(phone, phone_e164, mobile, mobile_e164, email, city, country) "
            "IS NOT NULL ORDER BY id"
        )
    ).all()
    if not rows:
        return
    demo = conn.execute(sa.text("SELECT value FROM local_meta WHERE key = 'demo'")).scalar()
    journal = _Journal(conn)
    tables = {
        name: sa.table(name, *(sa.column(c) for c in columns))
        for name, columns in (
            ("contact_phone", ("id", "contact_id", "kind", "number", "e164", "extension")),
            ("contact_email", ("id", "contact_id", "kind", "address")),
            ("contact_address", ("id", "contact_id", "kind", "city", "country")),
        )
    }
    for table in tables.values():
        for extra in ("is_primary", "created_at", "updated_at"):
            table.append_column(sa.column(extra))
    journal_table = sa.table(
        "journal",
        *(
            sa.column(c)
            for c in ("id", "tx_id", "hlc", "device_id", "entity", "row_id", "op", "value")
        ),
        sa.column("created_at"),
    )
    for start in range(0, len(rows), CHUNK):
        batch: dict[str, list[dict[str, object]]] = {t: [] for t in ITEMS}
        for row in rows[start : start + CHUNK]:
            # Stamped with the contact's creation, not the upgrade's moment: every laptop
            # must make the very same item, or the second to push sees its created_at
            # "overwritten" (tests/test_sync_migrated_items.py).
            for table, items in items_from_columns(*row[:8], now=row[8]).items():
                batch[table] += items
        for table, items in batch.items():
            if items:
                full = [{c.name: i.get(c.name) for c in tables[table].columns} for i in items]
                conn.execute(sa.insert(tables[table]), full)
                if demo != "1":  # a demo never syncs: nothing to tell a server
                    conn.execute(sa.insert(journal_table), journal.rows(table, items))
    journal.finish()


def downgrade() -> None:
    """Revert this revision."""
    conn = op.get_bind()
    names = ", ".join(f"'{n}'" for n, _ in NEW_COLUMNS)
    conn.execute(
        sa.text(
            f"DELETE FROM journal WHERE pushed_at IS NULL AND (entity IN {tuple(ITEMS)!r} "
            f"OR (entity = 'contact' AND field IN ({names})))"
        )
    )
    op.drop_index("ix_contact_email_address", table_name="contact_email")
    op.drop_index("ix_phone_item_e164", table_name="contact_phone")
    for table in reversed(ITEMS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_contact_id")
        op.drop_table(table)
    with op.batch_alter_table("contact", schema=None) as batch_op:
        for name, _ in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
