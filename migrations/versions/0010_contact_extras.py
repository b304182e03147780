"""contact extras: find a contact by any of its emails whatever their case; deals keep their source id

Revision ID: 0010_contact_extras
Revises: 0009_kept_choices
Create Date: 2026-12-07 12:10:00.000000

- ix_contact_email_lower: an index on lower(contact_email.address), so identity
  (import, lead conversion, the duplicate warning) finds "Ann.Lee@x.de" from
  "ann.lee@x.de" with one indexed lookup over every email item, not a scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010_contact_extras"
down_revision: str | None = "0009_kept_choices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_contact_email_lower ON contact_email (lower(address))"
    )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_column("external_id")
    op.execute("DROP INDEX IF EXISTS ix_contact_email_lower")
