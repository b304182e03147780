"""prices: exchange rates, tax classes, products, price lists and prices, deal lines

Revision ID: 0015_prices
Revises: 0014_intake
Create Date: 2026-12-07 15:05:54.594998

- exchange_rate, tax_class, product, price_list, price: reference data (admin-published,
  read by every laptop; the local CLI may add them for a catalogue without a server).
- deal_line: a deal's lines, each a synced customer record scoped by its deal.
- deal.amount_override: the typed amount wins over the lines' sum.
- quote, quote_line: numbered, versioned snapshots of a deal's lines (customer records).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import crmtui.store.types

revision: str = "0015_prices"
down_revision: str | None = "0014_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "exchange_rate",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("base", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("quote", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_rate_pair_day", ["base", "quote", "day"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("tax_class", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_sku"), ["sku"], unique=False)

    op.create_table(
        "tax_class",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("rounding", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tax_class", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tax_class_code"), ["code"], unique=False)

    op.create_table(
        "price_list",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("territory_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("price_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_list_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_price_list_territory_id"), ["territory_id"], unique=False
        )

    op.create_table(
        "price",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("price_list_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("min_quantity_milli", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_list.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.create_index(
            "ix_price_list_product", ["price_list_id", "product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_price_product_id"), ["product_id"], unique=False)

    op.create_table(
        "deal_line",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("deal_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("product_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("price_list_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quantity_milli", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=False),
        sa.Column("discount_bp", sa.Integer(), nullable=False),
        sa.Column("tax_class", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("tax_rate_bp", sa.Integer(), nullable=False),
        sa.Column("tax_rounding", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_list.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deal_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_line_deal_id"), ["deal_id"], unique=False)

    op.create_table(
        "quote",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("deal_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("terms", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("customer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("customer_address", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("net_minor", sa.Integer(), nullable=False),
        sa.Column("tax_minor", sa.Integer(), nullable=False),
        sa.Column("gross_minor", sa.Integer(), nullable=False),
        sa.Column("status_changed_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index("ix_quote_number_version", ["number", "version"], unique=False)

    op.create_table(
        "quote_line",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("quote_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("quantity_milli", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=False),
        sa.Column("discount_bp", sa.Integer(), nullable=False),
        sa.Column("tax_class", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("tax_rate_bp", sa.Integer(), nullable=False),
        sa.Column("tax_rounding", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("net_minor", sa.Integer(), nullable=False),
        sa.Column("created_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("updated_at", crmtui.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column("deleted_at", crmtui.store.types.UTCDateTime(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quote.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quote_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_line_quote_id"), ["quote_id"], unique=False)

    # A plain ADD COLUMN (no table copy): every existing deal's amount was typed, and
    # none has lines yet, so False is right for all of them.
    op.add_column(
        "deal",
        sa.Column("amount_override", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("quote_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_line_quote_id"))

    op.drop_table("quote_line")
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_index("ix_quote_number_version")
        batch_op.drop_index(batch_op.f("ix_quote_deal_id"))

    op.drop_table("quote")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_column("amount_override")

    with op.batch_alter_table("deal_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_line_deal_id"))

    op.drop_table("deal_line")
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_product_id"))
        batch_op.drop_index("ix_price_list_product")

    op.drop_table("price")
    with op.batch_alter_table("price_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_list_territory_id"))
        batch_op.drop_index(batch_op.f("ix_price_list_account_id"))

    op.drop_table("price_list")
    with op.batch_alter_table("tax_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tax_class_code"))

    op.drop_table("tax_class")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_sku"))

    op.drop_table("product")
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_rate_pair_day")

    op.drop_table("exchange_rate")
