"""dav: the links between records and their CardDAV/CalDAV resources

Revision ID: 0021_dav
Revises: 0016_mail
Create Date: 2026-12-07 18:25:00

A local bookkeeping table (not journaled, not synced): dav_link keeps, per contact,
reminder series or meeting, its resource's href, ETag and the text last synced.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0021_dav"
down_revision: str | None = "0018_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dav_link",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("href", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("etag", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column("synced_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.PrimaryKeyConstraint("kind", "record_key"),
        sa.UniqueConstraint("href"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("dav_link")
