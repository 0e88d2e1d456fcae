"""Disconnect offers "Set all my Amazon quantities to 0 first" (issue 9 §9): Amazon keeps the last quantities
it was sent, so the merchant may send 0 for every SKU Ecommerce manages, as a normal sync run, and the
connection ends only once Amazon has processed it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import update
from sqlmodel import Session, col, select

from tests.fixtures.queues import run_worker_burst
from tests.fixtures.worker import SELLER, Seller, add_products, last_run, run_sync
from tests.helpers import csrf_token
from wizard.config import from_environment
from wizard.models import Connection, ConnectionStatus, Product
from wizard.models.base import utcnow
from wizard.models.sync import ZERO_THEN_DISCONNECT, RunStatus, SyncRun, SyncTrigger
from wizard.sync.runner import Syncer

PREFIX = "/settings/integrations/amazon"
ZERO_FIRST = PREFIX + "/disconnect/zero-first"


def _connection(db: Session, account_id: int) -> Connection:
    db.expire_all()
    return db.exec(select(Connection).where(Connection.account_id == account_id)).one()


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_set_all_quantities_to_0_first_then_disconnect(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str, sandbox) -> None:
    add_products(db, seller.account_id, 30)
    add_products(db, seller.account_id, 2, prefix="UNKNOWN-")  # rejected by Amazon: never accepted
    run_sync(redis_url, seller.account_id)
    before = sandbox.listings(SELLER)
    managed = sorted(sku for sku in before if sku.startswith("SKU-"))
    assert len(managed) == 30 and sum(before[sku]["quantity"] for sku in managed) > 0
    signed_in_as("manager")

    page = client.get(PREFIX + "/disconnect").get_data(as_text=True)
    assert "Amazon keeps the last quantities" in page
    assert "30 SKUs on Amazon have quantities from Ecommerce." in _text(page)
    assert f'action="{ZERO_FIRST}"' in page and ">Set all my Amazon quantities to 0 first</button>" in page
    response = client.post(ZERO_FIRST, data={"csrf_token": csrf_token(client, PREFIX + "/disconnect")})

    assert response.status_code == 302 and response.headers["Location"].endswith("/sync/")
    # Not before Amazon has processed the zeros:
    assert _connection(db, seller.account_id).status == ConnectionStatus.CONNECTED
    waiting = _text(client.get("/sync/").get_data(as_text=True))
    assert "Setting your Amazon quantities to 0. Ecommerce disconnects once Amazon has processed" in waiting
    assert "Ecommerce disconnects from Amazon once Amazon has processed it." in waiting

    run_worker_burst(Redis.from_url(redis_url))

    after = sandbox.listings(SELLER)
    assert {sku: after[sku]["quantity"] for sku in managed} == dict.fromkeys(managed, 0)
    assert {sku: after[sku]["price"] for sku in managed} == {sku: before[sku]["price"] for sku in managed}
    run = last_run(db, seller.account_id)
    assert run.purpose == ZERO_THEN_DISCONNECT and run.status == RunStatus.DONE
    assert (run.sent_count, run.accepted_count) == (30, 30)  # the never-accepted SKUs were not sent
    connection = _connection(db, seller.account_id)
    assert connection.status == ConnectionStatus.NOT_CONNECTED
    assert connection.refresh_token_encrypted is None and connection.selling_partner_id is None
    done = _text(client.get("/sync/").get_data(as_text=True))
    assert ("Done: 30 quantities set to 0 on Amazon, 0 rejected. Ecommerce then disconnected from Amazon."
            in done)
    assert "quantities to 0, then disconnect" in done


def test_zero_first_waits_for_the_running_sync_then_zeroes_everything_and_disconnects(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str, sandbox) -> None:
    add_products(db, seller.account_id, 10)
    run_sync(redis_url, seller.account_id)
    add_products(db, seller.account_id, 10, start=10, available=lambda i: 7)
    sandbox.processing(paused=True)  # the second sync's feed stays at Amazon
    config = {**from_environment(), "SYNC_POLL_INLINE": 0.0}
    assert Syncer(config, Redis.from_url(redis_url), seller.account_id).run("change").status == "processing"
    signed_in_as("admin")

    client.post(ZERO_FIRST, data={"csrf_token": csrf_token(client, PREFIX + "/disconnect")})
    sandbox.processing(paused=False)
    run_worker_burst(Redis.from_url(redis_url))

    listings = sandbox.listings(SELLER)
    assert len(listings) == 20 and {item["quantity"] for item in listings.values()} == {0}
    db.expire_all()
    runs = db.exec(select(SyncRun).where(SyncRun.account_id == seller.account_id).order_by(SyncRun.id)).all()
    assert [(r.purpose, r.status, r.accepted_count) for r in runs] == [
        (None, RunStatus.DONE, 10), (None, RunStatus.DONE, 10), (ZERO_THEN_DISCONNECT, RunStatus.DONE, 20)]
    assert _connection(db, seller.account_id).status == ConnectionStatus.NOT_CONNECTED


def test_only_admins_and_managers_set_quantities_to_0_and_only_with_csrf(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    add_products(db, seller.account_id, 3)
    run_sync(redis_url, seller.account_id)
    signed_in_as("staff")
    assert client.post(ZERO_FIRST, data={"csrf_token": csrf_token(client, "/sync/")}).status_code == 403
    signed_in_as("manager")
    assert client.post(ZERO_FIRST).status_code == 400

    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 0
    assert last_run(db, seller.account_id).purpose is None
    assert _connection(db, seller.account_id).status == ConnectionStatus.CONNECTED


def test_without_a_quantity_on_amazon_the_disconnect_page_offers_no_zero_run(
        client: FlaskClient, signed_in_as, seller: Seller) -> None:
    signed_in_as("admin")

    page = client.get(PREFIX + "/disconnect").get_data(as_text=True)

    assert "Amazon keeps the last quantities" in page and ZERO_FIRST not in page


def test_zero_first_is_not_held_by_the_guard_and_replaces_a_run_held_for_approval(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str, sandbox,
        merchant) -> None:
    from tests.integration.test_guard import CATALOG, holds, quantities, synced_catalog

    synced_catalog(db, seller, sandbox, redis_url)
    add_products(db, seller.account_id, 5, start=CATALOG, available=lambda i: 0)  # 5 more to send: quantity 0
    db.execute(update(Product).where(col(Product.sku) < f"SKU-{CATALOG // 2:07d}").values(available=0))
    db.commit()
    run_sync(redis_url, seller.account_id, SyncTrigger.CHANGE.value)
    [hold] = holds(db, seller.account_id)
    assert hold.decision is None  # half the catalog to 0: held for the merchant's approval
    user = signed_in_as("manager")
    page = client.get(PREFIX + "/disconnect").get_data(as_text=True)
    assert "The sync waiting for your approval is discarded first" in page

    client.post(ZERO_FIRST, data={"csrf_token": csrf_token(client, PREFIX + "/disconnect")})
    run_worker_burst(Redis.from_url(redis_url))

    [hold] = holds(db, seller.account_id)
    assert hold.decision == "discarded" and hold.decided_by_user_id == user.id
    assert set(quantities(sandbox, seller).values()) == {0}
    run = last_run(db, seller.account_id)
    assert (run.purpose, run.status, run.accepted_count) == (ZERO_THEN_DISCONNECT, RunStatus.DONE, CATALOG)
    assert _connection(db, seller.account_id).status == ConnectionStatus.NOT_CONNECTED


def _finished_zero_run(db: Session, account_id: int, finished_at: datetime) -> None:
    db.add(SyncRun(account_id=account_id, trigger=SyncTrigger.MANUAL, status=RunStatus.DONE,
                   purpose=ZERO_THEN_DISCONNECT, changed_count=3, sent_count=3, accepted_count=3,
                   batches_total=1, batches_submitted=1, batches_processed=1, created_at=finished_at,
                   started_at=finished_at, finished_at=finished_at))
    db.commit()


def test_a_worker_stopped_after_the_zeros_disconnects_on_the_next_job(
        seller: Seller, db: Session, redis_url: str) -> None:
    add_products(db, seller.account_id, 3)
    run_sync(redis_url, seller.account_id)
    _finished_zero_run(db, seller.account_id, utcnow())  # processed, but the worker died before disconnecting

    run_sync(redis_url, seller.account_id, SyncTrigger.CRON.value)

    assert _connection(db, seller.account_id).status == ConnectionStatus.NOT_CONNECTED


def test_an_old_zero_run_never_disconnects_a_connection_authorized_since(
        seller: Seller, db: Session, redis_url: str) -> None:
    add_products(db, seller.account_id, 3)
    _finished_zero_run(db, seller.account_id, utcnow() - timedelta(days=1))  # then the merchant reconnected

    run_sync(redis_url, seller.account_id, SyncTrigger.CRON.value)

    assert _connection(db, seller.account_id).status == ConnectionStatus.CONNECTED
    assert last_run(db, seller.account_id).accepted_count == 3
