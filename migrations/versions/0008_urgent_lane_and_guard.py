"""Issue 11 §1 and §2: the urgent lane's sends and the blast-radius guard's paused runs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 07:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "urgent_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("submission_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("issues_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("urgent_update") as batch:
        batch.create_index("ix_urgent_update_account_sent", ["account_id", "sent_at"], unique=False)
    op.create_table(
        "run_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("in_stock_count", sa.Integer(), nullable=False),
        sa.Column("zero_count", sa.Integer(), nullable=False),
        sa.Column("priced_count", sa.Integer(), nullable=False),
        sa.Column("price_drop_count", sa.Integer(), nullable=False),
        sa.Column("examples_json", sa.Text(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["sync_run.id"]),
        sa.ForeignKeyConstraint(["decided_by_user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("run_hold") as batch:
        batch.create_index("ix_run_hold_account_id", ["account_id"], unique=False)
        batch.create_index("ix_run_hold_run_id", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_hold") as batch:
        batch.drop_index("ix_run_hold_run_id")
        batch.drop_index("ix_run_hold_account_id")
    op.drop_table("run_hold")
    with op.batch_alter_table("urgent_update") as batch:
        batch.drop_index("ix_urgent_update_account_sent")
    op.drop_table("urgent_update")
