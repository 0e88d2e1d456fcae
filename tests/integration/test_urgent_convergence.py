"""Issue 11 "done when": the urgent lane and feeds together converge under faults and a SIGKILLed worker.

For two minutes a stock change arrives through the catalog API every second (stock-outs, steep drops and
restocks); the sandbox serves 500s to patchListingsItem and createFeed and throttles getFeed for a while; a
real ``rq worker`` (urgent and sync queues) is SIGKILLed halfway and replaced. At the end Amazon's quantity
equals the rules engine's decision for every SKU, no stale value overwrote a newer one on the way (checked per
SKU against the order of the decisions), and the Listings budget was never exceeded (no 429 for any Listings
operation).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.fixtures.services import wait_until
from tests.fixtures.worker import REPO_ROOT, Seller, add_products, kill_worker, run_sync
from wizard.catalog import api_tokens
from wizard.models import Product
from wizard.models.guard import UrgentUpdate
from wizard.rules import Rules, decide

CATALOG = 60
SECONDS = 120
LISTINGS_OPERATIONS = ("patchListingsItem", "getListingsItem", "searchListingsItems")


def start_lane_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a real ``rq worker`` on the urgent and sync queues, as the Procfile does."""
    from jobs.queue import WORKER_CLASS

    rq = str(Path(sys.executable).with_name("rq"))
    with log.open("ab") as handle:
        return subprocess.Popen([rq, "worker", "--worker-class", WORKER_CLASS, "--with-scheduler", "--url",
                                 env["REDIS_URL"], "urgent", "sync"],
                                cwd=REPO_ROOT, env={**os.environ, **env}, stdout=handle,
                                stderr=subprocess.STDOUT)


def assert_no_stale_value_overwrote_a_newer_one(decisions: dict[str, list[tuple[float, int]]],
                                                changes: list[tuple[str, int | None, float, str]],
                                                since: float) -> None:
    """Check that each SKU's quantity changes on Amazon follow the order in which they were decided.

    ``decisions`` holds, per SKU, ``(time, quantity)`` in the order the rules engine decided them (the time is
    taken before the change was even sent to Ecommerce, so it is never later than the decision). Each change
    Amazon made must carry a value decided before it, and never one older than the previous change's.
    """
    latest: dict[str, int] = {}
    for sku, quantity, at, source in changes:
        if at < since:
            continue
        decided = [i for i, (when, value) in enumerate(decisions[sku]) if when <= at and value == quantity]
        assert decided, f"{sku}: Amazon got {quantity} ({source}) at {at:.3f}, a value not decided by then"
        newest = max(decided)
        assert newest >= latest.get(sku, 0), (
            f"{sku}: a stale {quantity} ({source}, decision #{newest}) overwrote decision #{latest[sku]}")
        latest[sku] = newest


@pytest.mark.slow
def test_urgent_lane_and_feeds_converge_under_faults_and_a_killed_worker(
        db: Session, seller: Seller, sandbox: Any, redis_url: str, sync_env: dict[str, str], app: Flask,
        client: FlaskClient, merchant: Any, worker_processes: list[Any], tmp_path: Path) -> None:
    add_products(db, seller.account_id, CATALOG, available=lambda i: 20, price_cents=lambda i: 1500)
    run_sync(redis_url, seller.account_id)
    env = {**sync_env, "URGENT_LANE": "1", "GUARD_ZERO_SHARE": "0.9", "SYNC_SOON_DELAY": "2"}
    app.config.update(URGENT_LANE=True, SYNC_SOON_DELAY=2)
    sandbox.processing(delay=3.0)
    worker_processes.append(start_lane_worker(env, tmp_path / "worker-1.log"))
    _, token = api_tokens.create_token(db, account_id=seller.account_id, name="Platform",
                                       user_id=merchant.user("admin").id)
    chooser = random.Random(11)
    rules = Rules()
    decisions = {f"SKU-{i:07d}": [(0.0, 20)] for i in range(CATALOG)}
    since = time.time()
    began = time.monotonic()
    for second in range(SECONDS):
        sku = f"SKU-{chooser.randrange(CATALOG):07d}"
        stock = chooser.choice([0, 0, 1, 3, 8, 20, 40])
        decisions[sku].append((time.time(), decide(stock, 1500, rules).quantity))
        response = client.post("/api/v1/products", json={"products": [{"sku": sku, "available": stock}]},
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        if second == 20:
            sandbox.fault("patchListingsItem", fail_next=3)
            sandbox.fault("createFeed", fail_next=1)
        if second == 40:
            sandbox.fault("getFeed", throttle=True)
        if second == 50:
            sandbox.fault("getFeed", throttle=False)
        if second == SECONDS // 2:
            kill_worker(worker_processes[-1])
            worker_processes.append(start_lane_worker(env, tmp_path / "worker-2.log"))
        # One change a second: the load generator's pace, not a wait for a result.
        time.sleep(max(0.0, began + second + 1 - time.monotonic()))

    def converged() -> bool:
        db.expire_all()
        want = {p.sku: decide(p.available, p.price_cents, rules).quantity
                for p in db.exec(select(Product).where(Product.account_id == seller.account_id))}
        listings = sandbox.listings(seller.seller_id)
        return all(listings[sku]["quantity"] == quantity for sku, quantity in want.items())

    wait_until(converged, timeout=240, message="Amazon to show the rules engine's quantity for every SKU")
    assert_no_stale_value_overwrote_a_newer_one(decisions, sandbox.quantity_changes(seller.seller_id), since)
    throttled = sandbox.stats()["throttled"]
    assert {op: throttled.get(op, 0) for op in LISTINGS_OPERATIONS} == dict.fromkeys(LISTINGS_OPERATIONS, 0)
    db.expire_all()
    sent = db.exec(select(UrgentUpdate).where(UrgentUpdate.account_id == seller.account_id)).first()
    assert sent is not None  # the lane did carry stock-outs
