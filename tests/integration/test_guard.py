"""Issue 11 §2 and §4: the blast-radius guard pauses a run that would zero the catalog; approve or discard.

Real parts: the catalog API (bulk upsert) through the Flask test client, the sandbox over loopback HTTP,
Redis, SQLite, the sync job worked by an in-process RQ worker.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from tests.helpers import csrf_token
from wizard.catalog import api_tokens
from wizard.models.guard import RunHold

CATALOG = 30


def quantities(sandbox: SandboxControl, seller: Seller) -> dict[str, int | None]:
    return {sku: item["quantity"] for sku, item in sandbox.listings(seller.seller_id).items()}


def synced_catalog(db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str) -> None:
    add_products(db, seller.account_id, CATALOG, available=lambda i: 10, price_cents=lambda i: 2000)
    run_sync(redis_url, seller.account_id)
    assert set(quantities(sandbox, seller).values()) == {10}


def zero_everything_through_the_api(client: FlaskClient, db: Session, seller: Seller, merchant) -> None:  # type: ignore[no-untyped-def]
    _, token = api_tokens.create_token(db, account_id=seller.account_id, name="Platform",
                                       user_id=merchant.user("admin").id)
    body = {"products": [{"sku": f"SKU-{n:07d}", "available": 0} for n in range(CATALOG)]}
    response = client.post("/api/v1/products", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def holds(db: Session, account_id: int) -> list[RunHold]:
    db.expire_all()
    return list(db.exec(select(RunHold).where(RunHold.account_id == account_id)))


@pytest.mark.parametrize("decision", ["approve", "discard"])
def test_an_upsert_that_zeroes_every_product_pauses_the_run_until_approved_or_discarded(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        signed_in_as, merchant, decision: str) -> None:  # type: ignore[no-untyped-def]
    synced_catalog(db, seller, sandbox, redis_url)
    feeds_before = sandbox.stats()["feeds"]
    zero_everything_through_the_api(client, db, seller, merchant)

    run_sync(redis_url, seller.account_id)

    [hold] = holds(db, seller.account_id)
    assert (hold.zero_count, hold.in_stock_count, hold.decision) == (CATALOG, CATALOG, None)
    assert last_run(db, seller.account_id).status == "submitting"
    assert set(quantities(sandbox, seller).values()) == {10}  # nothing sent
    assert sandbox.stats()["feeds"] == feeds_before
    # Another scheduled run does not send it either.
    run_sync(redis_url, seller.account_id, "cron")
    assert set(quantities(sandbox, seller).values()) == {10}

    signed_in_as("staff")
    assert "A sync is paused for your approval" not in client.get("/sync/").get_data(as_text=True)
    user = signed_in_as("manager")
    for page in ("/", "/settings/amazon/", "/sync/"):
        assert "A sync is paused for your approval" in client.get(page).get_data(as_text=True)
    held = client.get("/sync/check/held").get_data(as_text=True)
    assert f"<strong>{CATALOG}</strong> of {CATALOG} listings Amazon shows in stock" in held
    assert held.count("10 → 0") == 20  # twenty examples, before → after

    token = csrf_token(client, "/sync/check/held")
    client.post(f"/sync/check/held/{decision}", data={"csrf_token": token})
    run_sync(redis_url, seller.account_id, "cron")

    hold = holds(db, seller.account_id)[0]
    assert hold.decided_by_user_id == user.id and hold.decided_at is not None
    if decision == "approve":
        assert hold.decision == "approved"
        assert set(quantities(sandbox, seller).values()) == {0}
        assert any(r.status == "done" and r.accepted_count == CATALOG for r in _runs(db, seller))
    else:
        assert hold.decision == "discarded"
        stopped = [r for r in _runs(db, seller) if r.error_code == "discarded"]
        assert len(stopped) == 1 and f"Discarded by {user.email}" in (stopped[0].error or "")
        assert sandbox.stats()["feeds"] == feeds_before
        assert set(quantities(sandbox, seller).values()) == {10}
        # The catalog still says 0: the next run is paused again rather than sent.
        assert [h.decision for h in holds(db, seller.account_id)] == ["discarded", None]


def _runs(db: Session, seller: Seller):  # type: ignore[no-untyped-def]
    from wizard.models.sync import SyncRun

    db.expire_all()
    return list(db.exec(select(SyncRun).where(SyncRun.account_id == seller.account_id)))


def test_a_settings_save_confirmed_on_its_preview_is_not_held_again(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        signed_in_as) -> None:
    synced_catalog(db, seller, sandbox, redis_url)
    signed_in_as("manager")
    token = csrf_token(client, "/settings/amazon/")

    # A buffer of 50 puts every product (10 available) below it: Amazon shows 0 for all of them.
    response = client.post("/settings/amazon/", data={"csrf_token": token, "inventory_buffer": "50",
                                                      "inventory_ceiling": "", "min_price": "0"})
    assert response.status_code == 302
    run_sync(redis_url, seller.account_id)

    [hold] = holds(db, seller.account_id)
    assert hold.decision == "approved" and hold.note == "settings saved after the preview"
    assert hold.zero_count == CATALOG
    assert set(quantities(sandbox, seller).values()) == {0}
