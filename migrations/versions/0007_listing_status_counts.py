"""Listing status counts per account, recomputed by the sync (the home page's sync card).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from wizard.models.listing_stats import TABLE, backfill_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(TABLE,
                    sa.Column("account_id", sa.Integer(), nullable=False),
                    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
                    sa.Column("listings", sa.BigInteger(), nullable=False),
                    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
                    sa.PrimaryKeyConstraint("account_id", "status"))
    op.get_bind().exec_driver_sql(backfill_sql())


def downgrade() -> None:
    op.drop_table(TABLE)
