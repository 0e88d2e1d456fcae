"""Issue 9 §4 and §9: the history's keyset index, and the purpose of a "set all to 0, then disconnect" run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    op.create_index("ix_sync_run_account_newest", "sync_run", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_sync_run_account_newest", table_name="sync_run")
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("purpose")
