"""On SQLite, a bulk insert of new products maintains the derived tables once per chunk instead of per row.

The histograms (:mod:`wizard.models.catalog_stats`) and the search index (:mod:`wizard.models.catalog_search`)
are kept by row triggers on ``product``. For an insert of thousands of new products, running them per row is
most of an import's time (100,000 new rows: 15 s of SQL instead of 4 s; the FTS5 index writes a segment per
row, as each trigger statement opens a savepoint that flushes it). So their insert triggers step aside for
the rows of an account listed in ``product_bulk_insert``, and the writer that lists it
(:func:`wizard.catalog.importer.bulk_rows`) adds the rows it inserted to both, set-based, in the same
transaction before removing it again.

This is sound because SQLite has one writer at a time: the row exists only inside that writer's open
transaction (inserted and deleted there, so never committed), no other connection can write meanwhile, and
a rollback or a crash takes it away with the rows. Its key is the account: a row left behind by a bug would
make the next bulk insert of that account fail loudly (a duplicate key) instead of skipping triggers.
PostgreSQL needs none of this (its histogram triggers are statement triggers and its search index an index).
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants only, never from values.
from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table

BULK_INSERT = "product_bulk_insert"
#: The table for the writer's statements, in its own metadata: the models (and Alembic) do not describe it.
BULK_TABLE = Table(BULK_INSERT, MetaData(), Column("account_id", Integer, primary_key=True))

#: The condition of the insert triggers that step aside: the row's account is not being bulk-inserted.
NOT_BULK = f"NOT EXISTS (SELECT 1 FROM {BULK_INSERT} WHERE account_id = NEW.account_id)"


def table_ddl() -> str:
    """Return the statement creating the list of accounts being bulk-inserted (empty once committed)."""
    return f"CREATE TABLE IF NOT EXISTS {BULK_INSERT} (account_id INTEGER PRIMARY KEY)"


__all__ = ["BULK_INSERT", "BULK_TABLE", "NOT_BULK", "table_ddl"]
