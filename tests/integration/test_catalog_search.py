"""Catalog search through the text index finds what a plain substring test finds; keyset pages cover every
match exactly once, in SKU order, forwards and backwards; the count stops at its cap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col

from tests.conftest import Merchant
from wizard.catalog.importer import Row, write_rows
from wizard.catalog.search import bounded_count, page_of, search_page, text_condition
from wizard.models import Product

WORDS = ["Lantern", "lantern", "LANTERN-2", "tent", "50%_off", 'the "big" one', "mug", "ant", "an"]
titles = st.lists(st.sampled_from(WORDS), min_size=0, max_size=3).map(" ".join)
catalogs = st.lists(titles, max_size=30)
queries = st.sampled_from(["lantern", "LANTERN", "ant", "an", "%_o", '"big"', "tern-2", "zzz", "sku-00"])
property_settings = settings(max_examples=50, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


def _catalog(db: Session, account_id: int, titles: list[str]) -> dict[str, str]:
    db.execute(delete(Product).where(col(Product.account_id) == account_id))
    rows = [Row(f"SKU-{i:03d}", title, i % 7, 1000 + i) for i, title in enumerate(titles)]
    write_rows(db.connection(), account_id, rows)
    db.commit()
    return {row.sku: row.title or "" for row in rows}


def _expected(catalog: dict[str, str], query: str) -> list[str]:
    needle = query.lower()
    return sorted(sku for sku, title in catalog.items() if needle in sku.lower() or needle in title.lower())


def _found(db: Session, account_id: int, query: str) -> list[str]:
    return sorted(db.execute(select(col(Product.sku)).where(col(Product.account_id) == account_id,
                                                            text_condition(db, query))).scalars())


@property_settings
@given(titles=catalogs, query=queries)
def test_the_indexed_search_finds_every_sku_or_title_containing_the_text(
        db: Session, merchant: Merchant, titles: list[str], query: str) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    catalog = _catalog(db, account_id, titles)
    assert _found(db, account_id, query) == _expected(catalog, query)


def test_the_index_follows_renames_and_deletes(db: Session, merchant: Merchant) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    _catalog(db, account_id, ["Red lantern", "Blue tent", "Green lantern"])
    db.execute(update(Product).where(col(Product.sku) == "SKU-000").values(title="Red mug"))
    db.execute(delete(Product).where(col(Product.sku) == "SKU-002"))
    write_rows(db.connection(), account_id, [Row("SKU-001", "Blue lantern", 3, 500)])
    db.commit()
    assert _found(db, account_id, "lantern") == ["SKU-001"]


@property_settings
@given(count=st.integers(min_value=0, max_value=23), size=st.integers(min_value=1, max_value=6))
def test_keyset_pages_cover_every_match_once_in_sku_order_both_ways(
        db: Session, merchant: Merchant, count: int, size: int) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    catalog = _catalog(db, account_id, [f"Lantern {i}" if i % 3 else f"Tent {i}" for i in range(count)])
    conditions = [col(Product.account_id) == account_id, text_condition(db, "lantern")]
    expected = _expected(catalog, "lantern")
    pages, after = [], None
    while True:
        page = page_of(db, conditions, after=after, size=size)
        pages.append([p.sku for p in page.products])
        assert (page.prev_before is not None) == (after is not None and bool(page.products))
        if page.next_after is None:
            break
        after = page.next_after
    assert [sku for skus in pages for sku in skus] == expected
    # Back from the last page: "Previous" gives the very same pages, in reverse.
    back, before = [pages[-1]], page_of(db, conditions, after=after, size=size).prev_before
    while before is not None:
        page = page_of(db, conditions, before=before, size=size)
        back.append([p.sku for p in page.products])
        before = page.prev_before
    assert back[::-1] == pages


def test_the_count_stops_at_its_cap(db: Session, merchant: Merchant) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    _catalog(db, account_id, ["lantern"] * 12)
    conditions = [col(Product.account_id) == account_id, text_condition(db, "lantern")]
    assert bounded_count(db, conditions, cap=20) == (12, False)
    assert bounded_count(db, conditions, cap=12) == (12, False)
    assert bounded_count(db, conditions, cap=5) == (5, True)


def _walk(db: Session, conditions: list[object], query: str, size: int,
          cap: int, shape: Any = None, narrow: bool = False) -> tuple[list[list[str]], set[tuple[int, bool]]]:
    """Follow "Next" from the first page to the last, then "Previous" back; return pages and counts."""
    pages, counts, after = [], set(), None
    while True:
        page, count, more = search_page(db, conditions, query, after=after, size=size, cap=cap, shape=shape,
                                        narrow=narrow)
        pages.append([p.sku for p in page.products])
        counts.add((count, more))
        assert (page.prev_before is not None) == (after is not None and bool(page.products))
        if page.next_after is None:
            break
        after = page.next_after
    last, _, _ = search_page(db, conditions, query, after=after, size=size, cap=cap, shape=shape,
                             narrow=narrow)
    back, before = [pages[-1]], last.prev_before
    while before is not None:
        page, _, _ = search_page(db, conditions, query, before=before, size=size, cap=cap, shape=shape,
                                 narrow=narrow)
        back.append([p.sku for p in page.products])
        before = page.prev_before
    assert back[::-1] == pages
    return pages, counts


@property_settings
@given(count=st.integers(min_value=0, max_value=23), size=st.integers(min_value=1, max_value=6),
       cap=st.integers(min_value=1, max_value=30),
       query=st.sampled_from(["lantern", "LANTERN", "an", "nt 1"]))
def test_a_search_pages_through_every_match_once_and_counts_up_to_its_cap(
        db: Session, merchant: Merchant, count: int, size: int, cap: int, query: str) -> None:
    """Under the cap the page is cut from the index's hits, past it from the SKU order: both list the same."""
    account_id = merchant.account.id
    assert account_id is not None
    other = _other_account(db)
    _catalog(db, other, ["lantern"] * 5)  # another merchant's matches are never counted or shown
    catalog = _catalog(db, account_id, [f"Lantern {i}" if i % 3 else f"Tent {i}" for i in range(count)])
    conditions: list[object] = [col(Product.account_id) == account_id, col(Product.available) > 0]
    expected = sorted(sku for sku in _expected(catalog, query) if int(sku[-3:]) % 7)  # available = i % 7
    pages, counts = _walk(db, conditions, query, size, cap)
    assert [sku for skus in pages for sku in skus] == expected
    assert counts == {(min(len(expected), cap), len(expected) > cap)}
    # Rows of a shape (the catalog page's): the count rides on the page's statement; the same pages and count.
    shape = select(col(Product.id), col(Product.sku), col(Product.title))
    assert _walk(db, conditions, query, size, cap, shape=shape) == (pages, counts)
    narrow = _walk(db, conditions, query, size, cap, shape=shape, narrow=True)
    assert narrow == (pages, counts)  # a narrow filter drives: the same pages and count


def _evaluations(db: Session) -> tuple[Any, Callable[[], int]]:
    """Return a condition that holds for every product and counts how often the database evaluates it."""
    connection = db.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE SEQUENCE probe_calls")
        connection.exec_driver_sql(
            "CREATE FUNCTION probe(id integer) RETURNS boolean LANGUAGE plpgsql VOLATILE "
            "AS $$ BEGIN PERFORM nextval('probe_calls'); RETURN id IS NOT NULL; END $$")
        db.commit()
        calls = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM probe_calls"
        return func.probe(col(Product.id)), lambda: int(db.connection().exec_driver_sql(calls).scalar_one())
    evaluated: list[int] = []
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.create_function("probe", 1, lambda id_: evaluated.append(id_) or id_ is not None)
    return func.probe(col(Product.id)) == 1, lambda: len(evaluated)


def test_a_first_page_holding_every_match_reads_the_matches_once(db: Session, merchant: Merchant) -> None:
    """Its rows are the count: a rare word or a SKU reads the text index once, not a second time to count."""
    account_id = merchant.account.id
    assert account_id is not None
    catalog = _catalog(db, account_id, ["Red lantern", "Blue lantern", "Green lantern", "Tent", "Mug",
                                        "Black lantern"])
    probe, evaluations = _evaluations(db)
    conditions: list[object] = [col(Product.account_id) == account_id, probe]
    shape = select(col(Product.id), col(Product.sku), col(Product.title))
    # "an": too short for SQLite's trigram table, so both databases test the text on the rows they read.
    page, count, more = search_page(db, conditions, "an", size=10, cap=3, shape=shape)
    assert [p.sku for p in page.products] == _expected(catalog, "an")
    assert (count, more, page.next_after, page.prev_before) == (3, True, None, None)
    assert evaluations() <= len(catalog)  # counting again would read them a second time
    # A full first page still counts past itself.
    page, count, more = search_page(db, conditions, "an", size=2, cap=3, shape=shape)
    assert ([p.sku for p in page.products], count, more) == (_expected(catalog, "an")[:2], 3, True)


def _other_account(db: Session) -> int:
    from wizard.models import Account

    account = Account(name="Another merchant")
    db.add(account)
    db.commit()
    assert account.id is not None
    return account.id
