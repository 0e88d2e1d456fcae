"""Issue 10 §4: after one sync, one reconcile and one more sync, Amazon shows what the rules engine decides.

The sandbox gets external edits (Seller Central, a repricer), an asynchronous issue, Amazon-only listings and
catalog SKUs Amazon does not hold, in both of its unknown-SKU modes (reject with 4000001, or accept and create
an incomplete offer-only listing). Real parts: the sandbox over HTTP, Redis, SQLite, RQ jobs worked in-process
from both queues.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from redis import Redis
from sqlmodel import Session, select

from jobs.queue import enqueue_reconcile, enqueue_sync
from tests.fixtures.reconcile import work_until_idle
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, save_settings
from wizard.models import ListingState, Product
from wizard.models.reconcile import AmazonListing, ListingDrift
from wizard.models.sync import SyncRun
from wizard.rules import Rules, decide

ON_AMAZON = 12  # SKU-0000000 .. SKU-0000011 have listings; SKU-0000012 .. SKU-0000015 do not
CATALOG = 16


def price_of(cents: int) -> Decimal:
    return Decimal(cents) / 100


def seed(sandbox: SandboxControl, seller: Seller) -> None:
    listings = [{"sku": f"SKU-{n:07d}", "quantity": 1, "price": "99.00"} for n in range(ON_AMAZON)]
    listings[0].update(discounted_price="79.00", minimum_price="50.00", maximum_price="150.00")
    listings += [{"sku": "AMZ-ONLY-1", "quantity": 5, "price": "20.00"},
                 {"sku": "AMZ-ONLY-2", "quantity": 0, "price": "21.00"}]
    sandbox.seed_listings(seller.seller_id, listings)


def enqueue(redis_url: str, account_id: int, what: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        if what == "sync":
            enqueue_sync(account_id, "manual", connection=redis)
        else:
            enqueue_reconcile(account_id, what, connection=redis)
    finally:
        redis.close()


@pytest.mark.parametrize("unknown_sku_mode", ["reject", "create_incomplete"])
def test_one_sync_one_reconcile_one_sync_leaves_amazon_as_the_rules_decide(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str],
        unknown_sku_mode: str) -> None:
    redis_url = reconcile_env["REDIS_URL"]
    sandbox.set_unknown_sku_mode(seller.seller_id, unknown_sku_mode)
    seed(sandbox, seller)
    add_products(db, seller.account_id, CATALOG, available=lambda i: 10 + i, price_cents=lambda i: 1000 + i)
    rules = Rules.from_settings(save_settings(db, seller.account_id, disable_pricing=False))

    # The first sync waits for the first full read of Amazon, which then starts it.
    enqueue(redis_url, seller.account_id, "sync")
    work_until_idle(redis_url)
    db.expire_all()
    assert len(db.exec(select(SyncRun).where(SyncRun.account_id == seller.account_id)).all()) == 1

    # Changes made outside Ecommerce, an asynchronous issue, then one reconcile.
    sandbox.external_edit(seller.seller_id, "SKU-0000001", quantity=99)
    sandbox.external_edit(seller.seller_id, "SKU-0000002", price="5.00")
    sandbox.async_issue(seller.seller_id, "SKU-0000003", on_next_write=False)
    assert sandbox.listing(seller.seller_id, "SKU-0000003")["issues"]  # Amazon's validation has run
    enqueue(redis_url, seller.account_id, "incremental")
    work_until_idle(redis_url)
    db.expire_all()
    drift = {(d.sku, d.kind) for d in db.exec(select(ListingDrift).where(
        ListingDrift.account_id == seller.account_id))}
    assert drift == {("SKU-0000001", "quantity"), ("SKU-0000002", "price")}
    issues = db.exec(select(AmazonListing).where(AmazonListing.sku == "SKU-0000003")).one()
    assert issues.error_count == 1

    # One more sync: the drift is corrected without any catalog change.
    enqueue(redis_url, seller.account_id, "sync")
    work_until_idle(redis_url)

    amazon = sandbox.listings(seller.seller_id)
    products = {p.sku: p for p in db.exec(select(Product).where(Product.account_id == seller.account_id))}
    for n in range(ON_AMAZON):
        sku = f"SKU-{n:07d}"
        decision = decide(products[sku].available, products[sku].price_cents, rules)
        assert amazon[sku]["quantity"] == decision.quantity, sku
        assert amazon[sku]["price"] == price_of(decision.price_cents or 0), sku
    offer = sandbox.offer(seller.seller_id, "SKU-0000000")
    assert offer["discounted_price"] == [{"schedule": [{"value_with_tax": 79.0}]}]
    assert offer["minimum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": 50.0}]}]
    assert offer["maximum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": 150.0}]}]
    # Amazon-only listings are untouched (nobody confirmed "Set these to 0").
    assert amazon["AMZ-ONLY-1"]["quantity"] == 5 and amazon["AMZ-ONLY-1"]["price"] == Decimal("20.00")
    # Catalog SKUs without a listing were never sent: no rejection loop, no incomplete listing.
    for n in range(ON_AMAZON, CATALOG):
        assert f"SKU-{n:07d}" not in amazon
    sent_skus = {sku for _, _, _, sku in sandbox.audit()}
    assert not sent_skus & {f"SKU-{n:07d}" for n in range(ON_AMAZON, CATALOG)}
    db.expire_all()
    query = select(ListingState).where(ListingState.account_id == seller.account_id)
    states = {s.sku for s in db.exec(query)}
    assert not states & {f"SKU-{n:07d}" for n in range(ON_AMAZON, CATALOG)}
    missing = db.exec(select(AmazonListing).where(AmazonListing.account_id == seller.account_id,
                                                  AmazonListing.on_amazon == False)).all()  # noqa: E712
    assert {m.sku for m in missing} == {f"SKU-{n:07d}" for n in range(ON_AMAZON, CATALOG)}


def test_a_new_catalog_sku_is_looked_up_before_it_is_first_sent(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    redis_url = reconcile_env["REDIS_URL"]
    sandbox.set_unknown_sku_mode(seller.seller_id, "create_incomplete")
    seed(sandbox, seller)
    add_products(db, seller.account_id, 2)
    enqueue(redis_url, seller.account_id, "sync")
    work_until_idle(redis_url)
    # Added after the full read: one on Amazon already, one not.
    add_products(db, seller.account_id, 1, start=5)
    add_products(db, seller.account_id, 1, start=0, prefix="NEW-")
    searches = len(sandbox.identifier_searches())
    enqueue(redis_url, seller.account_id, "sync")
    work_until_idle(redis_url)
    looked_up = [set(ids) for _, _, ids in sandbox.identifier_searches()[searches:]]
    # The SKU Amazon was never asked about is looked up before planning (SKU-0000005 is on Amazon: the full
    # read saw it); then the processed feed's one SKU is read back.
    assert looked_up == [{"NEW-0000000"}, {"SKU-0000005"}]
    amazon = sandbox.listings(seller.seller_id)
    assert "NEW-0000000" not in amazon
    assert amazon["SKU-0000005"]["quantity"] == 5  # add_products: available = i % 40
