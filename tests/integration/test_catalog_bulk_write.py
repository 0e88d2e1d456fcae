"""An import chunk is written the fastest way per database (``COPY`` on PostgreSQL), with the same result.

``write_chunk`` (the CSV import's writer) and ``write_rows`` (the row-by-row upsert the API uses) are applied
to two accounts of the same database, chunk by chunk; the two catalogs, their id order and the histograms
the triggers keep must come out the same. Run under ``--db=postgresql`` this compares ``COPY`` with
``executemany``; under ``--db=sqlite`` both are ``executemany`` (the check that SQLite kept its path).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session, col, select

from wizard.catalog.importer import Row, write_chunk, write_rows
from wizard.models import Account, Product

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
