"""SKUs that left the catalog, recorded by database triggers, so the sync need not look for them.

A SKU Amazon shows in stock that leaves the catalog is set to 0 by the next sync
(:func:`wizard.sync.plan.removed_products`). Finding such SKUs by comparing ``listing_state`` with ``product``
read every SKU of the account on every run (5 to 7 s of a 1% plan of a million products on PostgreSQL), to
find none most of the time. Instead, whoever removes a product (a ``DELETE``, or an ``UPDATE`` that changes
its SKU or its account), the database records its ``(account_id, sku)`` here in the writer's transaction, and
the sync reads only these rows. No code of ours deletes products; the merchant's platform or an operator may.

A row stays when the SKU comes back: the sync still checks that the SKU is not in the catalog, so a row is a
hint, never a decision. SQLite fires a row trigger; PostgreSQL a statement trigger for deletes (one insert per
statement from its transition table) and a row trigger for the rare change of a SKU (a statement trigger
with transition tables cannot name columns, and would then run on every update of stock or price).
Created by ``create_all`` (the ``after_create`` listener below) and by migration 0018, which also records
the SKUs already gone.
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants only, never from values.
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

REMOVED = "removed_sku"
#: A removed product's columns, as the triggers name the old row.
_OLD = "OLD.account_id, OLD.sku"
#: The product's key changed: its old SKU left the catalog (of its old account).
_KEY_CHANGED_SQLITE = "OLD.account_id IS NOT NEW.account_id OR OLD.sku IS NOT NEW.sku"
_KEY_CHANGED_PG = "OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.sku IS DISTINCT FROM NEW.sku"


class RemovedSku(SQLModel, table=True):
    """A SKU that left an account's catalog (it may have come back since)."""

    __tablename__ = REMOVED
    # Clustered by its key on SQLite: the sync reads an account's rows in key order.
    __table_args__ = {"sqlite_with_rowid": False}

    account_id: int = Field(primary_key=True)
    sku: str = Field(primary_key=True, max_length=40)


def sqlite_ddl() -> list[str]:
    """Return the statements creating the SQLite triggers."""
    insert = f"INSERT OR IGNORE INTO {REMOVED} (account_id, sku) VALUES ({_OLD});"
    return [
        f"CREATE TRIGGER product_removed_delete AFTER DELETE ON product BEGIN {insert} END",
        f"CREATE TRIGGER product_removed_update AFTER UPDATE OF account_id, sku ON product "
        f"WHEN {_KEY_CHANGED_SQLITE} BEGIN {insert} END",
    ]


def postgresql_ddl() -> list[str]:
    """Return the statements creating the PostgreSQL functions and triggers."""
    return [
        "CREATE OR REPLACE FUNCTION product_removed_delete() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  INSERT INTO {REMOVED} (account_id, sku) SELECT DISTINCT account_id, sku FROM old_rows\n"
        "  ORDER BY 1, 2 ON CONFLICT DO NOTHING;\n  RETURN NULL;\nEND $$",
        "CREATE TRIGGER product_removed_delete AFTER DELETE ON product REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION product_removed_delete()",
        "CREATE OR REPLACE FUNCTION product_removed_update() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  INSERT INTO {REMOVED} (account_id, sku) VALUES ({_OLD}) ON CONFLICT DO NOTHING;\n"
        "  RETURN NULL;\nEND $$",
        f"CREATE TRIGGER product_removed_update AFTER UPDATE OF account_id, sku ON product FOR EACH ROW "
        f"WHEN ({_KEY_CHANGED_PG}) EXECUTE FUNCTION product_removed_update()",
    ]


def trigger_ddl(dialect: str) -> list[str]:
    """Return the statements that make ``dialect`` record removed SKUs."""
    if dialect == "sqlite":
        return sqlite_ddl()
    if dialect == "postgresql":
        return postgresql_ddl()
    raise NotImplementedError(f"no removed-SKU triggers for {dialect}")


def drop_ddl(dialect: str) -> list[str]:
    """Return the statements dropping the triggers (and PostgreSQL's functions)."""
    statements = []
    for kind in ("delete", "update"):
        if dialect == "postgresql":
            statements += [f"DROP TRIGGER IF EXISTS product_removed_{kind} ON product",
                           f"DROP FUNCTION IF EXISTS product_removed_{kind}()"]
        else:
            statements.append(f"DROP TRIGGER IF EXISTS product_removed_{kind}")
    return statements


#: Records the SKUs the sync knows Amazon was sent that are no longer in the catalog (migration 0018).
BACKFILL = (f"INSERT INTO {REMOVED} (account_id, sku) SELECT DISTINCT s.account_id, s.sku "
            "FROM listing_state s WHERE NOT EXISTS (SELECT 1 FROM product p "
            "WHERE p.account_id = s.account_id AND p.sku = s.sku)")


@event.listens_for(SQLModel.metadata, "after_create")
def _create_triggers(_metadata: Any, connection: Connection, **kw: Any) -> None:
    """Create the triggers when ``create_all`` created the table (tests, benchmarks)."""
    if REMOVED in {table.name for table in kw.get("tables", [])}:
        for statement in trigger_ddl(connection.dialect.name):
            connection.exec_driver_sql(statement)


__all__ = ["BACKFILL", "REMOVED", "RemovedSku", "drop_ddl", "trigger_ddl"]
