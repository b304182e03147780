"""follow-up plans: plan versions (reference data), enrolments and their events

Revision ID: 0013_follow_up_plans
Revises: 0009_kept_choices
Create Date: 2026-12-07 12:01:07.346426

- plan: one version of a plan, its TOML text; published by admins, read by all.
- plan_enrolment: a contact on a plan version (stopped_at when a person took it off).
- plan_event: append-only facts (step reminder made, outcome logged, step skipped or
  paused, migrated) from which the enrolment's position is derived.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0013_follow_up_plans"
down_revision: str | None = "0011_pending_counter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "plan",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index("ix_plan_name_version", ["name", "version"], unique=False)

    op.create_table(
        "plan_enrolment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("enrolled_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("stopped_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.Column("stop_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["rep.id"],
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_enrolment_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_plan_enrolment_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "plan_event",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("enrolment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("tickler_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("activity_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["plan_enrolment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tickler_id"],
            ["tickler.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_event_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_plan_event_tickler_id"), ["tickler_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_event_tickler_id"))
        batch_op.drop_index(batch_op.f("ix_plan_event_enrolment_id"))

    op.drop_table("plan_event")
    with op.batch_alter_table("plan_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_enrolment_plan_id"))
        batch_op.drop_index(batch_op.f("ix_plan_enrolment_contact_id"))

    op.drop_table("plan_enrolment")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_name_version")

    op.drop_table("plan")
