"""leads on follow-up plans and web intake: lead_id on activity, tickler, plan_enrolment, plan_event

Revision ID: 0014_intake
Revises: 0013_follow_up_plans
Create Date: 2026-12-07 15:20:00

An activity (a web form's post, a duplicate post attached to a lead), a reminder, an
enrolment and its events may now be about a lead instead of a
contact (a web lead arrives already on its form's plan). An enrolment's and an
event's contact_id become optional: exactly one of contact_id and lead_id names
whom it is about, or both once the lead was converted (the plan continues on the
contact). Every existing row keeps its contact.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0014_intake"
down_revision: str | None = "0013_follow_up_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lead_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("lead_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(_lead_column())
        batch_op.create_index(batch_op.f("ix_activity_lead_id"), ["lead_id"], unique=False)
        batch_op.create_foreign_key("fk_activity_lead_id_lead", "lead", ["lead_id"], ["id"])
    with op.batch_alter_table("tickler", schema=None) as batch_op:
        batch_op.add_column(_lead_column())
        batch_op.create_index(batch_op.f("ix_tickler_lead_id"), ["lead_id"], unique=False)
        batch_op.create_foreign_key("fk_tickler_lead_id_lead", "lead", ["lead_id"], ["id"])
    with op.batch_alter_table("plan_enrolment", schema=None) as batch_op:
        batch_op.add_column(_lead_column())
        batch_op.alter_column(
            "contact_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True
        )
        batch_op.create_index(batch_op.f("ix_plan_enrolment_lead_id"), ["lead_id"], unique=False)
        batch_op.create_foreign_key("fk_plan_enrolment_lead_id_lead", "lead", ["lead_id"], ["id"])
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.add_column(_lead_column())
        batch_op.alter_column(
            "contact_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True
        )
        batch_op.create_foreign_key("fk_plan_event_lead_id_lead", "lead", ["lead_id"], ["id"])


def downgrade() -> None:
    """Revert this revision (lead enrolments, their events and reminders are dropped)."""
    op.execute("DELETE FROM plan_event WHERE contact_id IS NULL")
    op.execute("DELETE FROM plan_enrolment WHERE contact_id IS NULL")
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.drop_constraint("fk_plan_event_lead_id_lead", type_="foreignkey")
        batch_op.alter_column(
            "contact_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False
        )
        batch_op.drop_column("lead_id")
    with op.batch_alter_table("plan_enrolment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_plan_enrolment_lead_id_lead", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_plan_enrolment_lead_id"))
        batch_op.alter_column(
            "contact_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False
        )
        batch_op.drop_column("lead_id")
    with op.batch_alter_table("tickler", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tickler_lead_id_lead", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickler_lead_id"))
        batch_op.drop_column("lead_id")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_constraint("fk_activity_lead_id_lead", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_activity_lead_id"))
        batch_op.drop_column("lead_id")
