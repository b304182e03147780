"""kept choices: "not a duplicate" decisions (synced) and the undo records of `crm undo`

Revision ID: 0009_kept_choices
Revises: 0008_import_batches
Create Date: 2026-12-07 05:00:00.000000

- duplicate_decision: a pair of contacts a user said are different people (F7 "n");
  journaled like any record, so the decision syncs and holds after a restart.
- undo_record: this device's undoable writes (the app's and the shell's), so
  `crm undo` reverses one the app made; local only, never synced.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0009_kept_choices"
down_revision: str | None = "0008_import_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "duplicate_decision",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("other_contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("decided_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["other_contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("duplicate_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_decision_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_duplicate_decision_other_contact_id"), ["other_contact_id"], unique=False
        )
    op.create_table(
        "undo_record",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("made_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("step", sa.JSON(), nullable=False),
        sa.Column("undone_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("undo_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_undo_record_undone_at"), ["undone_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("undo_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_undo_record_undone_at"))
    op.drop_table("undo_record")
    with op.batch_alter_table("duplicate_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_decision_other_contact_id"))
        batch_op.drop_index(batch_op.f("ix_duplicate_decision_contact_id"))
    op.drop_table("duplicate_decision")
