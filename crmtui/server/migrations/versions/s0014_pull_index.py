"""server schema: an index for the feed entries written for one device

Revision ID: s0014_pull_index
Revises: s0012_quotes
Create Date: 2026-12-08 00:20:00

A pull reads its scope as one ordered index range per part (`crmtui.server.pull`):
each territory's entries on `ix_sync_change_territory_seq`, and the entries written
for the pulling device alone (scope snapshots and removals) on this one. It is partial:
the shared feed's entries (`for_device` null), nearly all of them, are not in it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0014_pull_index"
down_revision: str | None = "s0012_quotes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("for_device IS NOT NULL")


def upgrade() -> None:
    """Add the partial (for_device, seq) index."""
    op.create_index(
        "ix_sync_change_for_device_seq",
        "sync_change",
        ["for_device", "seq"],
        postgresql_where=_WHERE,
        sqlite_where=_WHERE,
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_sync_change_for_device_seq", table_name="sync_change")
