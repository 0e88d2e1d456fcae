"""What the merchant sees of the reconcile: catalog states and filters, home counts, the Amazon-only list.

The state comes from the real jobs against the sandbox (a full read, a sync, an incremental read), not from
rows written by hand.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlmodel import Session, select

from jobs.queue import RECONCILE_QUEUE, enqueue_reconcile, enqueue_sync
from tests.fixtures.reconcile import work_until_idle
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products
from tests.helpers import csrf_token
from wizard.models.reconcile import AmazonListing
from wizard.models.sync import SyncRun


def _enqueue(redis_url: str, account_id: int, what: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        if what == "sync":
            enqueue_sync(account_id, "manual", connection=redis)
        else:
            enqueue_reconcile(account_id, what, connection=redis)
    finally:
        redis.close()


@pytest.fixture
def reconciled(db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str]) -> Seller:
    """4 catalog SKUs, 3 on Amazon, 2 Amazon-only listings; one sync, then drift and an issue read back."""
    sandbox.set_unknown_sku_mode(seller.seller_id, "reject")
    sandbox.seed_listings(seller.seller_id, [
        {"sku": "SKU-0000000", "quantity": 1, "price": "9.00"},
        {"sku": "SKU-0000001", "quantity": 1, "price": "9.00"},
        {"sku": "SKU-0000002", "quantity": 1, "price": "9.00"},
        {"sku": "AMZ-ONLY-1", "quantity": 5, "price": "20.00"},
        {"sku": "AMZ-ONLY-2", "quantity": 0, "price": "21.00"},
    ])
    add_products(db, seller.account_id, 4, available=lambda i: 10 + i, price_cents=lambda i: 1000 + i)
    _enqueue(reconcile_env["REDIS_URL"], seller.account_id, "sync")
    work_until_idle(reconcile_env["REDIS_URL"])
    sandbox.external_edit(seller.seller_id, "SKU-0000001", quantity=7)
    sandbox.async_issue(seller.seller_id, "SKU-0000002", on_next_write=False)
    assert sandbox.listing(seller.seller_id, "SKU-0000002")["issues"]
    _enqueue(reconcile_env["REDIS_URL"], seller.account_id, "incremental")
    # Only the read: the correction it schedules (a sync soon) is left for the tests that want it.
    work_until_idle(reconcile_env["REDIS_URL"], queues=(RECONCILE_QUEUE,))
    return seller


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_catalog_shows_amazons_live_value_drift_issues_and_not_on_amazon(
        client: FlaskClient, signed_in_as, reconciled: Seller, app_config: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    signed_in_as("staff")
    page = _text(client.get("/catalog/").get_data(as_text=True))
    assert "Amazon showed 7, Ecommerce sent 11" in page
    assert "corrected on the next sync" in page
    assert "Error on Amazon: The value of the price is invalid." in page
    assert "Amazon finds the price invalid." in page
    assert "Not on Amazon" in page and "so Ecommerce does not send it" in page
    assert "Amazon shows 10 now" in page  # the "why this number" trace ends with Amazon's live value
    html = client.get("/catalog/").get_data(as_text=True)
    assert f'href="{app_config["AMAZON_SELLER_CENTRAL_URL"]}/skucentral?mSku=SKU-0000002"' in html

    only_missing = _text(client.get("/catalog/?outcome=not_on_amazon").get_data(as_text=True))
    assert "SKU-0000003" in only_missing and "SKU-0000000" not in only_missing
    drifted = _text(client.get("/catalog/?outcome=drifted").get_data(as_text=True))
    assert "SKU-0000001" in drifted and "SKU-0000000" not in drifted
    issues = _text(client.get("/catalog/?outcome=issues").get_data(as_text=True))
    assert "SKU-0000002" in issues and "SKU-0000001" not in issues


def test_home_page_counts_each_state_with_a_link_to_it(client: FlaskClient, signed_in_as,  # type: ignore[no-untyped-def]
                                                       reconciled: Seller) -> None:
    signed_in_as("staff")
    html = client.get("/").get_data(as_text=True)
    found = dict(re.findall(r'<dt><a href="([^"]+)">[^<]+</a></dt><dd>([\d,]+)</dd>', html))
    assert found == {
        "/catalog/?outcome=amazon_in_stock": "3",
        "/catalog/?outcome=drifted": "1",
        "/catalog/?outcome=rejected": "0",
        "/catalog/?outcome=not_on_amazon": "1",
        "/catalog/amazon-only/": "2",
        "/catalog/?outcome=issues": "1",
    }
    assert "1 Amazon-only listing has stock and can oversell." in _text(html)


def test_amazon_only_listings_are_set_to_0_only_when_a_manager_confirms(
        client: FlaskClient, signed_in_as, reconciled: Seller, db: Session,  # type: ignore[no-untyped-def]
        sandbox: SandboxControl, reconcile_env: dict[str, str]) -> None:
    signed_in_as("staff")
    page = _text(client.get("/catalog/amazon-only/").get_data(as_text=True))
    assert "These can oversell" in page and "AMZ-ONLY-1" in page and "AMZ-ONLY-2" in page
    assert "Set these to 0 on Amazon" not in page
    assert client.get("/catalog/amazon-only/set-to-zero").status_code == 403

    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/")})
    signed_in_as("manager")
    confirm = _text(client.get("/catalog/amazon-only/set-to-zero").get_data(as_text=True))
    assert "Set 1 listing to 0 on Amazon?" in confirm
    # A sync before the confirmation leaves them alone.
    _enqueue(reconcile_env["REDIS_URL"], reconciled.account_id, "sync")
    work_until_idle(reconcile_env["REDIS_URL"])
    assert sandbox.listings(reconciled.seller_id)["AMZ-ONLY-1"]["quantity"] == 5

    token = csrf_token(client, "/catalog/amazon-only/set-to-zero")
    response = client.post("/catalog/amazon-only/set-to-zero", data={"csrf_token": token})
    assert response.status_code == 302
    db.expire_all()
    row = db.exec(select(AmazonListing).where(AmazonListing.sku == "AMZ-ONLY-1")).one()
    assert row.zero_requested_at is not None and row.zero_requested_by_user_id is not None
    runs_before = len(db.exec(select(SyncRun)).all())
    _enqueue(reconcile_env["REDIS_URL"], reconciled.account_id, "sync")
    work_until_idle(reconcile_env["REDIS_URL"])
    amazon = sandbox.listings(reconciled.seller_id)
    assert amazon["AMZ-ONLY-1"]["quantity"] == 0
    assert amazon["AMZ-ONLY-1"]["price"] is not None  # only the quantity was sent
    db.expire_all()
    assert len(db.exec(select(SyncRun)).all()) > runs_before  # recorded in the sync history
