"""Issue 11 §3: Amazon's own dry run ("Check with Amazon") before the first live sync, and on demand.

Real parts: the sandbox over loopback HTTP (it records every VALIDATION_PREVIEW and changes nothing), Redis
(the rate buckets), SQLite, the sync job worked by an in-process RQ worker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from tests.helpers import csrf_token
from wizard.models.base import utcnow
from wizard.models.guard import AmazonCheck
from wizard.models.sync import FeedBatch

CATALOG = 40


def seed(sandbox: SandboxControl, seller: Seller) -> None:
    """Put the catalog's SKUs on Amazon with quantity 1 and $99.00, plus one SKU Amazon does not hold."""
    sandbox.seed_listings(seller.seller_id, [{"sku": f"SKU-{n:07d}", "quantity": 1, "price": "99.00"}
                                             for n in range(CATALOG)])


def checks(db: Session, account_id: int) -> list[AmazonCheck]:
    db.expire_all()
    return list(db.exec(select(AmazonCheck).where(AmazonCheck.account_id == account_id)))


def test_the_first_sync_waits_for_a_check_with_amazon_that_changes_nothing_then_starts_syncing(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        signed_in_as, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECK_BEFORE_FIRST_SYNC", "1")
    seed(sandbox, seller)
    add_products(db, seller.account_id, CATALOG, available=lambda i: 100 + i, price_cents=lambda i: 1000 + i)
    before = sandbox.listings(seller.seller_id)

    run_sync(redis_url, seller.account_id, "cron")

    [check] = checks(db, seller.account_id)
    results = json.loads(check.results_json)
    assert len(results) == 20 and check.valid_count == 20 and check.invalid_count == 0
    # The largest quantity changes come first: SKU-0000039 goes from 1 to 139.
    assert results[0]["sku"] == "SKU-0000039" and results[0]["quantity"] == 139
    previews = [row for row in sandbox.listing_submissions() if row[0] == seller.seller_id]
    assert len(previews) == 20 and {row[2] for row in previews} == {"VALIDATION_PREVIEW"}
    assert {row[3] for row in previews} == {"VALID"}
    # Nothing persisted on Amazon, and no feed went out.
    assert sandbox.listings(seller.seller_id) == before
    assert db.exec(select(FeedBatch).where(FeedBatch.account_id == seller.account_id)).first() is None
    assert sum(sandbox.stats()["throttled"].values()) == 0

    # Another scheduled run keeps waiting and does not check again.
    run_sync(redis_url, seller.account_id, "cron")
    assert len(checks(db, seller.account_id)) == 1
    assert sandbox.listings(seller.seller_id) == before

    signed_in_as("manager")
    page = client.get("/sync/check/").get_data(as_text=True)
    assert "20 valid" in page and "Start syncing" in page and "Fix first" in page
    client.post("/sync/check/start", data={"csrf_token": csrf_token(client, "/sync/check/")})
    from tests.fixtures.reconcile import work_until_idle

    work_until_idle(redis_url)
    assert last_run(db, seller.account_id).status == "done"
    after = sandbox.listings(seller.seller_id)
    assert all(after[f"SKU-{n:07d}"]["quantity"] == 100 + n for n in range(CATALOG))
    [check] = checks(db, seller.account_id)
    assert check.confirmed_at is not None and check.confirmed_by_user_id is not None


def test_check_with_amazon_shows_invalid_skus_with_amazons_issue_and_a_tip(
        db: Session, seller: Seller, sandbox: SandboxControl, client: FlaskClient, signed_in_as) -> None:
    seed(sandbox, seller)
    add_products(db, seller.account_id, 3, available=lambda i: 7, price_cents=lambda i: 1500)
    add_products(db, seller.account_id, 1, prefix="UNKNOWN-", available=lambda i: 50)
    before = sandbox.listings(seller.seller_id)
    signed_in_as("manager")

    response = client.post("/sync/check/", data={"csrf_token": csrf_token(client, "/sync/check/")},
                           follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "Amazon would refuse 1 of 4 updates checked" in page
    assert "3 valid" in page and "1 invalid" in page
    assert "UNKNOWN-0000000" in page and "Invalid" in page and "(4000001)" in page
    assert "Create the listing in Seller Central with exactly this SKU" in page
    assert "Start syncing" in page and "Fix first" in page
    assert sandbox.listings(seller.seller_id) == before
    assert {row[2] for row in sandbox.listing_submissions()} == {"VALIDATION_PREVIEW"}


def test_staff_see_the_answers_but_cannot_run_a_check(
        db: Session, seller: Seller, sandbox: SandboxControl, client: FlaskClient, signed_in_as) -> None:
    add_products(db, seller.account_id, 2)
    signed_in_as("staff")
    token = csrf_token(client, "/sync/check/")

    assert client.post("/sync/check/", data={"csrf_token": token}).status_code == 403
    assert client.post("/sync/check/start", data={"csrf_token": token}).status_code == 403
    assert sandbox.listing_submissions() == []


def test_a_check_of_a_large_catalog_stays_within_amazons_preview_limits(
        db: Session, seller: Seller, sandbox: SandboxControl, client: FlaskClient, signed_in_as) -> None:
    seed(sandbox, seller)
    add_products(db, seller.account_id, CATALOG, available=lambda i: i)
    signed_in_as("admin")
    token = csrf_token(client, "/sync/check/")

    for _ in range(3):  # 60 previews back to back: 5 rps per seller, burst 5
        client.post("/sync/check/", data={"csrf_token": token})

    assert len(sandbox.listing_submissions()) == 60
    assert sum(sandbox.stats()["throttled"].values()) == 0
    assert len(checks(db, seller.account_id)) == 3


def test_the_sync_page_asks_whether_the_first_sync_waits_in_one_statement(
        app: Any, db: Session, seller: Seller, client: FlaskClient, signed_in_as: Any) -> None:
    """Before the first sync the Sync page says the check waits, until a check is confirmed: one statement."""
    from sqlalchemy import event

    from wizard.db import engine_for

    app.config["CHECK_BEFORE_FIRST_SYNC"] = True
    signed_in_as("manager")
    engine = engine_for(app.config["DATABASE_URL"])
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/sync/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert "Check with Amazon before the first sync" in page
    [asked] = [s for s in statements if "amazon_check" in s]
    assert "sync_run" in asked  # "confirmed" and "synced before" together

    db.add(AmazonCheck(account_id=seller.account_id, confirmed_at=utcnow()))
    db.commit()
    assert "Check with Amazon before the first sync" not in client.get("/sync/").get_data(as_text=True)
