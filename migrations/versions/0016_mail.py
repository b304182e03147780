"""mail: the outbox, the Message-IDs already logged, the reminders notified

Revision ID: 0016_mail
Revises: 0015_prices
Create Date: 2026-12-07 15:20:00

Local bookkeeping tables (not journaled, not synced):
- mail_outbox: messages written on this laptop, queued until `crm mail send`;
- mail_logged: Message-IDs already logged as activities (scans are idempotent);
- reminder_notified: reminders `crm notify` has shown, keyed by their due time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0016_mail"
down_revision: str | None = "0015_prices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = crmtui.store.types.UTCDateTime(length=27)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "mail_outbox",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("to_addr", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("to_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("activity_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_outbox_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_outbox_status"), ["status"], unique=False)

    op.create_table(
        "mail_logged",
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("activity_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("logged_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("message_id", "contact_id"),
    )
    op.create_table(
        "reminder_notified",
        sa.Column("tickler_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.AutoString(length=27), nullable=False),
        sa.Column("notified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("tickler_id", "due_at"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("reminder_notified")
    op.drop_table("mail_logged")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_mail_outbox_contact_id"))
    op.drop_table("mail_outbox")
