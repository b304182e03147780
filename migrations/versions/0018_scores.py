"""scores: the lead-scoring file (reference data) and what a lead knows of its company

Revision ID: 0018_scores
Revises: 0016_mail
Create Date: 2026-12-07 18:20:00

- score_rules: versions of the admin's scoring file (reference data, like plans).
- lead.industry, lead.employees, lead.country: filled by web forms and `crm lead add`;
  the lead score's history counts them (a converted lead's account has its own).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0018_scores"
down_revision: str | None = "0016_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = crmtui.store.types.UTCDateTime(length=27)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "score_rules",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )
        batch_op.add_column(sa.Column("employees", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
        )


def downgrade() -> None:
    """Revert this revision (the leads' industry, size and country go with it)."""
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("country")
        batch_op.drop_column("employees")
        batch_op.drop_column("industry")
    op.drop_table("score_rules")
