"""The sync job end to end: a real RQ worker, the real database, the sandbox over HTTP."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from tests.fixtures.worker import Seller, add_products, last_run, run_sync, save_settings
from wizard.models import Product
from wizard.models.sync import FeedBatch, ListingState, RunStatus
from wizard.rules import Rules, decide


@pytest.fixture
def merchant_without_settings(db: Session, sandbox, sync_env: dict[str, str]) -> int:
    """A second account, connected and verified, whose merchant never saved the settings step."""
    from tests.conftest import make_merchant
    from tests.fixtures.worker import connect

    other = make_merchant(db, name="Unfinished Setup", domain="unfinished.example")
    assert other.account.id is not None
    connect(db, other.account.id, sandbox.grant("A2PROSELLERUS02"), seller_id="A2PROSELLERUS02")
    return other.account.id


def expected_listing(product: Product, rules: Rules) -> tuple[int, Decimal | None]:
    decision = decide(product.available, product.price_cents, rules)
    price = None if decision.price_cents is None else Decimal(decision.price_cents) / 100
    return decision.quantity, price


def test_a_first_sync_sends_every_product_and_amazon_shows_the_rules_answer(
        db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    add_products(db, seller.account_id, 300)
    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE, run.error
    assert (run.changed_count, run.sent_count, run.accepted_count, run.rejected_count) == (300, 300, 300, 0)
    listings = sandbox.listings(seller.seller_id)
    rules = Rules()
    for product in db.exec(select(Product).where(Product.account_id == seller.account_id)):
        quantity, price = expected_listing(product, rules)
        assert listings[product.sku]["quantity"] == quantity, product.sku
        assert listings[product.sku]["price"] == price, product.sku
    states = db.exec(select(ListingState).where(ListingState.account_id == seller.account_id)).all()
    assert all(s.inflight_batch_id is None and s.status == "accepted" for s in states)


def test_a_second_run_sends_only_what_changed(db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    add_products(db, seller.account_id, 200)
    run_sync(redis_url, seller.account_id)
    product = db.exec(select(Product).where(Product.sku == "SKU-0000007")).one()
    product.available = 0
    db.add(product)
    save_settings(db, seller.account_id, disable_pricing=True)
    db.commit()

    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE
    assert run.changed_count == 1
    assert sandbox.listings(seller.seller_id)["SKU-0000007"]["quantity"] == 0
    assert db.exec(select(FeedBatch).where(FeedBatch.run_id == run.id)).one().message_count == 1


def test_a_batch_mixing_new_and_known_skus_records_and_sends_both(
        db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    add_products(db, seller.account_id, 50)
    run_sync(redis_url, seller.account_id)
    known = db.exec(select(Product).where(Product.sku == "SKU-0000003")).one()
    known.available = 39
    known.price_cents = 4321
    db.add(known)
    db.commit()
    add_products(db, seller.account_id, 5, start=50, available=lambda i: 7, price_cents=lambda i: 1250)

    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE, run.error
    assert (run.changed_count, run.accepted_count, run.batches_total) == (6, 6, 1)
    listings = sandbox.listings(seller.seller_id)
    assert listings["SKU-0000003"]["quantity"] == 39
    assert listings["SKU-0000003"]["price"] == Decimal("43.21")
    assert all(listings[f"SKU-{i:07d}"]["quantity"] == 7 for i in range(50, 55))
    query = select(ListingState).where(ListingState.account_id == seller.account_id)
    states = {state.sku: state for state in db.exec(query)}
    assert len(states) == 55
    assert (states["SKU-0000003"].accepted_quantity, states["SKU-0000003"].accepted_price_cents) == (39, 4321)
    assert (states["SKU-0000054"].accepted_quantity, states["SKU-0000054"].accepted_price_cents) == (7, 1250)


def test_nothing_is_sent_before_the_merchant_saves_settings(
        db: Session, merchant, sandbox, redis_url: str, sync_env: dict[str, str]) -> None:
    from tests.fixtures.worker import SELLER, connect

    assert merchant.account.id is not None
    connect(db, merchant.account.id, sandbox.grant(SELLER))
    add_products(db, merchant.account.id, 20)

    run_sync(redis_url, merchant.account.id)

    assert sandbox.listings(SELLER) == {}
    assert "createFeed" not in sandbox.stats()["calls"]
    db.expire_all()
    assert db.exec(select(FeedBatch).where(FeedBatch.account_id == merchant.account.id)).first() is None


def test_the_scheduler_skips_accounts_whose_setup_is_incomplete(
        db: Session, seller: Seller, merchant_without_settings: int, redis_url: str) -> None:
    from jobs.sync import enqueue_all_syncs

    assert enqueue_all_syncs() == 1  # the fully set-up seller only


def test_a_cron_tick_does_not_queue_a_second_sync_for_an_account_whose_last_one_has_not_started(
        db: Session, seller: Seller, sandbox, redis_url: str) -> None:
    from redis import Redis

    from jobs.sync import enqueue_all_syncs
    from tests.fixtures.queues import queued_job_count, run_worker_burst

    add_products(db, seller.account_id, 5)
    redis = Redis.from_url(redis_url)
    try:
        assert enqueue_all_syncs() == 1
        assert enqueue_all_syncs() == 0  # the cycle overran: the first tick's job is still queued
        assert queued_job_count(redis) == 1

        run_worker_burst(redis)  # that job starts (and sends the catalog) ...
        assert len(sandbox.listings(seller.seller_id)) == 5
        assert enqueue_all_syncs() == 1  # ... so the next tick queues the account again
        assert queued_job_count(redis) == 1
    finally:
        redis.close()


def test_a_queued_manual_run_stops_with_a_clear_message_when_setup_is_incomplete(
        db: Session, merchant, sandbox, redis_url: str, sync_env: dict[str, str]) -> None:
    from tests.fixtures.worker import SELLER, connect
    from wizard.models.sync import SyncRun, SyncTrigger

    assert merchant.account.id is not None
    connect(db, merchant.account.id, sandbox.grant(SELLER))
    db.add(SyncRun(account_id=merchant.account.id, trigger=SyncTrigger.MANUAL, status=RunStatus.QUEUED))
    db.commit()

    run_sync(redis_url, merchant.account.id)

    run = last_run(db, merchant.account.id)
    assert run.status == RunStatus.STOPPED
    assert run.error is not None and "save your inventory and pricing settings" in run.error


def test_no_token_reaches_the_logs_during_a_sync(
        db: Session, seller: Seller, sandbox, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    add_products(db, seller.account_id, 30)

    with caplog.at_level(logging.DEBUG):
        run_sync(redis_url, seller.account_id)

    assert last_run(db, seller.account_id).status == RunStatus.DONE
    assert caplog.records, "the sync logged nothing, so this test would prove nothing"
    assert "Atzr|" not in caplog.text and "Atza|" not in caplog.text
