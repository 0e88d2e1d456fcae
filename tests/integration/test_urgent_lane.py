"""Issue 11 §1: stock-outs go to Amazon at once with patchListingsItem, while feeds wait at Amazon.

Real parts: the catalog API through the Flask test client, the sandbox over loopback HTTP (its feed
processing paused, so only the urgent lane can reach it), Redis, SQLite, RQ jobs worked in-process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue, SimpleWorker
from sqlmodel import Session, col, select

from jobs.queue import URGENT_QUEUE
from tests.fixtures.queues import run_urgent_burst
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from wizard.catalog import api_tokens
from wizard.models.guard import RunHold, UrgentUpdate
from wizard.models.sync import ListingState

CATALOG = 20


@pytest.fixture
def synced(db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, app: Flask) -> Seller:
    """Twenty products at 10 on Amazon, accepted; the lane on in the web app; feeds stuck at Amazon."""
    add_products(db, seller.account_id, CATALOG, available=lambda i: 10, price_cents=lambda i: 2000)
    run_sync(redis_url, seller.account_id)
    app.config["URGENT_LANE"] = True
    sandbox.processing(paused=True)
    return seller


def upsert(client: FlaskClient, db: Session, seller: Seller, merchant, stock: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    _, token = api_tokens.create_token(db, account_id=seller.account_id, name="Platform",
                                       user_id=merchant.user("admin").id)
    body = {"products": [{"sku": sku, "available": n} for sku, n in stock.items()]}
    response = client.post("/api/v1/products", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def work_urgent(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        run_urgent_burst(redis)
    finally:
        redis.close()


def quantity(sandbox: SandboxControl, seller: Seller, sku: str) -> int | None:
    return sandbox.listings(seller.seller_id)[sku]["quantity"]


def test_a_stock_out_and_a_steep_drop_reach_amazon_at_once_and_the_next_feed_does_not_resend_them(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant, signed_in_as) -> None:  # type: ignore[no-untyped-def]
    upsert(client, db, synced, merchant, {"SKU-0000000": 0, "SKU-0000001": 3, "SKU-0000002": 8})

    work_urgent(redis_url)

    assert quantity(sandbox, synced, "SKU-0000000") == 0
    assert quantity(sandbox, synced, "SKU-0000001") == 3  # 10 → 3: down 70% and 7 units
    assert quantity(sandbox, synced, "SKU-0000002") == 10  # 10 → 8 is not urgent: the feed sends it
    sent = [row for row in sandbox.listing_submissions() if row[2] == ""]
    assert sorted((row[1], row[3]) for row in sent) == [("SKU-0000000", "ACCEPTED"),
                                                        ("SKU-0000001", "ACCEPTED")]
    db.expire_all()
    updates = list(db.exec(select(UrgentUpdate).where(UrgentUpdate.account_id == synced.account_id)))
    assert sorted((u.sku, u.quantity, u.status) for u in updates) == [
        ("SKU-0000000", 0, "ACCEPTED"), ("SKU-0000001", 3, "ACCEPTED")]
    rows = db.exec(select(ListingState).where(ListingState.account_id == synced.account_id))
    state = {s.sku: s for s in rows}
    assert state["SKU-0000000"].accepted_quantity == 0 and state["SKU-0000001"].accepted_quantity == 3

    signed_in_as("staff")
    assert "urgent updates: 2 in the last hour, median time to Amazon" in client.get("/sync/").get_data(
        as_text=True)

    # The next feed carries only what the lane did not send.
    sandbox.processing(paused=False)
    run_sync(redis_url, synced.account_id)
    run = last_run(db, synced.account_id)
    assert run.status == "done" and run.changed_count == 1
    assert [row[3] for row in sandbox.audit()[-1:]] == ["SKU-0000002"]
    assert quantity(sandbox, synced, "SKU-0000002") == 8


def test_the_lane_skips_a_sku_whose_feed_is_in_flight_so_the_newest_decision_goes_in_order(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant, app: Flask) -> None:  # type: ignore[no-untyped-def]
    app.config["URGENT_LANE"] = False
    upsert(client, db, synced, merchant, {"SKU-0000003": 7})
    run_sync(redis_url, synced.account_id)  # the feed with 7 waits at Amazon (processing paused)
    app.config["URGENT_LANE"] = True
    upsert(client, db, synced, merchant, {"SKU-0000003": 0})

    work_urgent(redis_url)

    assert [row for row in sandbox.listing_submissions() if row[2] == ""] == []
    sandbox.processing(paused=False)
    run_sync(redis_url, synced.account_id)  # the 7 lands, then the next run sends the newer 0
    run_sync(redis_url, synced.account_id)
    assert quantity(sandbox, synced, "SKU-0000003") == 0


def test_beyond_the_per_minute_bound_the_rest_go_into_an_immediate_feed(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("URGENT_MAX_PER_MINUTE", "2")
    upsert(client, db, synced, merchant, {f"SKU-{n:07d}": 0 for n in range(3)})
    Redis.from_url(redis_url).delete("rq:queue:sync")  # the delayed "sync soon" is not what we look at

    work_urgent(redis_url)

    assert len([row for row in sandbox.listing_submissions() if row[2] == ""]) == 2
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 1  # the third goes in a feed now
    sandbox.processing(paused=False)
    run_sync(redis_url, synced.account_id, "change")
    assert [quantity(sandbox, synced, f"SKU-{n:07d}") for n in range(3)] == [0, 0, 0]


def test_more_stock_outs_than_the_guard_share_stop_the_lane_and_join_the_paused_run(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant) -> None:  # type: ignore[no-untyped-def]
    upsert(client, db, synced, merchant, {f"SKU-{n:07d}": 0 for n in range(5)})  # 25% of 20 in stock

    work_urgent(redis_url)

    assert [row for row in sandbox.listing_submissions() if row[2] == ""] == []
    sandbox.processing(paused=False)
    run_sync(redis_url, synced.account_id, "change")
    db.expire_all()
    [hold] = db.exec(select(RunHold).where(RunHold.account_id == synced.account_id)).all()
    assert hold.decision is None and hold.zero_count == 5
    assert [quantity(sandbox, synced, f"SKU-{n:07d}") for n in range(5)] == [10] * 5


def test_a_read_that_finds_amazon_selling_a_product_we_zeroed_sends_the_zero_through_the_lane(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rq import Queue, SimpleWorker

    from jobs.queue import RECONCILE_QUEUE, enqueue_reconcile, enqueue_sync
    from tests.fixtures.reconcile import work_until_idle

    monkeypatch.setenv("URGENT_LANE", "1")
    redis_url = reconcile_env["REDIS_URL"]
    sandbox.seed_listings(seller.seller_id, [{"sku": f"SKU-{n:07d}", "quantity": 1, "price": "20.00"}
                                             for n in range(10)])
    # Ten listings, so one stock-out stays under the guard's share (20% of the listings in stock).
    add_products(db, seller.account_id, 10, available=lambda i: 0 if i == 0 else 10,
                 price_cents=lambda i: 2000)
    redis = Redis.from_url(redis_url)
    enqueue_sync(seller.account_id, "manual", connection=redis)
    work_until_idle(redis_url)  # the first full read, then the first sync
    assert quantity(sandbox, seller, "SKU-0000000") == 0
    Queue("urgent", connection=redis).empty()

    sandbox.external_edit(seller.seller_id, "SKU-0000000", quantity=30)  # someone in Seller Central
    enqueue_reconcile(seller.account_id, "incremental", connection=redis)
    SimpleWorker([Queue(RECONCILE_QUEUE, connection=redis)], connection=redis).work(burst=True)
    work_urgent(redis_url)

    assert quantity(sandbox, seller, "SKU-0000000") == 0
    db.expire_all()
    lane = db.exec(select(UrgentUpdate).where(UrgentUpdate.account_id == seller.account_id)).all()
    assert [(u.sku, u.quantity, u.status) for u in lane] == [("SKU-0000000", 0, "ACCEPTED")]


def test_a_feed_planned_before_the_lane_runs_leaves_the_stock_out_to_the_lane(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("URGENT_LANE", "1")  # the worker's configuration too
    upsert(client, db, synced, merchant, {"SKU-0000004": 0, "SKU-0000005": 8})

    run_sync(redis_url, synced.account_id)  # the feed run comes first; Amazon takes hours over its feed
    db.expire_all()
    state = {s.sku: s for s in db.exec(select(ListingState).where(
        ListingState.account_id == synced.account_id))}
    assert state["SKU-0000005"].inflight_batch_id is not None  # not urgent: the feed carries it
    assert state["SKU-0000004"].inflight_batch_id is None  # the stock-out is left to the lane
    work_urgent(redis_url)

    assert quantity(sandbox, synced, "SKU-0000004") == 0


def test_a_feed_asks_for_a_lane_pass_only_for_the_stock_outs_it_left_to_the_lane(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rq import Queue
    from sqlalchemy import update

    from jobs.queue import URGENT_QUEUE
    from wizard.models.base import utcnow
    from wizard.models.catalog import Product
    from wizard.sync.urgent import LANE_GRACE

    monkeypatch.setenv("URGENT_LANE", "1")  # the worker's configuration
    sandbox.processing(paused=False)  # each run's feed is processed, so the next run plans anew
    urgent = Queue(URGENT_QUEUE, connection=Redis.from_url(redis_url))
    urgent.empty()

    def stock_out(sku: str, changed_at: datetime) -> None:
        db.execute(update(Product)
                   .where(col(Product.account_id) == synced.account_id, col(Product.sku) == sku)
                   .values(available=0, updated_at=changed_at))
        db.commit()

    def state(sku: str) -> ListingState:
        db.expire_all()
        return db.exec(select(ListingState).where(ListingState.account_id == synced.account_id,
                                                  ListingState.sku == sku)).one()

    # Older than the lane's grace: the feed carries it itself, so no lane pass is asked for.
    stock_out("SKU-0000006", utcnow() - LANE_GRACE - timedelta(minutes=1))
    run_sync(redis_url, synced.account_id)
    assert (state("SKU-0000006").accepted_quantity, urgent.count) == (0, 0)

    # Just now: the feed leaves it to the lane and asks for a pass.
    stock_out("SKU-0000007", utcnow())
    run_sync(redis_url, synced.account_id)
    left = state("SKU-0000007")
    assert (left.accepted_quantity, left.inflight_batch_id, urgent.count) == (10, None, 1)


def test_asking_whether_stock_outs_wait_for_the_lane_reads_only_the_products_changed_lately(
        db: Session, merchant, database_kind: str) -> None:  # type: ignore[no-untyped-def]
    """The question reads a range of ``ix_product_account_updated``, not every product of the account.

    Issue 12 §3: without that index SQLite read the whole catalog to answer (2.45 s of a 1% plan of a
    million products); the plan is what a test can check without a timing.
    """
    from wizard.config import from_environment
    from wizard.models.base import utcnow
    from wizard.rules import Rules
    from wizard.sync.plan import driver_statement
    from wizard.sync.urgent import LANE_GRACE, Limits, candidates_query

    account_id = merchant.account.id
    add_products(db, account_id, 200, available=lambda i: 0)
    query = candidates_query(account_id, Rules(), Limits.from_config(from_environment()), limit=1,
                             changed_since=utcnow() - LANE_GRACE)
    connection = db.connection()
    if database_kind == "postgresql":
        # A table of 200 rows is cheapest to scan whatever its indexes: say what a million rows would.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    statement, params = driver_statement(connection, query)
    explain = "EXPLAIN QUERY PLAN " if database_kind == "sqlite" else "EXPLAIN "
    rows = connection.exec_driver_sql(explain + statement, params)
    plan = "\n".join(" ".join(map(str, row)) for row in rows)
    assert "ix_product_account_updated" in plan, plan


def test_a_stock_out_whose_answer_was_lost_is_sent_again_when_the_stock_returns(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant) -> None:  # type: ignore[no-untyped-def]
    """Amazon applied the lane's 0 but no answer arrived (every retry's was lost, or the worker died).

    What Amazon holds is then unknown to us. When the stock comes back to what Amazon last accepted from us
    before the lane's next pass, the feed must still send it, or Amazon would show 0 for a product in stock
    until a read-back noticed.
    """
    sandbox.fault("patchListingsItem", fail_next=50, status=503, after=True)
    upsert(client, db, synced, merchant, {"SKU-0000004": 0})
    redis = Redis.from_url(redis_url)
    try:
        worker = SimpleWorker([Queue(URGENT_QUEUE, connection=redis)], connection=redis)
        worker.work(burst=True, max_jobs=1)  # one pass: its retries spent, it asks for another
    finally:
        redis.close()
    assert quantity(sandbox, synced, "SKU-0000004") == 0  # applied on Amazon, every answer lost

    sandbox.fault("patchListingsItem", fail_next=0)
    upsert(client, db, synced, merchant, {"SKU-0000004": 10})  # back to what Amazon last accepted from us
    sandbox.processing(paused=False)
    run_sync(redis_url, synced.account_id)
    assert quantity(sandbox, synced, "SKU-0000004") == 10


def test_a_stock_out_amazon_refuses_leaves_the_quantity_it_accepted_before(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        merchant) -> None:  # type: ignore[no-untyped-def]
    """A refused patch changed nothing on Amazon: the 10 it accepted before is still what it shows."""
    sandbox.refuse(synced.seller_id, "SKU-0000005", code="8541", message="Listing restricted.", times=1)
    upsert(client, db, synced, merchant, {"SKU-0000005": 0})

    work_urgent(redis_url)

    assert quantity(sandbox, synced, "SKU-0000005") == 10
    db.expire_all()
    state = db.exec(select(ListingState).where(ListingState.account_id == synced.account_id,
                                               ListingState.sku == "SKU-0000005")).one()
    assert (state.status, state.accepted_quantity) == ("rejected", 10)
