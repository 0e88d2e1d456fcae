"""Issue 12 §1: on SQLite, a bulk insert of new products keeps the histograms and the search index per chunk.

The row triggers that add a new product to the histograms and to the FTS5 index were most of a CSV import's
time (100,000 new rows: 15 s of SQL of 19 s). Their insert triggers now step aside for an account listed in
``product_bulk_insert``, which the importer's bulk writer lists only inside its own transaction while it
adds its rows set-based (:mod:`wizard.models.catalog_bulk`). PostgreSQL's statement triggers and indexes
are already set-based: nothing changes there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 04:00:00
"""

from __future__ import annotations

from alembic import op

from wizard.models import catalog_search, catalog_stats
from wizard.models.catalog_bulk import BULK_INSERT, NOT_BULK, table_ddl

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: The insert triggers that step aside, each with its statement as the models write it now.
TRIGGERS = ("product_histogram_insert", "product_search_insert")


def _insert_triggers() -> dict[str, str]:
    statements = catalog_stats.sqlite_ddl() + catalog_search.sqlite_ddl()
    return {name: next(s for s in statements if s.startswith(f"CREATE TRIGGER {name} ")) for name in TRIGGERS}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    bind.exec_driver_sql(table_ddl())
    for name, statement in _insert_triggers().items():
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for name, statement in _insert_triggers().items():
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql(statement.replace(f" WHEN {NOT_BULK}", ""))
    bind.exec_driver_sql(f"DROP TABLE IF EXISTS {BULK_INSERT}")
