"""The catalog's text index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL (``wizard.catalog.search``).

Neither is a table the models describe: :func:`create_index` makes them, from ``create_all`` (the listener
below) and from migration 0006; :func:`managed_here` tells Alembic's comparison to leave them alone.
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants only, never from values.
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from wizard.models.catalog_bulk import BULK_INSERT, NOT_BULK, table_ddl

SEARCH_TABLE = "product_search"
_TRIGRAM_INDEXES = ("ix_product_sku_trgm", "ix_product_title_trgm")


def sqlite_ddl() -> list[str]:
    """Return the statements creating the FTS5 trigram table over product and its triggers.

    The insert trigger steps aside for a bulk-inserted account (:mod:`wizard.models.catalog_bulk`), whose
    writer indexes its new rows in one statement (:func:`index_sql`).
    """
    insert = f"INSERT INTO {SEARCH_TABLE} (rowid, sku, title) VALUES (NEW.id, NEW.sku, NEW.title);"
    delete = (f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, sku, title) "
              "VALUES ('delete', OLD.id, OLD.sku, OLD.title);")
    return [
        table_ddl(),
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(sku, title, content='product', content_rowid='id', "
        "tokenize='trigram')",
        f"CREATE TRIGGER product_search_insert AFTER INSERT ON product WHEN {NOT_BULK} BEGIN {insert} END",
        f"CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN {delete} END",
        "CREATE TRIGGER product_search_update AFTER UPDATE OF sku, title ON product "
        f"WHEN OLD.sku IS NOT NEW.sku OR OLD.title IS NOT NEW.title BEGIN {delete} {insert} END",
    ]


def index_sql(where: str) -> str:
    """Return the statement indexing the products matching ``where`` on SQLite (a bulk insert)."""
    return f"INSERT INTO {SEARCH_TABLE} (rowid, sku, title) SELECT id, sku, title FROM product WHERE {where}"


def postgresql_ddl() -> list[str]:
    """Return the statements creating the pg_trgm indexes."""
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS ix_product_sku_trgm ON product USING gin (sku gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS ix_product_title_trgm ON product USING gin (title gin_trgm_ops)",
    ]


def create_index(connection: Connection) -> None:
    """Create the text index for the connection's dialect and fill it from the catalog."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for statement in sqlite_ddl():
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql(f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('rebuild')")
    elif dialect == "postgresql":
        for statement in postgresql_ddl():
            connection.exec_driver_sql(statement)


def drop_index(connection: Connection) -> None:
    """Drop the text index (the migration's downgrade)."""
    if connection.dialect.name == "sqlite":
        for kind in ("insert", "delete", "update"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS product_search_{kind}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_product_sku_trgm")
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_product_title_trgm")


def managed_here(name: str | None, type_: str, _parent_names: Any = None) -> bool:
    """Return False for the text index's tables and indexes, which the models do not describe (Alembic).

    So is SQLite's list of bulk-inserted accounts (:mod:`wizard.models.catalog_bulk`), made with the triggers.
    """
    if name is None:
        return True
    if type_ == "table" and (name.startswith(SEARCH_TABLE) or name == BULK_INSERT):
        return False
    return not (type_ == "index" and name in _TRIGRAM_INDEXES)


@event.listens_for(SQLModel.metadata, "after_create")
def _create_search_index(_metadata: Any, connection: Connection, **kw: Any) -> None:
    """Create the text index when ``create_all`` created the product table (tests, benchmarks)."""
    if "product" in {table.name for table in kw.get("tables", [])}:
        create_index(connection)


__all__ = ["SEARCH_TABLE", "create_index", "drop_index", "index_sql", "managed_here"]
