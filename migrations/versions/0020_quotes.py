"""quotes: the discount approval threshold and managers' decisions on a deal's lines

Revision ID: 0020_quotes
Revises: 0016_mail
Create Date: 2026-12-07 18:30:00

- approval_policy: the admin's discount threshold (reference data, every laptop).
- deal_approval: a manager's approval or refusal, bound to a digest of the lines it
  was made on (a customer record scoped by its deal).
Two new tables only: no existing row changes, the downgrade drops them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0020_quotes"
down_revision: str | None = "0019_calling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = crmtui.store.types.UTCDateTime(length=27)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "approval_policy",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("name", _text(40), nullable=False),
        sa.Column("discount_threshold_bp", sa.Integer(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "deal_approval",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("deal_id", _text(36), nullable=False),
        sa.Column("decision", _text(10), nullable=False),
        sa.Column("lines_digest", _text(64), nullable=False),
        sa.Column("max_discount_bp", sa.Integer(), nullable=False),
        sa.Column("reason", _text(1000), nullable=True),
        sa.Column("decided_by", _text(200), nullable=True),
        sa.Column("decided_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deal_approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_approval_deal_id"), ["deal_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("deal_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_approval_deal_id"))
    op.drop_table("deal_approval")
    op.drop_table("approval_policy")
