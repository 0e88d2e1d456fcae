"""Issue 9 §1: what a rejection leaves on listing_state, so a rejected SKU is not re-sent forever.

Permanent rejections wait for a change or "Try again", transient ones for their back-off, unknown codes for
their daily allowance (wizard.sync.rejections). A partial index over the rejected SKUs lets the pages count
and list them without reading the catalog. SKUs rejected before this revision get ``rejected_at`` (so they are
counted and listed) and no kind: the next run sends them once more and classifies Amazon's answer.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = ("reject_kind", "reject_tries", "reject_window_at", "next_retry_at", "rejected_at", "rejected_run_id")


def upgrade() -> None:
    with op.batch_alter_table("listing_state") as batch:
        batch.add_column(sa.Column("reject_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch.add_column(sa.Column("reject_tries", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reject_window_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("next_retry_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rejected_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rejected_run_id", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE listing_state SET rejected_at = COALESCE(sent_at, CURRENT_TIMESTAMP) "
                       "WHERE status = 'REJECTED'"))
    op.create_index("ix_listing_state_rejected", "listing_state", ["account_id", "rejected_run_id"],
                    sqlite_where=sa.text("rejected_at IS NOT NULL"),
                    postgresql_where=sa.text("rejected_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_listing_state_rejected", table_name="listing_state")
    with op.batch_alter_table("listing_state") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
