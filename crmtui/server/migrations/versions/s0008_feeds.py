"""server schema: pushes number their feed entries after commit (no global push lock)

Revision ID: s0008_feeds
Revises: s0006_intake
Create Date: 2026-12-07 15:20:00

On PostgreSQL a push no longer draws feed numbers under the one `sync_counter`
row lock. It writes its entries with provisional negative numbers made from a
batch number (`sync_batch`, a sequence: drawn under the push's territory locks)
and, once committed, a short numbering transaction gives every committed
provisional entry its feed number in batch order (`crmtui.server.feed`). Readers
only read numbered entries up to the counter, so the cursor stays exact. SQLite
has one writer at a time and keeps numbering inside the push.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s0008_feeds"
down_revision: str | None = "s0006_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (the batch sequence; PostgreSQL only)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS sync_batch AS bigint")


def downgrade() -> None:
    """Revert this revision (entries still provisional are numbered first)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    from crmtui.server.feed import lock_counter, number_pending

    conn = op.get_bind()
    lock_counter(conn)
    number_pending(conn)
    op.execute("DROP SEQUENCE IF EXISTS sync_batch")
