"""import batches: what each import created and changed, for `crm import undo`

Revision ID: 0008_import_batches
Revises: 0007_contact_details
Create Date: 2026-12-07 05:00:00.000000

Local bookkeeping only (not synced): the import's writes are journaled as usual.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0008_import_batches"
down_revision: str | None = "0007_contact_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "import_batch",
        sa.Column("id", _TEXT(length=36), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("file", _TEXT(), nullable=False),
        sa.Column("kind", _TEXT(length=20), nullable=False),
        sa.Column("profile", _TEXT(length=20), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("rejects_path", _TEXT(), nullable=True),
        sa.Column("tx_id", _TEXT(length=36), nullable=False),
        sa.Column("mark_id", _TEXT(length=36), nullable=False),
        sa.Column("mark_hlc", _TEXT(length=19), nullable=False),
        sa.Column("undone_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.Column("undo_report", _TEXT(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "import_batch_item",
        sa.Column("batch_id", _TEXT(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entity", _TEXT(length=40), nullable=False),
        sa.Column("row_id", _TEXT(length=36), nullable=False),
        sa.Column("field", _TEXT(length=60), nullable=True),
        sa.Column("before", _TEXT(), nullable=True),
        sa.Column("after", _TEXT(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"]),
        sa.PrimaryKeyConstraint("batch_id", "seq"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("import_batch_item")
    op.drop_table("import_batch")
