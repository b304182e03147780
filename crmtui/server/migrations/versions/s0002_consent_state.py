"""server schema: consent fields keep their standing opt-outs; link values are indexed

Revision ID: s0002_consent_state
Revises: s0001_server
Create Date: 2026-11-23 23:59:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0002_consent_state"
down_revision: str | None = "s0001_server"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (a field stored as `true` before it reads as one opt-out)."""
    op.create_table(
        "srv_consent",
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "row_id", "field"),
    )
    # Records that take their territory from a link follow it when it moves.
    links = sa.text("field IN ('contact_id', 'deal_id', 'account_id')")
    op.create_index(
        "ix_srv_field_link",
        "srv_field",
        ["field", "value"],
        postgresql_where=links,
        sqlite_where=links,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_srv_field_link", table_name="srv_field")
    op.drop_table("srv_consent")
