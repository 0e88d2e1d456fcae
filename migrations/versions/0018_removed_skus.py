"""Issue 12 §3: ``removed_sku``, the SKUs that left a catalog, recorded by triggers on ``product``.

The sync sets to 0 on Amazon a SKU that left the catalog while Amazon showed it in stock. It found them by
comparing every ``listing_state`` row of the account with ``product`` on every run (5 to 7 s of a 1% plan
of a million products on PostgreSQL); it now reads only the SKUs recorded here
(:mod:`wizard.models.catalog_removals`). The upgrade records the SKUs already gone (a ``listing_state`` row
without its product) before the triggers record the next ones.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from wizard.models.catalog_removals import BACKFILL, REMOVED, drop_ddl, trigger_ddl

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(REMOVED,
                    sa.Column("account_id", sa.Integer(), nullable=False),
                    sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
                    sa.PrimaryKeyConstraint("account_id", "sku"),
                    sqlite_with_rowid=False)
    bind = op.get_bind()
    bind.exec_driver_sql(BACKFILL)
    for statement in trigger_ddl(bind.dialect.name):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in drop_ddl(bind.dialect.name):
        bind.exec_driver_sql(statement)
    op.drop_table(REMOVED)
