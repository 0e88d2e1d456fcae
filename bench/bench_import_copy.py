"""Benchmark the CSV import's writes on PostgreSQL: ``COPY`` (the product's path) against ``executemany``.

Prints figures; it is not a test. Run: ``APP_ENV=development .venv/bin/python bench/bench_import_copy.py
[--rows 200000] [--runs 3]``.

Everything runs on one throwaway PostgreSQL cluster (``tests.fixtures.databases.PostgresCluster``: Debian's
``initdb`` and ``pg_ctl`` on a free port, as the tests start it), each measurement on a fresh database with
the full schema (its histogram triggers and search index included), in the same run:

- **write**: the parsed rows written in the importer's chunks (``CHUNK_ROWS``, one transaction each) by
  ``copy_rows`` (``COPY`` into a temporary table, one upsert from it) and by ``write_rows`` (``executemany``
  of ``INSERT … ON CONFLICT``, the path before), once as new SKUs and once with every SKU updated;
- **import**: ``import_csv`` end to end (read, validate, write) with its writer as shipped (``write_chunk``:
  ``COPY``) and with the writer before (``write_rows``);
- **reference**: the same rows serialized to CSV text with the standard library's ``csv`` writer, in memory:
  the work of turning the rows into what ``COPY`` sends, with no database at all.

Each figure is the median of ``--runs``; rows/s = rows / seconds; the ratios are against executemany (below 1
is faster) and against the serialization reference.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import wizard.models  # noqa: E402, F401 - registers the tables
from tests.fixtures.databases import PostgresCluster, postgresql_bindir  # noqa: E402
from wizard.catalog import importer  # noqa: E402
from wizard.catalog.importer import CHUNK_ROWS, Row, copy_rows, import_csv, text_lines, write_rows  # noqa: E402
from wizard.db import dispose_engine, engine_for  # noqa: E402
from wizard.models.base import utcnow  # noqa: E402

Writer = Callable[[Connection, int, list[Row]], int]


class Bench:
    """A throwaway cluster handing out fresh databases with the product's schema."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster

    def fresh(self) -> tuple[str, Engine, int]:
        """Return a new database's URL, its engine and the id of one account in it."""
        url = self.cluster.url(self.cluster.create_database())
        engine = engine_for(url)
        SQLModel.metadata.create_all(engine)
        with engine.begin() as connection:
            account_id = int(connection.execute(
                text("INSERT INTO account (name, created_at) VALUES ('Bench', :now) RETURNING id"),
                {"now": utcnow()}).scalar_one())
        return url, engine, account_id

    def drop(self, url: str) -> None:
        dispose_engine(url)
        self.cluster.drop_database(url.rsplit("/", 1)[1])


def products(count: int, bump: int = 0) -> list[Row]:
    """Return ``count`` rows like a merchant's file (titles included); ``bump`` changes every value."""
    return [Row(f"BENCH-{i:08d}", f"Outdoor product {i}, size {i % 7}", (i * 7 + bump) % 60,
                300 + (i * 37 + bump) % 20_000, i + 2) for i in range(count)]


def catalog_csv(rows: list[Row]) -> bytes:
    """Return the rows as the CSV file a merchant uploads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["sku", "title", "available", "price"])
    writer.writerows((row.sku, row.title, row.available, f"{(row.price_cents or 0) / 100:.2f}")
                     for row in rows)
    return out.getvalue().encode()


def write_all(engine: Engine, account_id: int, rows: list[Row], write: Writer) -> float:
    """Write ``rows`` in the importer's chunks, one transaction each; return the seconds taken."""
    start = time.perf_counter()
    for offset in range(0, len(rows), CHUNK_ROWS):
        with engine.begin() as connection:
            write(connection, account_id, rows[offset:offset + CHUNK_ROWS])
    return time.perf_counter() - start


def serialize(rows: list[Row]) -> float:
    """The reference: the same rows turned into CSV text in memory; return the seconds taken."""
    start = time.perf_counter()
    for offset in range(0, len(rows), CHUNK_ROWS):
        out = io.StringIO()
        csv.writer(out).writerows((line, row.sku, row.title or "", row.available, row.price_cents)
                                  for line, row in enumerate(rows[offset:offset + CHUNK_ROWS]))
    return time.perf_counter() - start


def median(runs: int, measure: Callable[..., float]) -> float:
    """Return the median of ``runs`` measurements (this machine is shared and noisy)."""
    return statistics.median(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    count, runs = args.rows, args.runs
    new, changed = products(count), products(count, bump=1)
    data = catalog_csv(new)
    bench = Bench(PostgresCluster(postgresql_bindir()))
    bench.cluster.start()
    results: list[tuple[str, float, float]] = []
    try:
        def write(rows: list[Row], writer: Writer, preload: bool) -> float:
            url, engine, account_id = bench.fresh()
            try:
                if preload:
                    write_all(engine, account_id, new, copy_rows)
                return write_all(engine, account_id, rows, writer)
            finally:
                bench.drop(url)

        def end_to_end(writer: Writer) -> float:
            url, _, account_id = bench.fresh()
            shipped = importer.write_chunk
            importer.write_chunk = writer  # the writer import_csv calls for each chunk
            try:
                start = time.perf_counter()
                progress = import_csv(url, account_id, text_lines(io.BytesIO(data)))
                seconds = time.perf_counter() - start
                assert progress.written == count and progress.error_count == 0
                return seconds
            finally:
                importer.write_chunk = shipped
                bench.drop(url)

        for label, rows, preload in (("write, new SKUs", new, False),
                                     ("write, every SKU updated", changed, True)):
            results.append((
                label,
                median(runs, lambda rows=rows, preload=preload: write(rows, write_rows, preload)),
                median(runs, lambda rows=rows, preload=preload: write(rows, copy_rows, preload))))
        results.append(("import_csv end to end, new SKUs", median(runs, lambda: end_to_end(write_rows)),
                        median(runs, lambda: end_to_end(importer.write_chunk))))
        reference = median(runs, lambda: serialize(new))
    finally:
        bench.cluster.stop()

    print(f"{count:,} rows, chunks of {CHUNK_ROWS:,}, median of {runs} runs, PostgreSQL "
          f"({postgresql_bindir().parent.name})")
    print(f"reference: CSV serialization of the rows in memory {reference:.2f} s "
          f"({count / reference:,.0f} rows/s)")
    print(f"{'path':<34} {'executemany':>20} {'COPY':>20} {'COPY/execmany':>14} {'COPY/reference':>15}")
    for label, old, copy in results:
        print(f"{label:<34} {old:>6.2f} s {count / old:>8,.0f}/s {copy:>6.2f} s {count / copy:>8,.0f}/s "
              f"{copy / old:>14.2f} {copy / reference:>15.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
