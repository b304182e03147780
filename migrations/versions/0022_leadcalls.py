"""leadcalls: a call claim may hold a lead not converted yet

Revision ID: 0022_leadcalls
Revises: 0017_pending
Create Date: 2026-12-07 21:00:00

- call_claim.lead_id: the lead a claim holds (a lead's plan step on the call list);
  a claim names a contact or a lead, so contact_id may now be NULL.
- Downgrade: lead claims are dropped (they hold nobody an older version can show).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0022_leadcalls"
down_revision: str | None = "0017_pending"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sqlmodel.sql.sqltypes.AutoString(length=36)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("call_claim", schema=None) as batch_op:
        batch_op.alter_column("contact_id", existing_type=_ID, nullable=True)
        batch_op.add_column(sa.Column("lead_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_call_claim_lead_id"), ["lead_id"], unique=False)
        batch_op.create_foreign_key("fk_call_claim_lead_id_lead", "lead", ["lead_id"], ["id"])


def downgrade() -> None:
    """Revert this revision (claims on leads are dropped)."""
    op.execute("DELETE FROM call_claim WHERE contact_id IS NULL")
    with op.batch_alter_table("call_claim", schema=None) as batch_op:
        batch_op.drop_constraint("fk_call_claim_lead_id_lead", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_call_claim_lead_id"))
        batch_op.drop_column("lead_id")
        batch_op.alter_column("contact_id", existing_type=_ID, nullable=False)
