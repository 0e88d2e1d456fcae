"""Issue 12 §2: on SQLite, the catalog histograms become WITHOUT ROWID tables, clustered by their key.

The preview reads an account's cells in key order; in a rowid table that is the key's index plus one row
lookup per cell, half of the read. PostgreSQL has no such option: nothing changes there. The triggers on
``product`` are dropped while the tables are rebuilt (SQLite checks trigger bodies when a table is renamed)
and created again as ``wizard.models.catalog_stats`` writes them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wizard.models.catalog_stats import HISTOGRAM, PRICE_HISTOGRAM, trigger_ddl

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: Each histogram's key columns, in key order, then its two counts.
TABLES = {HISTOGRAM: ("account_id", "stock", "band"), PRICE_HISTOGRAM: ("account_id", "price_cents", "stock")}


def _rebuild(with_rowid: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for kind in ("insert", "update", "delete"):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS product_histogram_{kind}")
    for table, key in TABLES.items():
        new = f"{table}_rebuilt"
        op.create_table(new,
                        *[sa.Column(name, sa.Integer(), nullable=False) for name in key],
                        sa.Column("products", sa.Integer(), nullable=False),
                        sa.Column("units", sa.BigInteger(), nullable=False),
                        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
                        sa.PrimaryKeyConstraint(*key),
                        sqlite_with_rowid=with_rowid)
        columns = ", ".join((*key, "products", "units"))
        bind.exec_driver_sql(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {table}")  # noqa: S608
        op.drop_table(table)
        op.rename_table(new, table)
    for statement in trigger_ddl("sqlite"):
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
