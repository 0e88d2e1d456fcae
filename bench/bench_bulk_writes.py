"""Benchmark the bulk writes on PostgreSQL: ``executemany`` of ``INSERT … ON CONFLICT`` against ``COPY``.

Prints figures; it is not a test. Run: ``APP_ENV=development .venv/bin/python bench/bench_bulk_writes.py
[--rows 100000] [--runs 3]``.

The two bulk paths of the product, each measured the way it runs:
1. the catalog upsert (``wizard.catalog.importer.write_rows``, CSV import and product API), in chunks of the
   importer's size: first a load of new SKUs, then the same SKUs again (every row an update);
2. the sync's listing-state write of a first full sync (one row per SKU of a feed, 25,000 a feed).

Each is measured two ways in the same run on the same throwaway PostgreSQL cluster (Debian's ``initdb`` and
``pg_ctl``, as the tests start it): the reference is ``executemany`` (psycopg 3 pipelines it), the candidate
``COPY`` into a temporary table and one ``INSERT … SELECT … ON CONFLICT``. The ratio is candidate / reference
(below 1 means COPY is faster). SQLite's ``executemany`` is printed beside them for scale.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import wizard.models  # noqa: E402, F401 - registers the tables
from tests.fixtures.databases import PostgresCluster, postgresql_bindir  # noqa: E402
from wizard.catalog.importer import CHUNK_ROWS, Row, write_rows  # noqa: E402
from wizard.db import dispose_engine, engine_for, table_of  # noqa: E402
from wizard.models.base import utcnow  # noqa: E402
from wizard.models.sync import (  # noqa: E402
    BatchStatus,
    FeedBatch,
    ListingState,
    ListingStatus,
    RunStatus,
    SyncRun,
    SyncTrigger,
)

FEED_ROWS = 25_000
LISTING_COLUMNS = ("account_id", "sku", "status", "inflight_batch_id", "inflight_message_id",
                   "inflight_quantity", "inflight_price_cents")


def _fresh(url: str) -> tuple[Engine, int]:
    """Start from an empty database (SQLite: a new file; PostgreSQL: a new schema), then create the tables."""
    dispose_engine(url)
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        with engine_for(url).begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        dispose_engine(url)
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO account (name, created_at) VALUES ('Bench', :now)"),
                           {"now": utcnow()})
        account_id = int(connection.execute(text("SELECT max(id) FROM account")).scalar_one())
    return engine, account_id


def _products(count: int, bump: int = 0) -> list[Row]:
    return [Row(f"BENCH-{i:08d}", f"Product {i}", (i * 7 + bump) % 60, 300 + (i * 37 + bump) % 20_000)
            for i in range(count)]


def copy_write_rows(connection: Connection, account_id: int, rows: list[Row]) -> int:
    """The candidate: COPY the chunk into a temporary table, then upsert it in one statement."""
    raw = connection.connection.driver_connection
    assert raw is not None
    now = utcnow()
    with raw.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE incoming_product "
                       "(sku text, title text, available integer, price_cents integer) ON COMMIT DROP")
        with cursor.copy("COPY incoming_product (sku, title, available, price_cents) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.sku, row.title, row.available, row.price_cents))
        cursor.execute(
            "INSERT INTO product (account_id, sku, title, available, price_cents, updated_at) "
            "SELECT %(account_id)s, sku, COALESCE(title, ''), available, price_cents, %(now)s "
            "FROM incoming_product ON CONFLICT (account_id, sku) DO UPDATE SET "
            "title = COALESCE(excluded.title, product.title), available = excluded.available, "
            "price_cents = excluded.price_cents, updated_at = excluded.updated_at",
            {"account_id": account_id, "now": now})
    return len(rows)


def _catalog(engine: Engine, account_id: int, rows: list[Row],
             write: Callable[[Connection, int, list[Row]], int]) -> float:
    start = time.perf_counter()
    for offset in range(0, len(rows), CHUNK_ROWS):
        with engine.begin() as connection:
            write(connection, account_id, rows[offset:offset + CHUNK_ROWS])
    return time.perf_counter() - start


def _listing_params(engine: Engine, account_id: int, batch_id: int, count: int) -> list[tuple[Any, ...]]:
    # The status as the database stores it, whichever way the model maps the enum.
    process = table_of(ListingState).c.status.type.bind_processor(engine.dialect)
    status = process(ListingStatus.PENDING) if process else ListingStatus.PENDING
    return [(account_id, f"BENCH-{i:08d}", status, batch_id, i + 1, i % 60, 300 + i % 20_000)
            for i in range(count)]


def listing_executemany(connection: Connection, params: list[tuple[Any, ...]]) -> None:
    """The reference: what the sync does today, one ``INSERT … ON CONFLICT DO NOTHING`` per row."""
    marks = ", ".join(["%s"] * len(LISTING_COLUMNS))
    connection.exec_driver_sql(f"INSERT INTO listing_state ({', '.join(LISTING_COLUMNS)}) "  # noqa: S608
                               f"VALUES ({marks}) ON CONFLICT (account_id, sku) DO NOTHING", params)


def listing_copy(connection: Connection, params: list[tuple[Any, ...]]) -> None:
    """The candidate: COPY the rows into a temporary table, then one ``INSERT … SELECT … ON CONFLICT``."""
    raw = connection.connection.driver_connection
    assert raw is not None
    columns = ", ".join(LISTING_COLUMNS)
    with raw.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE incoming_listing (account_id integer, sku text, status text, "
                       "inflight_batch_id integer, inflight_message_id integer, inflight_quantity integer, "
                       "inflight_price_cents integer) ON COMMIT DROP")
        with cursor.copy(f"COPY incoming_listing ({columns}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        # The status arrives as text; the column may be a native enum on PostgreSQL.
        status_type = connection.execute(text(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'listing_state'::regclass AND attname = 'status'")).scalar_one()
        selected = columns.replace("status", f"status::{status_type}")
        cursor.execute(f"INSERT INTO listing_state ({columns}) SELECT {selected} "  # noqa: S608
                       "FROM incoming_listing ON CONFLICT (account_id, sku) DO NOTHING")


def _listing(engine: Engine, account_id: int, rows: int,
             write: Callable[[Connection, list[tuple[Any, ...]]], None]) -> float:
    with Session(engine) as session:
        run = SyncRun(account_id=account_id, trigger=SyncTrigger.CRON, status=RunStatus.PLANNING)
        session.add(run)
        session.flush()
        batch = FeedBatch(run_id=run.id or 0, account_id=account_id, seq=1, status=BatchStatus.PLANNED,
                          message_count=rows, content_sha256="0" * 64, size_bytes=0)
        session.add(batch)
        session.commit()
        batch_id = batch.id or 0
    params = _listing_params(engine, account_id, batch_id, rows)
    start = time.perf_counter()
    for offset in range(0, rows, FEED_ROWS):
        with engine.begin() as connection:
            write(connection, params[offset:offset + FEED_ROWS])
    return time.perf_counter() - start


def best(runs: int, measure: Callable[[], float]) -> float:
    """Return the median of ``runs`` measurements (this machine is shared and noisy)."""
    return statistics.median(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows, runs = args.rows, args.runs
    cluster = PostgresCluster(postgresql_bindir())
    cluster.start()
    try:
        pg_url = cluster.url(cluster.create_database())
        with tempfile.TemporaryDirectory() as folder:
            sqlite_url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            results: list[tuple[str, float, float, float]] = []
            for label, bump in (("catalog upsert, new SKUs", 0), ("catalog upsert, every SKU updated", 1)):
                def measure(url: str, write: Callable[[Connection, int, list[Row]], int],
                            bump: int = bump) -> float:
                    engine, account_id = _fresh(url)
                    if bump:
                        _catalog(engine, account_id, _products(rows), write_rows)
                    return _catalog(engine, account_id, _products(rows, bump), write)

                reference = best(runs, lambda: measure(pg_url, write_rows))
                candidate = best(runs, lambda: measure(pg_url, copy_write_rows))
                sqlite = best(runs, lambda: measure(sqlite_url, write_rows))
                results.append((label, reference, candidate, sqlite))

            def listing(url: str, write: Callable[[Connection, list[tuple[Any, ...]]], None]) -> float:
                engine, account_id = _fresh(url)
                return _listing(engine, account_id, rows, write)

            def listing_sqlite(connection: Connection, params: list[tuple[Any, ...]]) -> None:
                marks = ", ".join(["?"] * len(LISTING_COLUMNS))
                connection.exec_driver_sql(
                    f"INSERT INTO listing_state ({', '.join(LISTING_COLUMNS)}) VALUES ({marks}) "  # noqa: S608
                    "ON CONFLICT (account_id, sku) DO NOTHING", params)

            results.append(("sync listing state, first sync",
                            best(runs, lambda: listing(pg_url, listing_executemany)),
                            best(runs, lambda: listing(pg_url, listing_copy)),
                            best(runs, lambda: listing(sqlite_url, listing_sqlite))))
            dispose_engine(sqlite_url)
        dispose_engine(pg_url)
    finally:
        cluster.stop()
    print(f"{rows:,} rows, median of {runs} runs; ratio = COPY / executemany on PostgreSQL")
    print(f"{'path':<36} {'PG executemany':>15} {'PG COPY':>10} {'ratio':>7} {'SQLite':>9}")
    for label, reference, candidate, sqlite in results:
        print(f"{label:<36} {reference:>14.2f}s {candidate:>9.2f}s {candidate / reference:>7.2f} "
              f"{sqlite:>8.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
