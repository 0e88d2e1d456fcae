"""Reliability: after throttles, 500s, a revoked authorization and a SIGKILLed worker, Amazon shows exactly
what the rules engine says for every SKU, and no batch ever became two feeds.

Real parts only: real ``rq worker`` processes (killed with SIGKILL), the sandbox over HTTP, Redis and SQLite.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, update
from sqlmodel import Session, select

from jobs.queue import enqueue_sync
from tests.fixtures.queues import run_worker_burst
from tests.fixtures.services import wait_until
from tests.fixtures.worker import (
    Seller,
    add_products,
    connect,
    kill_worker,
    last_run,
    run_sync,
    save_settings,
    start_worker,
)
from wizard.models import Connection, ConnectionStatus, Product
from wizard.models.sync import BatchStatus, FeedBatch, RunStatus, SyncRun
from wizard.rules import Rules, decide

CATALOG = 10_000


def expected(db: Session, account_id: int, rules: Rules) -> dict[str, tuple[int, Decimal | None]]:
    """Return what the rules engine says Amazon should show, per SKU."""
    answer = {}
    for sku, available, price_cents in db.exec(select(Product.sku, Product.available, Product.price_cents)
                                               .where(Product.account_id == account_id)):
        decision = decide(available, price_cents, rules)
        price = None if decision.price_cents is None else Decimal(decision.price_cents) / 100
        answer[sku] = (decision.quantity, price)
    return answer


def assert_converged(db: Session, sandbox: Any, seller: Seller, rules: Rules) -> None:
    listings = sandbox.listings(seller.seller_id)
    wrong = [(sku, want, (listings.get(sku) or {}).get("quantity"), (listings.get(sku) or {}).get("price"))
             for sku, want in expected(db, seller.account_id, rules).items()
             if listings.get(sku) is None or listings[sku]["quantity"] != want[0]
             or (want[1] is not None and listings[sku]["price"] != want[1])]
    assert not wrong, f"{len(wrong)} SKUs differ from the rules engine, e.g. {wrong[:5]}"


def assert_no_feed_submitted_twice(db: Session, sandbox: Any, account_id: int) -> None:
    feeds = [f for f in sandbox.stats()["feeds"] if f["feedType"] == "JSON_LISTINGS_FEED"]
    hashes = Counter(f["content_sha256"] for f in feeds)
    assert [h for h, n in hashes.items() if n > 1] == [], "a document was submitted as two feeds"
    ours = list(db.exec(select(FeedBatch.feed_id).where(FeedBatch.account_id == account_id,
                                                        FeedBatch.feed_id.is_not(None))))  # type: ignore[union-attr]
    assert sorted(ours) == sorted(f["feedId"] for f in feeds), "Amazon has a feed no batch of ours knows"


def sync_until_idle(db: Session, redis_url: str, account_id: int, *, rounds: int = 6) -> SyncRun:
    """Run syncs in-process until one finds nothing left to send (what the cron does every 15 minutes)."""
    for _ in range(rounds):
        run_sync(redis_url, account_id, "cron")
        run = last_run(db, account_id)
        unfinished = db.exec(select(func.count()).select_from(FeedBatch).where(
            FeedBatch.account_id == account_id,
            FeedBatch.status.in_((BatchStatus.PLANNED, BatchStatus.UPLOADED,  # type: ignore[attr-defined]
                                  BatchStatus.SUBMITTING, BatchStatus.SUBMITTED)))).one()
        if run.status == RunStatus.DONE and run.changed_count == 0 and unfinished == 0:
            return run
    raise AssertionError(f"the sync did not settle after {rounds} runs; last run: {run}")


@pytest.mark.slow
def test_the_catalog_converges_under_faults_a_revocation_and_a_killed_worker(
        db: Session, seller: Seller, sandbox: Any, redis_url: str, sync_env: dict[str, str],
        worker_processes: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = Rules(inventory_buffer=3, inventory_ceiling=50, min_price_cents=600)
    save_settings(db, seller.account_id, inventory_buffer=3, inventory_ceiling=50, min_price_cents=600)
    add_products(db, seller.account_id, CATALOG)
    env = {**sync_env, "SYNC_FEED_MAX_MESSAGES": "800"}
    monkeypatch.setenv("SYNC_FEED_MAX_MESSAGES", "800")
    sandbox.processing(delay=2.0)  # feeds stay in flight a while, so the kill lands mid-run

    # 1. A real worker starts the first full sync and is SIGKILLed once a few feeds are out.
    worker = start_worker(env, log=tmp_path / "worker-1.log")
    worker_processes.append(worker)
    enqueue_sync(seller.account_id, "cron", connection=Redis.from_url(redis_url))

    def feeds_out() -> bool:
        db.expire_all()
        return db.exec(select(func.count()).select_from(FeedBatch)
                       .where(FeedBatch.feed_id.is_not(None))).one() >= 3  # type: ignore[union-attr]

    wait_until(feeds_out, timeout=40, message="three feeds to be submitted")
    kill_worker(worker)
    sandbox.processing(delay=0.5)
    redis = Redis.from_url(redis_url)
    wait_until(lambda: redis.get(f"sync:lock:{seller.account_id}") is None, timeout=20,
               message="the dead worker's lock to expire")

    # 2. Stock moves meanwhile; Amazon fails calls with 500s and throttles; then revokes the authorization.
    db.execute(update(Product).where(Product.account_id == seller.account_id, Product.id % 7 == 0)
               .values(available=0))
    db.execute(update(Product).where(Product.account_id == seller.account_id, Product.id % 11 == 0)
               .values(available=Product.available + 25, price_cents=Product.price_cents + 101))
    db.commit()
    sandbox.fault("createFeedDocument", fail_next=2)
    sandbox.fault("getFeed", fail_next=3, status=503)
    sandbox.fault("createFeed", fail_next=1)
    sandbox.fault("getFeedDocument", throttle=True)
    # Throttling past the client's retries is normal operation: the job ends calmly and comes back later.
    assert _run_job_in_process(redis_url, seller.account_id) == "amazon_busy"
    assert "Amazon is busy, retrying at" in (last_run(db, seller.account_id).error or "")
    sandbox.fault("getFeedDocument", throttle=False)
    sandbox.revoke(seller.seller_id)
    sandbox.expire_access_tokens()
    run_sync(redis_url, seller.account_id, "cron")
    db.expire_all()
    connection = db.exec(select(Connection).where(Connection.account_id == seller.account_id)).one()
    assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION
    assert last_run(db, seller.account_id).status == RunStatus.STOPPED

    # 3. The merchant re-authorizes; the next runs catch up with everything.
    sandbox.restore(seller.seller_id)
    connect(db, seller.account_id, sandbox.grant(seller.seller_id))
    final = sync_until_idle(db, redis_url, seller.account_id)

    assert final.status == RunStatus.DONE
    assert_converged(db, sandbox, seller, rules)
    assert_no_feed_submitted_twice(db, sandbox, seller.account_id)


def _run_job_in_process(redis_url: str, account_id: int) -> str:
    """Run one sync job in this process; return its result (an error propagates, as a worker records it)."""
    from jobs.sync import sync_account

    return sync_account(account_id, "cron")


def test_a_restarted_redis_loses_nothing(db: Session, seller: Seller, sandbox: Any, redis_url: str,
                                         redis_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fifth of the catalog going to 0 is what the blast-radius guard holds for approval (test_guard.py);
    # this test is about Redis losing its state, so the guard lets the run through.
    monkeypatch.setenv("GUARD_ZERO_SHARE", "1")
    add_products(db, seller.account_id, 500)
    run_sync(redis_url, seller.account_id)
    db.execute(update(Product).where(Product.id % 5 == 0).values(available=0))
    db.commit()

    redis_server.restart()  # locks, rate buckets, cached tokens and queues are gone; the database is not
    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE
    assert run.changed_count == 100
    assert_converged(db, sandbox, seller, Rules())
    assert_no_feed_submitted_twice(db, sandbox, seller.account_id)


def test_a_normal_run_never_provokes_a_throttle(db: Session, seller: Seller, sandbox: Any, redis_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_FEED_MAX_MESSAGES", "100")  # 20 feeds: well past createFeed's burst of 5
    add_products(db, seller.account_id, 2_000)

    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE and run.batches_total == 20
    stats = sandbox.stats()
    assert stats["calls"].get("createFeed", 0) == 20
    assert sum(stats["throttled"].values()) == 0, stats["throttled"]


def test_two_jobs_for_one_account_never_run_at_once(db: Session, seller: Seller, sandbox: Any,
                                                    redis_url: str) -> None:
    add_products(db, seller.account_id, 50)
    redis = Redis.from_url(redis_url)
    redis.set(f"sync:lock:{seller.account_id}", "another-worker", ex=30)

    enqueue_sync(seller.account_id, "cron", connection=redis)
    run_worker_burst(redis)

    assert db.exec(select(func.count()).select_from(SyncRun)).one() == 0
    assert sandbox.stats()["calls"].get("createFeed", 0) == 0
