"""A change that arrives while the account's sync is busy is never lost (issue 11: the convergence defect).

The change's own run finds the lock held by another job and ends "busy"; before this was fixed nothing asked
for a run again, so the change reached Amazon only with the next scheduled run (15 minutes), or never in the
test of issue 11. Now a "changes pending" mark, cleared only when a run starts planning, makes a sync job that
ends busy, or that finishes a run, ask for another run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from sqlmodel import Session, select

from jobs.queue import URGENT_QUEUE, enqueue_sync, enqueue_urgent, sync_queue
from tests.fixtures.queues import release_scheduled_jobs, run_worker_burst, scheduled_job_count
from tests.fixtures.worker import Seller, add_products, run_sync
from wizard.catalog import api_tokens
from wizard.models.sync import SyncRun
from wizard.sync.lock import AccountLock
from wizard.sync.runner import FOLLOW
from wizard.tasks import changes_pending


def post_stock(client: FlaskClient, token: str, sku: str, available: int) -> None:
    response = client.post("/api/v1/products", json={"products": [{"sku": sku, "available": available}]},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)


def work_until_idle(redis: Redis) -> None:
    """Work the sync queue, releasing delayed jobs at once, until nothing is queued or scheduled."""
    for _ in range(20):
        run_worker_burst(redis)
        if not release_scheduled_jobs(redis):
            return
    raise AssertionError("the sync queue never went idle")


@pytest.fixture
def synced(db: Session, seller: Seller, sandbox: Any, redis_url: str, app: Flask,
           merchant: Any) -> Iterator[tuple[Redis, str]]:
    """Three products at 20, synced to the sandbox; yield Redis and a catalog API token."""
    add_products(db, seller.account_id, 3, available=lambda i: 20, price_cents=lambda i: 1500)
    run_sync(redis_url, seller.account_id)
    _, token = api_tokens.create_token(db, account_id=seller.account_id, name="Platform",
                                       user_id=merchant.user("admin").id)
    redis = Redis.from_url(redis_url)
    yield redis, token
    redis.close()


def test_a_change_whose_run_finds_the_sync_busy_reaches_amazon_once_the_lock_is_free(
        seller: Seller, sandbox: Any, client: FlaskClient, synced: tuple[Redis, str]) -> None:
    redis, token = synced
    assert sandbox.listings(seller.seller_id)["SKU-0000001"]["quantity"] == 20
    holder = AccountLock(redis, seller.account_id, ttl=60)
    assert holder.acquire()  # another worker's job is running this account's sync

    post_stock(client, token, "SKU-0000001", 7)
    assert changes_pending(seller.account_id, redis)
    release_scheduled_jobs(redis)
    run_worker_burst(redis)  # the change's run: busy

    assert sandbox.listings(seller.seller_id)["SKU-0000001"]["quantity"] == 20
    assert scheduled_job_count(redis) == 1, "the busy run must ask for another run"
    holder.release()
    work_until_idle(redis)

    assert sandbox.listings(seller.seller_id)["SKU-0000001"]["quantity"] == 7
    assert not changes_pending(seller.account_id, redis)


def drop_sync_jobs(redis: Redis) -> None:
    """Forget every queued and scheduled sync job (a job that found the lock held and ended)."""
    queue = sync_queue(redis)
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id)


def test_a_change_during_a_run_gets_a_run_of_its_own_when_that_run_ends(
        seller: Seller, sandbox: Any, redis_url: str, client: FlaskClient, synced: tuple[Redis, str]) -> None:
    redis, token = synced
    # A change arrives after the running run planned; its own job found the lock held and ended.
    post_stock(client, token, "SKU-0000002", 4)
    drop_sync_jobs(redis)

    run_sync(redis_url, seller.account_id, trigger=FOLLOW)  # the running run's last follow-up: it ends
    work_until_idle(redis)

    assert sandbox.listings(seller.seller_id)["SKU-0000002"]["quantity"] == 4


def test_a_change_job_whose_change_a_later_run_already_planned_records_no_run(
        db: Session, seller: Seller, sandbox: Any, client: FlaskClient, synced: tuple[Redis, str]) -> None:
    redis, token = synced
    post_stock(client, token, "SKU-0000001", 9)
    post_stock(client, token, "SKU-0000002", 8)
    release_scheduled_jobs(redis)
    # A burst queued two change jobs (as when the soon guard lapses mid-burst): one run is enough.
    enqueue_sync(seller.account_id, "change", connection=redis)
    before = len(db.exec(select(SyncRun).where(SyncRun.account_id == seller.account_id)).all())
    work_until_idle(redis)

    db.expire_all()
    assert len(db.exec(select(SyncRun).where(SyncRun.account_id == seller.account_id)).all()) == before + 1
    assert sandbox.listings(seller.seller_id)["SKU-0000002"]["quantity"] == 8


def test_an_urgent_pass_lost_with_a_killed_worker_does_not_silence_the_lane(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    assert enqueue_urgent(7, connection=redis)
    assert not enqueue_urgent(7, connection=redis)  # one pass waits: it will read the newest state
    # A worker takes the pass from the queue and is killed before the pass starts reading.
    queue = Queue(URGENT_QUEUE, connection=redis)
    job = queue.dequeue_any([queue], None, connection=redis)[0]
    job.set_status(JobStatus.STARTED)

    assert enqueue_urgent(7, connection=redis)
    assert queue.count == 1
