"""A SKU that leaves the catalog while Amazon shows it in stock is set to 0 by the next sync (issue 12 §3).

The sync reads only the SKUs the database recorded as removed (``removed_sku``, kept by triggers on
``product``), so these tests remove products the ways a catalog can lose them: a ``DELETE``, a change of SKU,
and a delete followed by the same SKU coming back. Real parts: a worker's job in-process, the database, the
sandbox over HTTP.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from wizard.migrate import upgrade
from wizard.models import Product, RemovedSku
from wizard.models.sync import ListingState, RunStatus


def _in_stock(db: Session, seller: Seller, count: int) -> None:
    add_products(db, seller.account_id, count, available=lambda i: 10 + i, price_cents=lambda i: 2000)


def _delete(db: Session, account_id: int, *skus: str) -> None:
    db.execute(delete(Product).where(col(Product.account_id) == account_id, col(Product.sku).in_(skus)))
    db.commit()


def _removed(db: Session, account_id: int) -> set[str]:
    db.expire_all()
    return set(db.exec(select(RemovedSku.sku).where(RemovedSku.account_id == account_id)))


def test_a_deleted_or_renamed_product_is_set_to_0_on_amazon_once(
        db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    _in_stock(db, seller, 20)  # two zeros in twenty: under the guard's share of stock-outs at once
    run_sync(redis_url, seller.account_id)
    _delete(db, seller.account_id, "SKU-0000001")
    db.execute(update(Product).where(col(Product.account_id) == seller.account_id,
                                     col(Product.sku) == "SKU-0000002").values(sku="SKU-RENAMED"))
    db.commit()

    run_sync(redis_url, seller.account_id)

    listings = sandbox.listings(seller.seller_id)
    assert {sku: listings[sku]["quantity"] for sku in ("SKU-0000000", "SKU-0000001", "SKU-0000002")} == {
        "SKU-0000000": 10, "SKU-0000001": 0, "SKU-0000002": 0}
    assert last_run(db, seller.account_id).status == RunStatus.DONE

    assert _removed(db, seller.account_id) == {"SKU-0000001", "SKU-0000002"}
    run_sync(redis_url, seller.account_id)  # Amazon accepted the zeros: nothing is sent again
    run = last_run(db, seller.account_id)
    assert (run.status, run.changed_count) == (RunStatus.DONE, 0)
    assert _removed(db, seller.account_id) == set()  # settled: the planner no longer reads them


def test_a_product_deleted_and_added_again_is_not_set_to_0_until_it_leaves_again(
        db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    _in_stock(db, seller, 20)  # one zero in twenty: under the guard's share of stock-outs at once
    run_sync(redis_url, seller.account_id)
    _delete(db, seller.account_id, "SKU-0000001")
    add_products(db, seller.account_id, 1, start=1, available=lambda i: 7, price_cents=lambda i: 2000)
    assert "SKU-0000001" in _removed(db, seller.account_id)  # a hint only: the catalog has the last word

    run_sync(redis_url, seller.account_id)

    assert sandbox.listings(seller.seller_id)["SKU-0000001"]["quantity"] == 7
    assert "SKU-0000001" not in _removed(db, seller.account_id)  # back in the catalog: forgotten

    _delete(db, seller.account_id, "SKU-0000001")  # the triggers record it again
    run_sync(redis_url, seller.account_id)

    assert sandbox.listings(seller.seller_id)["SKU-0000001"]["quantity"] == 0


def test_a_removed_sku_is_forgotten_when_amazon_has_its_0_and_kept_while_its_quantity_is_unknown(
        db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    _in_stock(db, seller, 3)
    run_sync(redis_url, seller.account_id)
    db.execute(update(ListingState).where(col(ListingState.account_id) == seller.account_id,
                                          col(ListingState.sku) == "SKU-0000001")
               .values(accepted_quantity=None))  # unknown, as after a lane patch whose answer was lost
    db.commit()
    _delete(db, seller.account_id, "SKU-0000001", "SKU-0000002")
    db.execute(update(ListingState).where(col(ListingState.account_id) == seller.account_id,
                                          col(ListingState.sku) == "SKU-0000002")
               .values(accepted_quantity=0))  # Amazon already has its 0
    db.commit()

    run_sync(redis_url, seller.account_id)

    assert _removed(db, seller.account_id) == {"SKU-0000001"}


def test_the_database_records_every_sku_that_leaves_a_catalog(db: Session, merchant) -> None:  # type: ignore[no-untyped-def]
    """A delete of many rows at once, a change of SKU, a change of account: each old SKU is recorded once;
    an update of stock or price records nothing."""
    account_id = merchant.account.id
    add_products(db, account_id, 6)
    db.execute(update(Product).where(col(Product.account_id) == account_id).values(available=3))
    db.commit()
    assert _removed(db, account_id) == set()

    _delete(db, account_id, "SKU-0000000", "SKU-0000001")
    db.execute(update(Product).where(col(Product.sku) == "SKU-0000002").values(sku="SKU-NEW"))
    db.commit()
    _delete(db, account_id, "SKU-NEW")  # deleted again: still one row

    assert _removed(db, account_id) == {"SKU-0000000", "SKU-0000001", "SKU-0000002", "SKU-NEW"}


def test_the_migration_records_the_skus_that_left_the_catalog_before_it(
        empty_database_url: str) -> None:
    from sqlalchemy import text

    from wizard.db import engine_for

    upgrade(empty_database_url, "0017")
    with engine_for(empty_database_url).begin() as connection:
        connection.execute(text("INSERT INTO account (name, created_at) VALUES ('Gone', '2026-01-01')"))
        account_id = connection.execute(text("SELECT max(id) FROM account")).scalar_one()
        connection.execute(text("INSERT INTO product (account_id, sku, title, available, price_cents, "
                                "updated_at) VALUES (:a, 'KEPT', '', 1, 100, '2026-01-01')"),
                           {"a": account_id})
        for sku in ("KEPT", "GONE"):
            connection.execute(text("INSERT INTO listing_state (account_id, sku, status, accepted_quantity) "
                                    "VALUES (:a, :sku, 'ACCEPTED', 5)"), {"a": account_id, "sku": sku})

    upgrade(empty_database_url)

    with engine_for(empty_database_url).connect() as connection:
        rows = connection.execute(text("SELECT account_id, sku FROM removed_sku")).all()
    assert [tuple(row) for row in rows] == [(account_id, "GONE")]
