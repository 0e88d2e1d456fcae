"""An import chunk is written the fastest way per database, with the same result as the row-by-row upsert.

``write_chunk`` (the CSV import's writer) and ``write_rows`` (the row-by-row upsert the API uses) are applied
to two accounts of the same database, chunk by chunk; the two catalogs, their id order and the histograms
must come out the same. Run under ``--db=postgresql`` this compares ``COPY`` with ``executemany``; under
``--db=sqlite`` it compares the bulk insert (derived tables maintained once per chunk, its insert triggers
stepping aside: ``wizard.models.catalog_bulk``) with the per-row triggers. After an import the histograms
are what a rebuild from the catalog gives, and the search index finds every new title.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session, col, select

from wizard.catalog.importer import Row, import_csv, text_lines, write_chunk, write_rows
from wizard.catalog.search import text_condition
from wizard.db import engine_for
from wizard.migrate import upgrade
from wizard.models import Account, Product
from wizard.models.catalog_bulk import BULK_INSERT
from wizard.models.catalog_search import SEARCH_TABLE
from wizard.models.catalog_stats import rebuild

rows = st.builds(
    Row,
    sku=st.sampled_from([f"SKU-{n}" for n in range(12)] + ["sku with, comma", 'quote "q"', "tab\\slash"]),
    title=st.none() | st.sampled_from(["", "Blue lantern", "Tent, 2 person", 'The "best" stove', "é ü 日本"]),
    available=st.integers(0, 60) | st.sampled_from([1_000_000, 100_000_000]),
    price_cents=st.integers(0, 3_000_000),
)
#: Chunks of rows with distinct SKUs (as the validator guarantees within a file).
chunks = st.lists(st.lists(rows, max_size=8, unique_by=lambda row: row.sku), max_size=5)


def _account(db: Session, name: str) -> int:
    account = Account(name=name)
    db.add(account)
    db.commit()
    assert account.id is not None
    return account.id


def _catalog(db: Session, account_id: int) -> list[tuple[Any, ...]]:
    """Return the account's products in id order (the order new SKUs were added)."""
    return [tuple(row) for row in db.execute(
        select(col(Product.sku), col(Product.title), col(Product.available), col(Product.price_cents))
        .where(col(Product.account_id) == account_id).order_by(col(Product.id))).all()]


def _histograms(db: Session, account_id: int) -> dict[str, set[tuple[Any, ...]]]:
    found = {}
    for table in ("catalog_histogram", "catalog_price_histogram"):
        query = f"SELECT * FROM {table} WHERE account_id = :a AND (products <> 0 OR units <> 0)"  # noqa: S608
        found[table] = {tuple(row)[1:] for row in db.execute(text(query), {"a": account_id}).all()}
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=chunks)
def test_an_import_chunk_stores_what_the_row_by_row_upsert_stores(db: Session,
                                                                   chunks: list[list[Row]]) -> None:
    fast, reference = _account(db, "By chunk"), _account(db, "Row by row")
    for chunk in chunks:
        with db.connection().engine.begin() as connection:  # one transaction per chunk, as the import
            assert write_chunk(connection, fast, chunk) == len(chunk)
        with db.connection().engine.begin() as connection:
            write_rows(connection, reference, chunk)
    db.commit()
    assert _catalog(db, fast) == _catalog(db, reference)
    assert _histograms(db, fast) == _histograms(db, reference)
    _assert_derived_tables_hold(db, fast)


def test_two_chunks_in_one_transaction_and_a_rolled_back_one(db: Session) -> None:
    account_id = _account(db, "Two chunks")
    engine = db.connection().engine
    db.commit()
    with engine.begin() as connection:
        write_chunk(connection, account_id, [Row("A", "Lantern", 5, 1999), Row("B", None, 0, 500)])
        write_chunk(connection, account_id, [Row("A", None, 7, 1899), Row("C", "Tent", 1, 100)])
    try:
        with engine.begin() as connection:
            write_chunk(connection, account_id, [Row("A", "Gone", 0, 1)])
            raise RuntimeError("the process dies before the chunk commits")
    except RuntimeError:
        pass
    db.expire_all()
    assert _catalog(db, account_id) == [("A", "Lantern", 7, 1899), ("B", "", 0, 500), ("C", "Tent", 1, 100)]
    # The rolled-back chunk took its bulk insert with it: the next one runs, and every derived table holds.
    with engine.begin() as connection:
        write_chunk(connection, account_id, [Row("D", "Stove", 2, 2500)])
    _assert_derived_tables_hold(db, account_id)


def _assert_derived_tables_hold(db: Session, account_id: int) -> None:
    """Assert the histograms equal a rebuild's, the search finds every title, and no bulk insert is listed."""
    db.commit()
    stored = _histograms(db, account_id)
    rebuild(db.connection(), account_id)
    assert _histograms(db, account_id) == stored
    db.rollback()
    titles = [title for _, title, _, _ in _catalog(db, account_id) if len(title) >= 3]
    for title in titles:
        found = db.execute(select(col(Product.title)).where(col(Product.account_id) == account_id,
                                                            text_condition(db, title))).scalars().all()
        assert title in found
    if db.connection().dialect.name == "sqlite":
        assert db.execute(text(f"SELECT count(*) FROM {BULK_INSERT}")).scalar_one() == 0  # noqa: S608
        # FTS5's own check of the index against the catalog (rank 1: the external content too).
        db.execute(text(f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rank) "  # noqa: S608
                        "VALUES ('integrity-check', 1)"))
    db.rollback()


def _csv(rows: list[tuple[str, str, int, str]]) -> bytes:
    return ("sku,title,available,price\n" + "".join(f"{s},{t},{a},{p}\n" for s, t, a, p in rows)).encode()


def test_an_import_of_new_and_known_skus_leaves_the_histograms_and_the_search_as_a_rebuild_would(
        db: Session, database_url: str) -> None:
    account_id, other = _account(db, "Importer"), _account(db, "Neighbour")
    with db.connection().engine.begin() as connection:
        write_rows(connection, account_id, [Row(f"K-{n:03d}", f"Known lamp {n:03d}", n, 1000 + n)
                                            for n in range(0, 90, 3)])
        write_rows(connection, other, [Row(f"K-{n:03d}", "Neighbour's lamp", 1, 99) for n in range(90)])
    rows = [(f"K-{n:03d}", "" if n % 5 == 0 else f"Imported zephyr {n:03d}", n % 7, f"{n % 40}.{n:02d}")
            for n in range(90)]
    progress = import_csv(database_url, account_id, text_lines(io.BytesIO(_csv(rows))), chunk_rows=25)
    assert (progress.written, progress.error_count) == (90, 0)
    catalog = _catalog(db, account_id)
    assert len(catalog) == 90
    assert ("K-015", "Known lamp 015", 1, 1515) in catalog  # a known SKU with an empty title keeps its title
    assert ("K-003", "Imported zephyr 003", 3, 303) in catalog
    assert ("K-001", "Imported zephyr 001", 1, 101) in catalog
    assert ("K-005", "", 5, 505) in catalog
    _assert_derived_tables_hold(db, account_id)
    _assert_derived_tables_hold(db, other)
    assert len(db.execute(select(col(Product.sku)).where(
        col(Product.account_id) == account_id, text_condition(db, "zephyr"))).all()) == 72


def test_after_the_migrations_a_bulk_insert_keeps_the_histograms_and_the_search(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    upgrade(url, "0018")
    with engine_for(url).begin() as connection:
        connection.exec_driver_sql("INSERT INTO account (id, name, created_at) VALUES (1, 'A', '2026-01-01')")
        write_rows(connection, 1, [Row("OLD", "Old kettle", 7, 1999)])
    upgrade(url)
    with engine_for(url).begin() as connection:
        write_chunk(connection, 1, [Row("OLD", None, 8, 1999), Row("NEW", "New kettle", 3, 1999)])
    with Session(engine_for(url)) as session:
        _assert_derived_tables_hold(session, 1)
        cells = session.execute(text("SELECT stock, band, products, units FROM catalog_histogram "
                                     "WHERE products <> 0")).all()
    assert sorted(map(tuple, cells)) == [(3, 1900, 1, 3), (8, 1900, 1, 8)]
