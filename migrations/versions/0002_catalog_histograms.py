"""Catalog histograms: products and units per stock level and price, kept by triggers on product.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:48:18.485938
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wizard.models.catalog_stats import HISTOGRAM, PRICE_HISTOGRAM, backfill_sql, trigger_ddl

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(HISTOGRAM,
                    sa.Column("account_id", sa.Integer(), nullable=False),
                    sa.Column("stock", sa.Integer(), nullable=False),
                    sa.Column("band", sa.Integer(), nullable=False),
                    sa.Column("products", sa.Integer(), nullable=False),
                    sa.Column("units", sa.BigInteger(), nullable=False),
                    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
                    sa.PrimaryKeyConstraint("account_id", "stock", "band"))
    op.create_table(PRICE_HISTOGRAM,
                    sa.Column("account_id", sa.Integer(), nullable=False),
                    sa.Column("price_cents", sa.Integer(), nullable=False),
                    sa.Column("stock", sa.Integer(), nullable=False),
                    sa.Column("products", sa.Integer(), nullable=False),
                    sa.Column("units", sa.BigInteger(), nullable=False),
                    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
                    sa.PrimaryKeyConstraint("account_id", "price_cents", "stock"))
    bind = op.get_bind()
    for statement in backfill_sql():
        bind.exec_driver_sql(statement)
    for statement in trigger_ddl(bind.dialect.name):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for kind in ("insert", "update", "delete"):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS product_histogram_{kind}"
                             + (" ON product" if bind.dialect.name == "postgresql" else ""))
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS product_histogram_{kind}()")
    op.drop_table(PRICE_HISTOGRAM)
    op.drop_table(HISTOGRAM)
