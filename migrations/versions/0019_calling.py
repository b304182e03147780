"""calling: call scripts (reference data), the script answered on a call, call claims

Revision ID: 0019_calling
Revises: 0016_mail
Create Date: 2026-12-07 18:30:00

- call_script: one version of a call script, its TOML text; published by admins, read by all.
- activity.script_id, activity.script_answers: the script a call followed and its answers
  (JSON, question key -> answer); the answers are in the activity's text too.
- call_claim: a rep's claim on a contact of a shared call list, with an expiry.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0019_calling"
down_revision: str | None = "0021_dav"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = crmtui.store.types.UTCDateTime(length=27)
_ID = sqlmodel.sql.sqltypes.AutoString(length=36)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "call_script",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("call_script", schema=None) as batch_op:
        batch_op.create_index("ix_call_script_name_version", ["name", "version"], unique=False)

    op.create_table(
        "call_claim",
        sa.Column("id", _ID, nullable=False),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("rep_id", _ID, nullable=True),
        sa.Column("claimed_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("released_at", _TS, nullable=True),
        sa.Column("list_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["rep_id"], ["rep.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("call_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_claim_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_call_claim_expires_at", ["expires_at"], unique=False)

    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("script_id", _ID, nullable=True))
        batch_op.add_column(
            sa.Column("script_answers", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_activity_script_id_call_script", "call_script", ["script_id"], ["id"]
        )


def downgrade() -> None:
    """Revert this revision (scripts and claims are dropped; a call's answers stay in its text)."""
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_constraint("fk_activity_script_id_call_script", type_="foreignkey")
        batch_op.drop_column("script_answers")
        batch_op.drop_column("script_id")
    with op.batch_alter_table("call_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_call_claim_expires_at")
        batch_op.drop_index(batch_op.f("ix_call_claim_contact_id"))
    op.drop_table("call_claim")
    with op.batch_alter_table("call_script", schema=None) as batch_op:
        batch_op.drop_index("ix_call_script_name_version")
    op.drop_table("call_script")
