"""Catalog search index: FTS5 trigram over sku and title on SQLite, pg_trgm GIN indexes on PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:05:00
"""

from __future__ import annotations

from alembic import op

from wizard.models.catalog_search import create_index, drop_index

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index(op.get_bind())


def downgrade() -> None:
    drop_index(op.get_bind())
