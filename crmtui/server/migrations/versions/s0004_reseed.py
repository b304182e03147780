"""server schema: the server's identity, a reseed window, per-device scope and device-only feed entries

Revision ID: s0004_reseed
Revises: s0003_feed_log
Create Date: 2026-12-07 05:00:00

`srv_meta` holds the server's identity (`server_id`, a random id made when the
schema is created, so a server rebuilt from nothing has a new one and the laptops
can tell) and the end of the reseed window an admin opened (`reseed_until`).
`srv_device_scope` keeps, per device, the scope its last pull was filtered with:
when it grew the next pull starts with a snapshot of what became visible, when it
shrank with removals of what left. Those entries are for that device only
(`sync_change.for_device`); every other entry has it null.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0004_reseed"
down_revision: str | None = "s0003_feed_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (a server upgraded in place gets its identity now)."""
    meta = op.create_table(
        "srv_meta",
        sa.Column("key", sa.String(length=60), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "server_id", "value": str(uuid.uuid4())}])
    op.create_table(
        "srv_device_scope",
        sa.Column(
            "device_id", sa.String(length=36), sa.ForeignKey("srv_device.id"), primary_key=True
        ),
        sa.Column("scope", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("sync_change") as batch:
        batch.add_column(sa.Column("for_device", sa.String(length=36), nullable=True))


def downgrade() -> None:
    """Revert this revision (device-only entries go with their column)."""
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM sync_change WHERE for_device IS NOT NULL"))
    with op.batch_alter_table("sync_change") as batch:
        batch.drop_column("for_device")
    op.drop_table("srv_device_scope")
    op.drop_table("srv_meta")
