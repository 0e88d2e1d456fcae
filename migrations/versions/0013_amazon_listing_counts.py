"""What Amazon shows, counted per account (the home page's figures), recomputed by the workers (issue 10 §3).

No backfill: the figures are computed by ``wizard.reconcile.status`` (their definitions are shared with the
catalog's filters and change with it), and the next sync job or reconcile step of each account (at most
``RECONCILE_INTERVAL`` away) stores them; until then the pages say Amazon's listings were not read yet.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FIGURES = ("amazon_in_stock", "drifted", "rejected", "not_on_amazon", "amazon_only", "amazon_only_in_stock",
           "issues")


def upgrade() -> None:
    op.create_table("amazon_listing_count",
                    sa.Column("account_id", sa.Integer(), nullable=False),
                    *[sa.Column(name, sa.BigInteger(), nullable=False) for name in FIGURES],
                    sa.Column("read_at", sa.DateTime(), nullable=True),
                    sa.Column("refreshed_at", sa.DateTime(), nullable=False),
                    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
                    sa.PrimaryKeyConstraint("account_id"))


def downgrade() -> None:
    op.drop_table("amazon_listing_count")
