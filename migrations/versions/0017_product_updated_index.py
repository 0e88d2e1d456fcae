"""Issue 12 §3: an index on ``product(account_id, updated_at)``.

The urgent lane reads an account's products changed since a moment, oldest first
(``wizard.sync.urgent.candidates``), and every sync asks whether any product changed within the lane's grace
waits for it (``wizard.sync.urgent.waiting_for_lane``). Without this index SQLite read every product of the
account to answer: 2.45 s of a 1% plan of a million products; with it, a range of the index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 20:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_product_account_updated", "product", ["account_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_product_account_updated", table_name="product")
