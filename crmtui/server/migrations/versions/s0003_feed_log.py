"""server schema: the op log is kept in the feed; feed entries a device sent as they are marked

Revision ID: s0003_feed_log
Revises: s0002_consent_state
Create Date: 2026-11-24 02:20:00

Every pushed op had a row in `srv_op` and, when it took effect, a feed entry in
`sync_change`: two rows per op. From here the op's answer is kept on its feed
entry (`op_id`, `status`, `reason`, `received_at`), or, when it made none, on a
row of kind `logged` that no pull sends. The ops already logged move over as
`logged` rows numbered after the feed's head (their own entries, written before,
keep no op id), so an op pushed before the upgrade and sent again is still
answered from the log. Feed entries written before are not echoes (`echo`):
they are always sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0003_feed_log"
down_revision: str | None = "s0002_consent_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LOG_COLUMNS = "op_id, device_id, entity, row_id, field, hlc, status, reason, received_at"


def upgrade() -> None:
    """Apply this revision (the logged ops move into the feed; nothing is dropped unread)."""
    with op.batch_alter_table("sync_change") as batch:
        batch.add_column(sa.Column("echo", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("op_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("received_at", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    head = conn.execute(sa.text("SELECT value FROM sync_counter WHERE id = 'feed'")).scalar()
    count = conn.execute(sa.text("SELECT count(*) FROM srv_op")).scalar() or 0
    conn.execute(
        sa.text(
            "INSERT INTO sync_change (seq, kind, entity, row_id, field, value, hlc, device_id,"
            " territory_id, flagged, echo, op_id, status, reason, received_at)"
            " SELECT :head + row_number() OVER (ORDER BY received_at, op_id), 'logged',"
            " entity, row_id, field, NULL, hlc, device_id, NULL, :no, :no, op_id, status,"
            " reason, received_at FROM srv_op"
        ),
        {"head": int(head or 0), "no": False},
    )
    conn.execute(
        sa.text("UPDATE sync_counter SET value = :value WHERE id = 'feed'"),
        {"value": int(head or 0) + int(count)},
    )
    op.create_index("ux_sync_change_op", "sync_change", ["op_id"], unique=True)
    op.create_index("ix_sync_change_row", "sync_change", ["entity", "row_id"])
    op.drop_index("ix_srv_op_row", table_name="srv_op")
    op.drop_table("srv_op")


def downgrade() -> None:
    """Revert this revision (the log goes back to `srv_op`; `logged` rows leave the feed)."""
    op.create_table(
        "srv_op",
        sa.Column("op_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=True),
        sa.Column("hlc", sa.String(length=19), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("op_id"),
    )
    op.create_index("ix_srv_op_row", "srv_op", ["entity", "row_id"], unique=False)
    conn = op.get_bind()
    conn.execute(
        sa.text(
            f"INSERT INTO srv_op ({_LOG_COLUMNS}) SELECT {_LOG_COLUMNS} FROM sync_change"
            " WHERE op_id IS NOT NULL"
        )
    )
    conn.execute(sa.text("DELETE FROM sync_change WHERE kind = 'logged'"))
    op.drop_index("ix_sync_change_row", table_name="sync_change")
    op.drop_index("ux_sync_change_op", table_name="sync_change")
    with op.batch_alter_table("sync_change") as batch:
        batch.drop_column("received_at")
        batch.drop_column("reason")
        batch.drop_column("status")
        batch.drop_column("op_id")
        batch.drop_column("echo")
