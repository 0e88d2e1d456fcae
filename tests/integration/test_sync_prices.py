"""Price updates change only our price: sale and min/max prices survive a sync (issue 10 §1)."""

from __future__ import annotations

from sqlmodel import Session

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from wizard.models.sync import RunStatus


def test_a_price_sync_keeps_the_sale_price_and_the_min_and_max_prices(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str) -> None:
    sandbox.seed_listings(seller.seller_id, [
        {"sku": f"SKU-{i:07d}", "quantity": 5, "price": "19.99", "discounted_price": "14.99",
         "minimum_price": "10.00", "maximum_price": "30.00"} for i in range(3)])
    add_products(db, seller.account_id, 3, available=lambda i: 5, price_cents=lambda i: 2250 + i)

    run_sync(redis_url, seller.account_id)

    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.DONE, run.error
    assert run.accepted_count == 3
    for i in range(3):
        offer = sandbox.offer(seller.seller_id, f"SKU-{i:07d}")
        assert offer["our_price"] == [{"schedule": [{"value_with_tax": (2250 + i) / 100}]}]
        assert offer["discounted_price"] == [{"schedule": [{"value_with_tax": 14.99}]}]
        assert offer["minimum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": 10.0}]}]
        assert offer["maximum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": 30.0}]}]
