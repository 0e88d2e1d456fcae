"""The reconcile's reads of Amazon against the sandbox over HTTP: full report, incremental search, look-ups.

Real parts: the sandbox over loopback HTTP, Redis (the client's rate buckets and token cache), SQLite.
"""

from __future__ import annotations

import json

from redis import Redis
from sqlmodel import Session, select

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products
from wizard.config import from_environment
from wizard.models.reconcile import AmazonListing, ReconcileSweep
from wizard.reconcile.runner import run_sweep
from wizard.reconcile.sweeps import SweepOutcome


def sweep(kind: str, account_id: int, skus: list[str] | None = None) -> SweepOutcome:
    """Run a sweep step by step until it is finished (what the re-enqueued jobs do), in this process."""
    config = from_environment()
    redis = Redis.from_url(config["REDIS_URL"])
    try:
        for _ in range(500):
            outcome = run_sweep(config, redis, account_id, kind, skus)
            if outcome.follow_up_in is None:
                return outcome
        raise AssertionError(f"the {kind} sweep did not finish")
    finally:
        redis.close()


def listings(db: Session, account_id: int) -> dict[str, AmazonListing]:
    db.expire_all()
    query = select(AmazonListing).where(AmazonListing.account_id == account_id)
    return {row.sku: row for row in db.exec(query)}


def sweeps(db: Session, account_id: int) -> list[ReconcileSweep]:
    db.expire_all()
    return list(db.exec(select(ReconcileSweep).where(ReconcileSweep.account_id == account_id)
                        .order_by(ReconcileSweep.id)))  # type: ignore[arg-type]


def test_full_sweep_stores_every_listing_and_marks_catalog_skus_amazon_does_not_have(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    add_products(db, seller.account_id, 3, prefix="SKU-")  # SKU-0000000 .. SKU-0000002
    sandbox.seed_listings(seller.seller_id, [
        {"sku": "SKU-0000000", "quantity": 4, "price": "12.50"},
        {"sku": "SKU-0000001", "quantity": 0, "price": "8.00"},
        {"sku": "AMAZON-ONLY-1", "quantity": 6, "price": "30.00"},
    ])
    outcome = sweep("full", seller.account_id)
    assert outcome.status == "done"
    rows = listings(db, seller.account_id)
    assert (rows["SKU-0000000"].on_amazon, rows["SKU-0000000"].quantity, rows["SKU-0000000"].price_cents) == \
        (True, 4, 1250)
    assert rows["SKU-0000001"].on_amazon and rows["SKU-0000001"].quantity == 0
    assert rows["AMAZON-ONLY-1"].on_amazon and rows["AMAZON-ONLY-1"].quantity == 6
    assert not rows["SKU-0000002"].on_amazon, "a catalog SKU missing from the report is not on Amazon"
    [full] = sweeps(db, seller.account_id)
    assert (full.kind, full.status, full.items_read, full.not_on_amazon) == ("full", "done", 3, 1)
    assert full.report_id and full.report_document_id


def test_a_restarted_full_sweep_polls_the_report_it_already_asked_for(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    sandbox.generate_listings(seller.seller_id, 50, prefix="GEN-")
    sandbox.processing(paused=True)
    config = from_environment()
    redis = Redis.from_url(config["REDIS_URL"])
    try:
        first = run_sweep(config, redis, seller.account_id, "full")
        assert first.status == "waiting" and first.follow_up_in is not None
        report_id = sweeps(db, seller.account_id)[0].report_id
        # The job "crashes" here; the next one must not ask Amazon for another report.
        sandbox.processing(paused=False)
    finally:
        redis.close()
    creates_before = _calls(sandbox, "createReport")
    assert sweep("full", seller.account_id).status == "done"
    assert _calls(sandbox, "createReport") == creates_before
    [full] = sweeps(db, seller.account_id)
    assert full.report_id == report_id and full.items_read == 50


def test_incremental_sweep_splits_a_window_over_1000_items_and_reads_each_change_once(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    sandbox.generate_listings(seller.seller_id, 10, prefix="GEN-")
    assert sweep("full", seller.account_id).status == "done"
    sandbox.generate_listings(seller.seller_id, 1_500, prefix="NEW-", quantity=3)
    for n in range(0, 1_500, 2):
        sandbox.external_edit(seller.seller_id, f"NEW-{n:08d}", quantity=9)
    outcome = sweep("incremental", seller.account_id)
    assert outcome.status == "done"
    rows = listings(db, seller.account_id)
    assert sum(1 for sku in rows if sku.startswith("NEW-")) == 1_500
    assert rows["NEW-00000000"].quantity == 9 and rows["NEW-00000001"].quantity == 3
    incremental = sweeps(db, seller.account_id)[-1]
    assert incremental.kind == "incremental" and incremental.splits >= 1
    assert json.loads(incremental.windows_json) == [] and incremental.page_token is None


def test_look_up_finds_listings_20_at_a_time_and_records_the_missing_ones(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    sandbox.generate_listings(seller.seller_id, 30, prefix="SKU-")
    wanted = [f"SKU-{n:08d}" for n in range(30)] + ["UNKNOWN-1", "UNKNOWN-2"]
    calls = _calls(sandbox, "searchListingsItems")
    assert sweep("targeted", seller.account_id, wanted).status == "done"
    assert _calls(sandbox, "searchListingsItems") - calls == 2
    rows = listings(db, seller.account_id)
    assert all(rows[f"SKU-{n:08d}"].on_amazon for n in range(30))
    assert not rows["UNKNOWN-1"].on_amazon and not rows["UNKNOWN-2"].on_amazon


def test_search_stores_asynchronous_issues_with_the_sku(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    sandbox.seed_listings(seller.seller_id, [{"sku": "LAMP-1", "quantity": 2, "price": "10.00"}])
    sandbox.async_issue(seller.seller_id, "LAMP-1", on_next_write=False)
    assert sweep("targeted", seller.account_id, ["LAMP-1"]).status == "done"
    row = listings(db, seller.account_id)["LAMP-1"]
    assert row.error_count == 1
    assert json.loads(row.issues_json) == [{"code": "90000900", "severity": "ERROR",
                                            "message": "The value of the price is invalid.",
                                            "attribute": "purchasable_offer"}]


def _calls(sandbox: SandboxControl, operation: str) -> int:
    return int(sandbox.stats()["calls"].get(operation, 0))
