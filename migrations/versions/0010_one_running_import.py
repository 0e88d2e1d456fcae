"""One running CSV import per account: a partial unique index on catalog_import.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Imports left "running" by the old in-process thread would collide with the index: close them first.
    op.execute("UPDATE catalog_import SET status = 'failed', message = 'The import was interrupted. Rows "
               "already imported are saved in full; import the file again to finish.' WHERE status = 'running'")
    op.create_index("uq_catalog_import_one_running", "catalog_import", ["account_id"], unique=True,
                    sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_index("uq_catalog_import_one_running", table_name="catalog_import")
