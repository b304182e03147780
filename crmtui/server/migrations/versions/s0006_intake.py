"""server schema: web lead intake (forms, posts, routing, assignment log); lead_id is a link

Revision ID: s0006_intake
Revises: s0005_rep_identity
Create Date: 2026-12-07 15:30:00

- srv_intake_form: admin-published web forms (TOML text, key SHA-256).
- srv_intake_post: accepted posts (rate limit, bots counted).
- srv_rep_routing: a rep's capacity and leave; srv_rotation: the round-robin's place
  per territory; srv_assignment: who got each routed lead and why.
- `lead_id` joins the link fields a record takes its territory from, so the partial
  index over link values covers it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0006_intake"
down_revision: str | None = "s0005_rep_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LINKS = ("contact_id", "deal_id", "account_id")
NEW_LINKS = (*OLD_LINKS, "lead_id")


def _link_index(links: tuple[str, ...]) -> None:
    quoted = ", ".join(f"'{name}'" for name in links)
    where = sa.text(f"field IN ({quoted})")
    op.create_index(
        "ix_srv_field_link",
        "srv_field",
        ["field", "value"],
        postgresql_where=where,
        sqlite_where=where,
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "srv_intake_form",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("key_rotated_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "srv_intake_post",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("form_id", sa.String(36), sa.ForeignKey("srv_intake_form.id"), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("entity", sa.String(60), nullable=True),
        sa.Column("row_id", sa.String(36), nullable=True),
    )
    op.create_index(
        "ix_srv_intake_post_rate", "srv_intake_post", ["form_id", "client", "received_at"]
    )
    op.create_table(
        "srv_rep_routing",
        sa.Column("rep_id", sa.String(36), sa.ForeignKey("srv_rep.id"), primary_key=True),
        sa.Column("max_open_leads", sa.BigInteger(), nullable=True),
        sa.Column("leave_from", sa.String(10), nullable=True),
        sa.Column("leave_to", sa.String(10), nullable=True),
    )
    op.create_table(
        "srv_rotation",
        sa.Column("territory_id", sa.String(36), primary_key=True),
        sa.Column("last_rep_id", sa.String(36), nullable=True),
        sa.Column("turns", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "srv_assignment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("lead_id", sa.String(36), nullable=False),
        sa.Column("rep_id", sa.String(36), nullable=True),
        sa.Column("territory_id", sa.String(36), nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
    )
    op.create_index("ix_srv_assignment_lead_id", "srv_assignment", ["lead_id"])
    op.drop_index("ix_srv_field_link", table_name="srv_field")
    _link_index(NEW_LINKS)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_srv_field_link", table_name="srv_field")
    _link_index(OLD_LINKS)
    op.drop_index("ix_srv_assignment_lead_id", table_name="srv_assignment")
    op.drop_table("srv_assignment")
    op.drop_table("srv_rotation")
    op.drop_table("srv_rep_routing")
    op.drop_index("ix_srv_intake_post_rate", table_name="srv_intake_post")
    op.drop_table("srv_intake_post")
    op.drop_table("srv_intake_form")
