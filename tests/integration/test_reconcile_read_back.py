"""Issue 10 §2-§3: a processed feed is read back, a run's end asks for one incremental read, and the home
page's figures are the stored ones, recomputed after every kind of change.

Real parts: the sandbox over loopback HTTP (its record of every ``searchListingsItems`` call by identifiers),
Redis, SQLite or PostgreSQL, RQ jobs worked in-process from the sync, reconcile and imports queues.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import update
from sqlmodel import Session, col, select

from jobs.queue import RECONCILE_QUEUE, enqueue_reconcile, enqueue_sync, sync_queue
from tests.fixtures.reconcile import work_until_idle
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import wait_until
from tests.fixtures.worker import Seller, add_products
from tests.helpers import csrf_token
from wizard.models import CatalogImport, Product
from wizard.models.reconcile import AmazonListing, ReconcileSweep

#: Small bounds so a feed of 45 SKUs shows them: 30 SKUs looked up, 20 a job, the second job 5 s later.
LOOKUP_ENV = {"RECONCILE_LOOKUP_MAX": "30", "RECONCILE_LOOKUP_CHUNK": "20", "RECONCILE_LOOKUP_SPACING": "5"}
FEED = 45


@pytest.fixture
def read_back_env(reconcile_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in LOOKUP_ENV.items():
        monkeypatch.setenv(key, value)
    return {**reconcile_env, **LOOKUP_ENV}


def _redis(env: dict[str, str]) -> Redis:
    return Redis.from_url(env["REDIS_URL"])


def _reconcile_jobs(redis: Redis) -> list[tuple[str, list[str] | None, float]]:
    """Return the reconcile jobs waiting (queued or scheduled) as ``(kind, skus, due)``, soonest first."""
    queue = Queue(RECONCILE_QUEUE, connection=redis)
    now = time.time()
    found = [(job.args[1], job.args[2], now) for job in queue.jobs]
    registry = queue.scheduled_job_registry
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=redis)
        found.append((job.args[1], job.args[2], registry.get_scheduled_time(job).timestamp()))
    return sorted(found, key=lambda entry: entry[2])


def _work_sync_queue_only(redis: Redis) -> None:
    SimpleWorker([sync_queue(redis)], connection=redis).work(burst=True)


def _only_lookups_due_now(redis: Redis) -> Queue:
    """Take the incremental read out of the reconcile queue and make the scheduled look-ups due now."""
    queue = Queue(RECONCILE_QUEUE, connection=redis)
    for job in queue.jobs:
        if job.args[1] == "incremental":
            queue.remove(job)
    registry = queue.scheduled_job_registry
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=redis)
        registry.remove(job)
        queue.enqueue_job(job)
    return queue


def _first_read_and_sync(env: dict[str, str], seller: Seller) -> None:
    """The account's first full read, the first sync it enqueues, and everything they enqueue."""
    redis = _redis(env)
    try:
        enqueue_reconcile(seller.account_id, "full", connection=redis)
    finally:
        redis.close()
    work_until_idle(env["REDIS_URL"])


def _bump_catalog(db: Session, account_id: int, by: int) -> None:
    db.execute(update(Product).where(col(Product.account_id) == account_id)
               .values(available=col(Product.available) + by))
    db.commit()


def _sweeps(db: Session, account_id: int, kind: str) -> int:
    db.expire_all()
    return len(db.exec(select(ReconcileSweep).where(ReconcileSweep.account_id == account_id,
                                                     ReconcileSweep.kind == kind)).all())


def test_a_processed_feeds_skus_are_looked_up_soon_and_an_async_issue_shows_without_a_full_sweep(
        db: Session, seller: Seller, sandbox: SandboxControl, read_back_env: dict[str, str]) -> None:
    skus = [f"SKU-{n:07d}" for n in range(FEED)]
    sandbox.seed_listings(seller.seller_id, [{"sku": sku, "quantity": 1, "price": "9.00"} for sku in skus])
    add_products(db, seller.account_id, FEED, available=lambda i: 10 + i % 7, price_cents=lambda i: 900)
    _first_read_and_sync(read_back_env, seller)
    assert _sweeps(db, seller.account_id, "full") == 1

    # Amazon's asynchronous validation gives SKU-0000003 an ERROR once the next feed's write is accepted;
    # the issue does not move lastUpdatedDate by itself.
    sandbox.async_issue(seller.seller_id, "SKU-0000003", on_next_write=True, touch=False)
    _bump_catalog(db, seller.account_id, 5)
    searches_before = len(sandbox.identifier_searches())
    redis = _redis(read_back_env)
    try:
        enqueue_sync(seller.account_id, "manual", connection=redis)
        _work_sync_queue_only(redis)
        waiting = _reconcile_jobs(redis)
    finally:
        redis.close()

    # Bounded and spread: the first 30 of the feed's 45 SKUs, 20 a job, the second job scheduled later;
    # the rest is left to the one incremental read the run's end asked for.
    lookups = [(job_skus, due) for kind, job_skus, due in waiting if kind == "targeted"]
    assert [job_skus for job_skus, _ in lookups] == [skus[:20], skus[20:30]]
    assert lookups[1][1] - lookups[0][1] >= 5 - 0.01
    assert [kind for kind, _, _ in waiting].count("incremental") == 1

    work_until_idle(read_back_env["REDIS_URL"])
    searches = sandbox.identifier_searches()[searches_before:]
    assert [(kind, ids) for _, kind, ids in searches] == [("SKU", skus[:20]), ("SKU", skus[20:30])]
    assert _sweeps(db, seller.account_id, "full") == 1  # no full read since the first one
    db.expire_all()
    row = db.exec(select(AmazonListing).where(AmazonListing.account_id == seller.account_id,
                                              AmazonListing.sku == "SKU-0000003")).one()
    assert row.error_count == 1 and "The value of the price is invalid." in row.issues_json
    assert row.quantity == 10 + 3 % 7 + 5  # Amazon's live value after the feed


def test_the_issue_of_a_looked_up_sku_shows_before_any_incremental_read(
        db: Session, seller: Seller, sandbox: SandboxControl, read_back_env: dict[str, str]) -> None:
    skus = [f"SKU-{n:07d}" for n in range(3)]
    sandbox.seed_listings(seller.seller_id, [{"sku": sku, "quantity": 1, "price": "9.00"} for sku in skus])
    add_products(db, seller.account_id, 3, available=lambda i: 10 + i, price_cents=lambda i: 900)
    _first_read_and_sync(read_back_env, seller)
    sandbox.async_issue(seller.seller_id, "SKU-0000001", on_next_write=True, touch=False)
    _bump_catalog(db, seller.account_id, 1)
    incremental_reads = _sweeps(db, seller.account_id, "incremental")
    redis = _redis(read_back_env)
    try:
        enqueue_sync(seller.account_id, "manual", connection=redis)
        _work_sync_queue_only(redis)
        # Work only the look-up: take the incremental read out, and the look-up's slot is now.
        queue = _only_lookups_due_now(redis)
        assert [job.args[1] for job in queue.jobs] == ["targeted"]
        SimpleWorker([queue], connection=redis).work(burst=True)
    finally:
        redis.close()
    assert _sweeps(db, seller.account_id, "incremental") == incremental_reads
    row = db.exec(select(AmazonListing).where(AmazonListing.account_id == seller.account_id,
                                              AmazonListing.sku == "SKU-0000001")).one()
    assert (row.source, row.error_count, row.quantity) == ("lookup", 1, 12)


def test_a_run_whose_feeds_were_processed_asks_for_one_incremental_read(
        db: Session, seller: Seller, sandbox: SandboxControl, read_back_env: dict[str, str]) -> None:
    sandbox.seed_listings(seller.seller_id, [{"sku": f"SKU-{n:07d}", "quantity": 1, "price": "9.00"}
                                             for n in range(4)])
    add_products(db, seller.account_id, 4, available=lambda i: 10 + i, price_cents=lambda i: 900)
    _first_read_and_sync(read_back_env, seller)
    redis = _redis(read_back_env)
    try:
        assert _reconcile_jobs(redis) == []
        # Two runs with feeds before any reconcile worker comes by: one incremental read on its way.
        for bump in (1, 2):
            _bump_catalog(db, seller.account_id, bump)
            enqueue_sync(seller.account_id, "manual", connection=redis)
            _work_sync_queue_only(redis)
        assert [kind for kind, _, _ in _reconcile_jobs(redis)].count("incremental") == 1
        # A run with nothing to send processes no feed and asks for nothing.
        work_until_idle(read_back_env["REDIS_URL"])
        enqueue_sync(seller.account_id, "manual", connection=redis)
        _work_sync_queue_only(redis)
        assert _reconcile_jobs(redis) == []
        # Once the incremental read has started, the next run's end asks for another.
        _bump_catalog(db, seller.account_id, 1)
        enqueue_sync(seller.account_id, "manual", connection=redis)
        _work_sync_queue_only(redis)
        assert [kind for kind, _, _ in _reconcile_jobs(redis)].count("incremental") == 1
    finally:
        redis.close()


# ---- the home page's figures: stored, recomputed after each kind of change --------------------------------

FIGURE = re.compile(r'<dt><a href="([^"]+)">[^<]+</a></dt><dd>([\d,]+)</dd>')
NAMES = {"/catalog/?outcome=amazon_in_stock": "in_stock", "/catalog/?outcome=drifted": "drifted",
         "/catalog/?outcome=rejected": "rejected", "/catalog/?outcome=not_on_amazon": "not_on_amazon",
         "/catalog/amazon-only/": "amazon_only", "/catalog/?outcome=issues": "issues"}


def _home(client: FlaskClient) -> dict[str, int]:
    html = client.get("/").get_data(as_text=True)
    return {NAMES[link]: int(value.replace(",", "")) for link, value in FIGURE.findall(html)}


def _figures(**values: int) -> dict[str, int]:
    return {"in_stock": 0, "drifted": 0, "rejected": 0, "not_on_amazon": 0, "amazon_only": 0, "issues": 0,
            **values}


def _change_behind_the_counts(db: Session, account_id: int, sku: str, **values: Any) -> None:
    """Change a row of what Amazon shows without any job: the stored figures must not move."""
    db.execute(update(AmazonListing).where(col(AmazonListing.account_id) == account_id,
                                           col(AmazonListing.sku) == sku).values(**values))
    db.commit()


def _work(env: dict[str, str], *names: str) -> None:
    """Work only ``names`` until idle, releasing their delayed jobs at once (as ``work_until_idle`` does)."""
    redis = _redis(env)
    try:
        queues = [Queue(name, connection=redis) for name in names]
        for _ in range(500):
            SimpleWorker(queues, connection=redis).work(burst=True)
            released = 0
            for queue in queues:
                registry = queue.scheduled_job_registry
                for job_id in registry.get_job_ids():
                    job = Job.fetch(job_id, connection=redis)
                    registry.remove(job)
                    queue.enqueue_job(job)
                    released += 1
            if not released and not any(queue.count for queue in queues):
                return
        raise AssertionError(f"{names} never became idle")
    finally:
        redis.close()


def test_home_page_figures_are_the_stored_ones_and_follow_every_kind_of_change(
        client: FlaskClient, signed_in_as: Callable[[str], Any], db: Session, seller: Seller,
        sandbox: SandboxControl, read_back_env: dict[str, str], work_imports: Callable[[], None]) -> None:
    sandbox.set_unknown_sku_mode(seller.seller_id, "reject")
    sandbox.seed_listings(seller.seller_id, [
        {"sku": "SKU-0000000", "quantity": 1, "price": "9.00"},
        {"sku": "SKU-0000001", "quantity": 1, "price": "9.00"},
        {"sku": "SKU-0000002", "quantity": 0, "price": "9.00"},
        {"sku": "AMZ-ONLY-1", "quantity": 5, "price": "20.00"},
    ])
    add_products(db, seller.account_id, 4, available=lambda i: 10 + i, price_cents=lambda i: 1000 + i)
    signed_in_as("manager")
    assert "The numbers appear here after the first read." in client.get("/").get_data(as_text=True)

    # A full read (the sync it enqueues waits).
    redis = _redis(read_back_env)
    try:
        enqueue_reconcile(seller.account_id, "full", connection=redis)
    finally:
        redis.close()
    _work(read_back_env, RECONCILE_QUEUE)
    assert _home(client) == _figures(in_stock=2, not_on_amazon=1, amazon_only=1)
    # The page reads the stored figures: a change no job made does not show ...
    _change_behind_the_counts(db, seller.account_id, "SKU-0000002", quantity=3)
    assert _home(client) == _figures(in_stock=2, not_on_amazon=1, amazon_only=1)

    # ... until a sync run recomputes them (its feed sends 10, 11, 12 to the three listings).
    _work(read_back_env, "sync")
    assert _home(client) == _figures(in_stock=3, not_on_amazon=1, amazon_only=1)

    # A look-up: Amazon's quantity of SKU-0000001 was changed to 0 in Seller Central.
    _work(read_back_env, RECONCILE_QUEUE)  # the feed's look-ups and incremental read
    sandbox.external_edit(seller.seller_id, "SKU-0000001", quantity=0)
    redis = _redis(read_back_env)
    try:
        enqueue_reconcile(seller.account_id, "targeted", connection=redis, skus=["SKU-0000001"])
    finally:
        redis.close()
    _work(read_back_env, RECONCILE_QUEUE)
    assert _home(client) == _figures(in_stock=2, drifted=1, not_on_amazon=1, amazon_only=1)

    # An incremental read: an asynchronous issue on SKU-0000002.
    sandbox.async_issue(seller.seller_id, "SKU-0000002", on_next_write=False)
    assert sandbox.listing(seller.seller_id, "SKU-0000002")["issues"]  # shown (and stamped) before the read
    redis = _redis(read_back_env)
    try:
        enqueue_reconcile(seller.account_id, "incremental", connection=redis)
    finally:
        redis.close()
    _work(read_back_env, RECONCILE_QUEUE)
    assert _home(client) == _figures(in_stock=2, drifted=1, not_on_amazon=1, amazon_only=1, issues=1)

    # An import brings the Amazon-only SKU into the catalog.
    token = csrf_token(client, "/catalog/")
    response = client.post("/catalog/import", content_type="multipart/form-data", data={
        "csrf_token": token,
        "file": (io.BytesIO(b"sku,title,available,price\nAMZ-ONLY-1,Was Amazon only,5,20.00\n"), "p.csv")})
    assert response.status_code == 302
    work_imports()

    def _imported() -> bool:
        db.expire_all()
        return all(job.status == "done" for job in db.exec(select(CatalogImport)).all())

    wait_until(_imported, timeout=20, message="the import to finish")
    assert _home(client) == _figures(in_stock=3, drifted=1, not_on_amazon=1, amazon_only=0, issues=1)


def test_a_feeds_look_ups_recompute_the_stored_counts_once_after_the_last_of_them(
        db: Session, seller: Seller, sandbox: SandboxControl, read_back_env: dict[str, str]) -> None:
    sandbox.seed_listings(seller.seller_id, [{"sku": f"SKU-{n:07d}", "quantity": 1, "price": "9.00"}
                                             for n in range(FEED)])
    add_products(db, seller.account_id, FEED, available=lambda i: 10 + i % 7, price_cents=lambda i: 900)
    _first_read_and_sync(read_back_env, seller)
    _bump_catalog(db, seller.account_id, 5)
    redis = _redis(read_back_env)
    try:
        enqueue_sync(seller.account_id, "manual", connection=redis)
        _work_sync_queue_only(redis)
        queue = _only_lookups_due_now(redis)
        assert [job.args[1] for job in queue.jobs] == ["targeted", "targeted"]
        refreshed = [_refreshed_at(db, seller.account_id)]
        for _ in range(2):
            SimpleWorker([queue], connection=redis).work(burst=True, max_jobs=1)
            refreshed.append(_refreshed_at(db, seller.account_id))
    finally:
        redis.close()
    assert refreshed[1] == refreshed[0] < refreshed[2]


def _refreshed_at(db: Session, account_id: int) -> Any:
    from wizard.models import AmazonListingCount

    db.expire_all()
    row = db.get(AmazonListingCount, account_id)
    assert row is not None
    return row.refreshed_at
