"""Per-account histograms of the catalog, kept by database triggers, so no page scans the catalog.

The rule (``wizard.rules.outcome_conditions``) compares a product's ``available`` with 0, the buffer and the
ceiling, and its price with 1 and the threshold; nothing else. So counting products per (stock level, price)
is enough to say what any settings would do to the whole catalog:

* ``catalog_histogram``: products and units per (stock level, price band), a few hundred rows per account;
  price bands are fixed (:data:`BAND_STEPS`): narrow where prices are dense, wide where they are rare.
* ``catalog_price_histogram``: the same per (stock level, exact price), read only inside the one or two bands
  where a proposed threshold falls, so a threshold of $12.37 is counted exactly.

The stock level is ``available`` capped at :data:`STOCK_CAP`: settings accept at most 1,000,000 units, so
every product above that behaves alike; ``units`` keeps the real sum of ``available``.

On SQLite both tables are ``WITHOUT ROWID`` (migration 0015), clustered by their key.

Triggers on ``product`` keep both tables up to date in the writer's own transaction, whoever writes (the CSV
import, the API, the demo data, a test fixture): SQLite fires a row trigger, PostgreSQL a statement trigger
that applies each statement's net change in key order (one lock order for concurrent writers). Created by
``create_all`` (the ``after_create`` listener below) and by migration 0002; :func:`rebuild` recomputes an
account's rows from the catalog.
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants only, never from values.
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from wizard.models.catalog_bulk import NOT_BULK, table_ddl

#: Settings accept at most 1,000,000 units; every stock level above behaves alike, so it is capped here.
STOCK_CAP = 1_000_001
#: ``(start, step)``: from ``start`` cents on (until the next start) price bands are ``step`` cents wide.
BAND_STEPS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 99), (100, 100), (2_000, 500), (10_000, 2_500), (50_000, 10_000), (200_000, 100_000),
    (2_000_000, 1_000_000),
)
HISTOGRAM = "catalog_histogram"
PRICE_HISTOGRAM = "catalog_price_histogram"


class CatalogHistogram(SQLModel, table=True):
    """Products and units of one account per (stock level, price band)."""

    __tablename__ = HISTOGRAM
    # Clustered by its key on SQLite: the preview reads an account's cells in key order from one B-tree,
    # not an index plus a row lookup per cell (half the read), and the triggers' upserts touch one B-tree.
    __table_args__ = {"sqlite_with_rowid": False}

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    #: ``available``, capped at :data:`STOCK_CAP`.
    stock: int = Field(primary_key=True)
    #: The band's lowest price in cents (:func:`band_of`).
    band: int = Field(primary_key=True)
    products: int = 0
    #: The sum of ``available`` (uncapped): a million products of a million units overflow 32 bits.
    units: int = Field(default=0, sa_type=BigInteger)


class CatalogPriceHistogram(SQLModel, table=True):
    """Products and units of one account per (exact price, stock level): for thresholds inside a band."""

    __tablename__ = PRICE_HISTOGRAM
    __table_args__ = {"sqlite_with_rowid": False}  # as CatalogHistogram: a price range is one key range

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    price_cents: int = Field(primary_key=True)
    stock: int = Field(primary_key=True)
    products: int = 0
    units: int = Field(default=0, sa_type=BigInteger)


def band_of(price_cents: int) -> int:
    """Return the lowest price of the band holding ``price_cents``."""
    for start, step in reversed(BAND_STEPS):
        if price_cents >= start:
            return start + (price_cents - start) // step * step
    return 0


def band_end(band: int) -> int:
    """Return the first price past the band starting at ``band``."""
    for i, (_start, step) in enumerate(BAND_STEPS):
        following = BAND_STEPS[i + 1][0] if i + 1 < len(BAND_STEPS) else None
        if following is None or band < following:
            end = band + step
            return end if following is None else min(end, following)
    raise AssertionError("unreachable")


def _band_sql(price: str) -> str:
    """Return :func:`band_of` as SQL over the integer expression ``price`` (integer division in both)."""
    whens = []
    for i, (start, step) in enumerate(BAND_STEPS[:-1]):
        whens.append(f"WHEN {price} < {BAND_STEPS[i + 1][0]} "
                     f"THEN {start} + ({price} - {start}) / {step} * {step}")
    start, step = BAND_STEPS[-1]
    return f"(CASE {' '.join(whens)} ELSE {start} + ({price} - {start}) / {step} * {step} END)"


def _stock_sql(available: str) -> str:
    return f"(CASE WHEN {available} > {STOCK_CAP} THEN {STOCK_CAP} ELSE {available} END)"


# ---- SQLite: row triggers ----------------------------------------------------------------------------------


def _sqlite_upserts(row: str, sign: str) -> str:
    units = f"{sign}{row}.available"
    # Built from constants and the trigger's row name only; no value is ever formatted into SQL here.
    return (
        f"INSERT INTO {HISTOGRAM} (account_id, stock, band, products, units) VALUES ({row}.account_id, "
        f"{_stock_sql(row + '.available')}, {_band_sql(row + '.price_cents')}, {sign}1, {units}) "
        "ON CONFLICT (account_id, stock, band) DO UPDATE SET products = products + excluded.products, "
        "units = units + excluded.units;\n"
        f"INSERT INTO {PRICE_HISTOGRAM} (account_id, price_cents, stock, products, units) VALUES "
        f"({row}.account_id, {row}.price_cents, {_stock_sql(row + '.available')}, {sign}1, {units}) "
        "ON CONFLICT (account_id, price_cents, stock) DO UPDATE SET products = products + excluded.products, "
        "units = units + excluded.units;\n"
    )


def sqlite_ddl() -> list[str]:
    """Return the statements creating the SQLite triggers (inserts of a bulk-inserted account excepted)."""
    return [
        table_ddl(),
        f"CREATE TRIGGER product_histogram_insert AFTER INSERT ON product WHEN {NOT_BULK} BEGIN\n"
        f"{_sqlite_upserts('NEW', '')}END",
        f"CREATE TRIGGER product_histogram_delete AFTER DELETE ON product BEGIN\n"
        f"{_sqlite_upserts('OLD', '-')}END",
        "CREATE TRIGGER product_histogram_update AFTER UPDATE OF account_id, available, price_cents "
        "ON product WHEN OLD.account_id IS NOT NEW.account_id OR OLD.available IS NOT NEW.available "
        f"OR OLD.price_cents IS NOT NEW.price_cents BEGIN\n{_sqlite_upserts('OLD', '-')}"
        f"{_sqlite_upserts('NEW', '')}END",
    ]


# ---- PostgreSQL: statement triggers with transition tables -------------------------------------------------

_PG_SOURCES = {
    "insert": "SELECT account_id, available, price_cents, 1 AS n FROM new_rows",
    "delete": "SELECT account_id, available, price_cents, -1 AS n FROM old_rows",
    "update": "SELECT account_id, available, price_cents, 1 AS n FROM new_rows UNION ALL "
              "SELECT account_id, available, price_cents, -1 AS n FROM old_rows",
}


def _pg_function(kind: str) -> str:
    source = _PG_SOURCES[kind]
    # Net change per cell, in key order: an update that changes no stock or price writes nothing, and
    # concurrent writers lock the cells they share in the same order.
    return (
        f"CREATE OR REPLACE FUNCTION product_histogram_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  INSERT INTO {HISTOGRAM} AS h (account_id, stock, band, products, units)\n"
        f"  SELECT account_id, {_stock_sql('available')}, {_band_sql('price_cents')}, sum(n), "
        f"sum(n * available::bigint)\n  FROM ({source}) AS d GROUP BY 1, 2, 3\n"
        "  HAVING sum(n) <> 0 OR sum(n * available::bigint) <> 0 ORDER BY 1, 2, 3\n"
        "  ON CONFLICT (account_id, stock, band) DO UPDATE SET products = h.products + excluded.products,\n"
        "    units = h.units + excluded.units;\n"
        f"  INSERT INTO {PRICE_HISTOGRAM} AS h (account_id, price_cents, stock, products, units)\n"
        f"  SELECT account_id, price_cents, {_stock_sql('available')}, sum(n), sum(n * available::bigint)\n"
        f"  FROM ({source}) AS d GROUP BY 1, 2, 3\n"
        "  HAVING sum(n) <> 0 OR sum(n * available::bigint) <> 0 ORDER BY 1, 2, 3\n"
        "  ON CONFLICT (account_id, price_cents, stock) DO UPDATE SET products = h.products + "
        "excluded.products,\n    units = h.units + excluded.units;\n"
        "  RETURN NULL;\nEND $$"
    )


def postgresql_ddl() -> list[str]:
    """Return the statements creating the PostgreSQL functions and triggers."""
    referencing = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
                   "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    statements = []
    for kind, tables in referencing.items():
        statements.append(_pg_function(kind))
        statements.append(f"CREATE TRIGGER product_histogram_{kind} AFTER {kind.upper()} ON product "
                          f"REFERENCING {tables} FOR EACH STATEMENT "
                          f"EXECUTE FUNCTION product_histogram_{kind}()")
    return statements


def trigger_ddl(dialect: str) -> list[str]:
    """Return the statements that make ``dialect`` keep the histograms."""
    if dialect == "sqlite":
        return sqlite_ddl()
    if dialect == "postgresql":
        return postgresql_ddl()
    raise NotImplementedError(f"no catalog histogram triggers for {dialect}")


def backfill_sql(account_filter: str = "") -> list[str]:
    """Return the statements filling both histograms from the catalog (``account_filter``: a WHERE clause)."""
    where = f" WHERE {account_filter}" if account_filter else ""
    return [
        f"INSERT INTO {HISTOGRAM} (account_id, stock, band, products, units) "
        f"SELECT account_id, {_stock_sql('available')}, {_band_sql('price_cents')}, count(*), sum(available) "
        f"FROM product{where} GROUP BY 1, 2, 3",
        f"INSERT INTO {PRICE_HISTOGRAM} (account_id, price_cents, stock, products, units) "
        f"SELECT account_id, price_cents, {_stock_sql('available')}, count(*), sum(available) "
        f"FROM product{where} GROUP BY 1, 2, 3",
    ]


def add_sql(where: str) -> list[str]:
    """Return the statements adding the products matching ``where`` to both histograms (a bulk insert)."""
    counts = "products = products + excluded.products, units = units + excluded.units"
    return [
        f"INSERT INTO {HISTOGRAM} (account_id, stock, band, products, units) "
        f"SELECT account_id, {_stock_sql('available')}, {_band_sql('price_cents')}, count(*), sum(available) "
        f"FROM product WHERE {where} GROUP BY 1, 2, 3 "
        f"ON CONFLICT (account_id, stock, band) DO UPDATE SET {counts}",
        f"INSERT INTO {PRICE_HISTOGRAM} (account_id, price_cents, stock, products, units) "
        f"SELECT account_id, price_cents, {_stock_sql('available')}, count(*), sum(available) "
        f"FROM product WHERE {where} GROUP BY 1, 2, 3 "
        f"ON CONFLICT (account_id, price_cents, stock) DO UPDATE SET {counts}",
    ]


def rebuild(connection: Connection, account_id: int) -> None:
    """Recompute an account's histograms from its catalog, in the caller's transaction."""
    for table in (HISTOGRAM, PRICE_HISTOGRAM):
        connection.execute(text(f"DELETE FROM {table} WHERE account_id = :a"), {"a": account_id})
    for statement in backfill_sql("account_id = :a"):
        connection.execute(text(statement), {"a": account_id})


@event.listens_for(SQLModel.metadata, "after_create")
def _create_triggers(_metadata: Any, connection: Connection, **kw: Any) -> None:
    """Create the triggers when ``create_all`` created the histogram tables (tests, benchmarks)."""
    created = {table.name for table in kw.get("tables", [])}
    if HISTOGRAM in created:
        for statement in trigger_ddl(connection.dialect.name):
            connection.exec_driver_sql(statement)


__all__ = ["BAND_STEPS", "STOCK_CAP", "CatalogHistogram", "CatalogPriceHistogram", "add_sql", "band_end",
           "band_of", "rebuild", "trigger_ddl"]
