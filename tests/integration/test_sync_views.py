"""The Sync page, its progress fragment, "Sync now", the home card and the catalog's per-SKU cell."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from redis import Redis
from sqlmodel import Session

from tests.fixtures.worker import Seller, add_products, run_sync
from tests.helpers import csrf_token
from wizard.models.sync import ListingState, ListingStatus


def test_staff_see_the_sync_page_without_the_sync_now_button(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    add_products(db, seller.account_id, 30)
    run_sync(redis_url, seller.account_id)
    signed_in_as("staff")

    html = client.get("/sync/").get_data(as_text=True)

    assert "Sync with Amazon" in html
    assert "Sync now" not in html
    assert "Done: 30 accepted, 0 rejected, in 1 feed." in html
    assert 'aria-live="polite"' in html and "<progress" in html
    assert "hx-trigger" not in html  # a finished run stops polling


def test_staff_cannot_start_a_sync(client: FlaskClient, signed_in_as, seller: Seller, redis_url: str) -> None:
    signed_in_as("staff")
    token = csrf_token(client, "/sync/")

    response = client.post("/sync/now", data={"csrf_token": token})

    assert response.status_code == 403
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 0


def test_sync_now_enqueues_a_manual_sync(client: FlaskClient, signed_in_as, seller: Seller,
                                         redis_url: str) -> None:
    signed_in_as("manager")
    token = csrf_token(client, "/sync/")

    response = client.post("/sync/now", data={"csrf_token": token})

    assert response.status_code == 302
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 1
    assert "Sync started" in client.get("/sync/").get_data(as_text=True)


def test_sync_now_before_the_settings_are_saved_explains_what_is_missing(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    from wizard.models import AmazonSettings

    settings = db.get(AmazonSettings, seller.account_id)
    assert settings is not None
    settings.saved_at = None
    db.add(settings)
    db.commit()
    signed_in_as("admin")
    token = csrf_token(client, "/sync/")

    response = client.post("/sync/now", data={"csrf_token": token}, follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "save your inventory and pricing settings" in html
    assert "Finish the Amazon setup to start syncing" in html
    assert "When the setup is finished" in html
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 0


def test_sync_now_without_csrf_is_refused(client: FlaskClient, signed_in_as, seller: Seller,
                                          redis_url: str) -> None:
    signed_in_as("admin")

    response = client.post("/sync/now")

    assert response.status_code == 400
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 0


def test_the_progress_fragment_polls_while_a_run_is_active(client: FlaskClient, signed_in_as, seller: Seller,
                                                           db: Session) -> None:
    from wizard.models.sync import RunStatus, SyncRun

    db.add(SyncRun(account_id=seller.account_id, status=RunStatus.PROCESSING, batches_total=2,
                   batches_submitted=2, batches_processed=1, changed_count=40))
    db.commit()
    signed_in_as("staff")

    html = client.get("/sync/progress", headers={"HX-Request": "true"}).get_data(as_text=True)

    assert 'hx-trigger="load delay:1s"' in html
    assert 'value="3"' in html and 'max="4"' in html
    assert "2 sent to Amazon, 1 processed" in html
    assert client.get("/sync/progress").status_code == 302  # without htmx: the full page


def test_the_catalog_cell_shows_amazons_error_with_a_tip(app: Flask, seller: Seller, db: Session) -> None:
    from wizard.models.base import utcnow

    db.add(ListingState(account_id=seller.account_id, sku="UNKNOWN-1", sent_quantity=4, sent_at=utcnow(),
                        status=ListingStatus.REJECTED, error_code="4000001",
                        error_message="The SKU is not in your Amazon catalog"))
    db.commit()
    from wizard.catalog.views import listing_states

    with app.test_request_context():
        states = listing_states(seller.account_id, ["UNKNOWN-1", "NEVER-SENT"])
        # The catalog's results import the cell as a macro, with their context (sync_tip, can_manage …).
        cell = ('{% from "partial/catalog/sync_cell.html" import sync_cell with context %}'
                "{{ sync_cell(state) }}")
        html = render_template_string(cell, state=states["UNKNOWN-1"])

    # A SKU never sent has no state: the results table says "Not sent yet" without the macro
    # (test_catalog.py counts those cells).
    assert "NEVER-SENT" not in states
    assert "Rejected" in html
    assert "The SKU is not in your Amazon catalog" in html
    assert "Create the listing in Seller Central" in html
    assert "qty 4" in html


def test_a_rejected_sku_keeps_amazons_reason_and_is_not_resent_unchanged(db: Session, seller: Seller, sandbox,
                                                                        redis_url: str) -> None:
    add_products(db, seller.account_id, 3, prefix="UNKNOWN-")
    add_products(db, seller.account_id, 3)
    run_sync(redis_url, seller.account_id)
    db.expire_all()
    state = db.get(ListingState, 1)
    assert state is not None and state.sku.startswith("UNKNOWN-")
    assert state.status == ListingStatus.REJECTED and state.error_code == "4000001"
    assert state.accepted_quantity is None

    run_sync(redis_url, seller.account_id)

    from tests.fixtures.worker import last_run

    # 4000001 is permanent: unchanged, they wait for a change or "Try again" (issue 9 §1).
    assert last_run(db, seller.account_id).changed_count == 0


def test_the_home_card_shows_the_last_sync(client: FlaskClient, signed_in_as, seller: Seller, db: Session,
                                           redis_url: str) -> None:
    add_products(db, seller.account_id, 12)
    run_sync(redis_url, seller.account_id)
    signed_in_as("staff")

    html = client.get("/").get_data(as_text=True)

    assert "Amazon sync" in html and "Up to date" in html
    assert "12 SKUs accepted by Amazon" in html


def test_a_feed_amazon_keeps_for_hours_is_explained_to_the_merchant_and_flagged_to_operators(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str, sandbox,
        sync_env: dict[str, str], caplog) -> None:
    import logging
    from datetime import timedelta

    from sqlmodel import select

    from wizard.config import from_environment
    from wizard.models.base import utcnow
    from wizard.models.sync import BatchStatus, FeedBatch
    from wizard.sync.runner import FOLLOW, Syncer

    add_products(db, seller.account_id, 30)
    sandbox.processing(paused=True)  # Amazon keeps the feed IN_QUEUE
    config = {**from_environment(), "SYNC_POLL_INLINE": 0.0}
    redis = Redis.from_url(redis_url)
    assert Syncer(config, redis, seller.account_id).run("manual").status == "processing"
    signed_in_as("staff")

    def age_the_feed(hours: float) -> None:
        db.expire_all()
        batch = db.exec(select(FeedBatch).where(FeedBatch.status == BatchStatus.SUBMITTED)).one()
        batch.submitted_at = utcnow() - timedelta(hours=hours)
        batch.next_poll_at = None
        db.add(batch)
        db.commit()

    assert "taking longer than usual" not in client.get("/sync/").get_data(as_text=True)
    age_the_feed(2)
    html = client.get("/sync/").get_data(as_text=True)
    assert "Amazon is taking longer than usual" in html
    assert "up to a few hours during peak periods" in html

    age_the_feed(13)
    with caplog.at_level(logging.ERROR, logger="wizard.sync.runner"):
        assert Syncer(config, redis, seller.account_id).run(FOLLOW).status == "processing"
    assert any("OPERATOR" in r.getMessage() and "still IN_QUEUE after 13.0 hours" in r.getMessage()
               for r in caplog.records)
    assert "has not finished processing a feed after 12 hours" in client.get("/sync/").get_data(as_text=True)
    sandbox.processing(paused=False)


def _pause_for_reauthorization(db: Session, account_id: int) -> None:
    from sqlmodel import select

    from wizard.models import Connection, ConnectionStatus

    connection = db.exec(select(Connection).where(Connection.account_id == account_id)).one()
    connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    db.add(connection)
    db.commit()


def test_while_paused_for_reauthorization_sync_now_says_reauthorize_and_offers_the_button(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    _pause_for_reauthorization(db, seller.account_id)
    signed_in_as("manager")
    token = csrf_token(client, "/sync/")

    page = client.get("/sync/").get_data(as_text=True)
    response = client.post("/sync/now", data={"csrf_token": token})

    head = page.split('<section class="card"', 1)[0]
    assert "Re-authorize to resume syncing." in head
    assert 'action="/settings/integrations/amazon/reauthorize"' in head and ">Re-authorize</button>" in head
    assert "Finish the Amazon setup" not in page
    # Nothing is scheduled and there is no "Sync now" while paused: the page says what starts the syncs again.
    assert "After you re-authorize" in page and "of connecting" not in page
    assert "The first one starts once you re-authorize." in page and "with Sync now" not in page
    assert response.status_code == 302
    assert "Re-authorize to resume syncing" in client.get("/sync/").get_data(as_text=True)
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 0


def test_sync_now_during_a_running_sync_says_one_is_already_running_and_starts_nothing(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    from sqlmodel import select

    from wizard.models.sync import RunStatus, SyncRun

    db.add(SyncRun(account_id=seller.account_id, status=RunStatus.SUBMITTING))
    db.commit()
    signed_in_as("manager")
    token = csrf_token(client, "/sync/")

    client.post("/sync/now", data={"csrf_token": token})

    page = client.get("/sync/").get_data(as_text=True)
    assert "A sync is already running" in page and "Sync started" not in page
    assert Redis.from_url(redis_url).llen("rq:queue:sync") == 0
    assert len(db.exec(select(SyncRun).where(SyncRun.account_id == seller.account_id)).all()) == 1


def test_the_sync_page_counts_in_words_that_agree_with_the_numbers(
        app_config: dict[str, object], seller: Seller, merchant, db: Session, redis_url: str) -> None:
    from tests.conftest import sign_in
    from wizard import create_app

    add_products(db, seller.account_id, 1)
    run_sync(redis_url, seller.account_id)
    client = create_app({**app_config, "SYNC_INTERVAL": 60}).test_client()
    sign_in(client, merchant.user("manager"))

    html = client.get("/sync/").get_data(as_text=True)

    assert "every 1 minute," in html and "1 minutes" not in html
    assert "1 update<" in html and "1 updates" not in html
    assert "Done: 1 accepted, 0 rejected, in 1 feed." in html
