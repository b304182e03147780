"""server schema: a price takes its list's territory, a quote line its quote's

Revision ID: s0012_quotes
Revises: s0008_feeds
Create Date: 2026-12-07 18:40:00

- `price_list_id` and `quote_id` join the link fields a record takes its territory
  from (`tables.LINK_FIELDS`), so the partial index over link values covers them.
- Prices and quote lines already stored are placed where their list or quote is
  (`srv_row.territory_id`), so a later move of the account or deal takes them along.
  Laptops keep what they pulled before; later changes follow the new placement.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0012_quotes"
down_revision: str | None = "s0008_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LINKS = ("contact_id", "deal_id", "account_id", "lead_id")
NEW_LINKS = (*OLD_LINKS, "price_list_id", "quote_id")
_CHILDREN = (("price", "price_list_id", "price_list"), ("quote_line", "quote_id", "quote"))


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
    op.drop_index("ix_srv_field_link", table_name="srv_field")
    _link_index(NEW_LINKS)
    # The link's value is the JSON text of the parent's id ('"abc"'): compared as text.
    for child, link, parent in _CHILDREN:
        op.execute(
            sa.text(
                "UPDATE srv_row SET territory_id = ("
                " SELECT p.territory_id FROM srv_field f JOIN srv_row p"
                "  ON p.entity = :parent AND '\"' || p.row_id || '\"' = f.value"
                " WHERE f.entity = srv_row.entity AND f.row_id = srv_row.row_id"
                "  AND f.field = :link)"
                " WHERE entity = :child AND territory_id IS NULL"
            ).bindparams(child=child, link=link, parent=parent)
        )


def downgrade() -> None:
    """Revert this revision (the placements stay: a territory is never lost data)."""
    op.drop_index("ix_srv_field_link", table_name="srv_field")
    _link_index(OLD_LINKS)
