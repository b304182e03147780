"""covering indexes for the pipeline board and the territory summary

Revision ID: 0006_report_indexes
Revises: 0005_sync
Create Date: 2026-11-23 22:00:00.000000

- ix_deal_board: a board column's totals and its top cards (stage, status, the
  summed and sorted columns, the closed-in-period and scope filters, the id the
  staleness check needs) from the index alone, without reading the deal rows.
- ix_activity_deal_live / ix_activity_account_live: "any live activity on this
  deal / account since T" (staleness, coverage gaps) in one index probe.
- ix_activity_period: a period's live activities by rep, kind, account and
  contact, for the summary's counts, without reading the activity rows.
- ix_account_territory_owner: live accounts per territory and owner in order,
  with their ids (coverage gaps), without reading the account rows or sorting.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_report_indexes"
down_revision: str | None = "0005_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEAL_BOARD = (
    "stage_id",
    "status",
    "deleted_at",
    "currency",
    "amount_minor",
    "probability",
    "stage_changed_at",
    "expected_close",
    "closed_at",
    "territory_id",
    "owner_id",
    "id",
)
ACTIVITY = {
    "ix_activity_deal_live": ["deal_id", "deleted_at", "occurred_at"],
    "ix_activity_account_live": ["account_id", "deleted_at", "occurred_at"],
    "ix_activity_period": [
        "deleted_at",
        "occurred_at",
        "rep_id",
        "kind",
        "account_id",
        "contact_id",
    ],
}


ACCOUNT = ["territory_id", "owner_id", "deleted_at", "archived_at", "id"]


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_deal_board", "deal", list(DEAL_BOARD), unique=False)
    for name, columns in ACTIVITY.items():
        op.create_index(name, "activity", columns, unique=False)
    op.create_index("ix_account_territory_owner", "account", ACCOUNT, unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_account_territory_owner", table_name="account")
    for name in ACTIVITY:
        op.drop_index(name, table_name="activity")
    op.drop_index("ix_deal_board", table_name="deal")
