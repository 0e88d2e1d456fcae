"""Issue 9 §1: a SKU Amazon rejected is not re-sent forever, and the merchant sees it.

Real parts: the sandbox over loopback HTTP (it refuses writes as a test asks, and counts every feed message
it receives), Redis, the database (``--db=sqlite`` or ``--db=postgresql``), sync jobs worked by an
in-process RQ worker, the pages through the Flask test client. Time passing is the one thing simulated:
a back-off's end is moved into the past in the database rather than waited for.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import update
from sqlmodel import Session, select

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.worker import Seller, add_products, last_run, run_sync, save_settings
from tests.helpers import csrf_token
from tests.integration.test_urgent_lane import synced, upsert, work_urgent  # noqa: F401 - a fixture
from wizard.models import Product
from wizard.models.base import utcnow
from wizard.models.sync import ListingState, ListingStatus
from wizard.sync import rejections

REJECTED_SKU = "UNKNOWN-0000000"  # the sandbox answers 4000001 ("not in your Amazon catalog"): permanent


def sends(sandbox: SandboxControl, sku: str) -> int:
    """Return how many feed messages for ``sku`` Amazon received so far."""
    return Counter(row[3] for row in sandbox.received())[sku]


def state_of(db: Session, seller: Seller, sku: str) -> ListingState:
    db.expire_all()
    state = db.exec(select(ListingState).where(ListingState.account_id == seller.account_id,
                                               ListingState.sku == sku)).one()
    return state


def set_available(db: Session, seller: Seller, sku: str, available: int) -> None:
    db.execute(update(Product).where(Product.account_id == seller.account_id, Product.sku == sku)  # type: ignore[arg-type]
               .values(available=available, updated_at=utcnow()))
    db.commit()


def back_off_is_over(db: Session, seller: Seller, sku: str) -> None:
    """Move the SKU's next try into the past, as if its back-off had elapsed (the clock is the database's)."""
    db.execute(update(ListingState).where(ListingState.account_id == seller.account_id,  # type: ignore[arg-type]
                                          ListingState.sku == sku)
               .values(next_retry_at=utcnow() - timedelta(seconds=1)))
    db.commit()


def test_a_sku_rejected_for_good_waits_for_a_change_or_try_again(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        signed_in_as) -> None:  # type: ignore[no-untyped-def]
    add_products(db, seller.account_id, 1, prefix="UNKNOWN-", available=lambda i: 10)
    add_products(db, seller.account_id, 3)
    run_sync(redis_url, seller.account_id)
    state = state_of(db, seller, REJECTED_SKU)
    assert state.status == ListingStatus.REJECTED and state.error_code == "4000001"
    assert state.reject_kind == "permanent" and state.next_retry_at is None
    assert sends(sandbox, REJECTED_SKU) == 1

    run_sync(redis_url, seller.account_id)
    run_sync(redis_url, seller.account_id)

    assert sends(sandbox, REJECTED_SKU) == 1  # not in the next two runs' feeds
    assert last_run(db, seller.account_id).changed_count == 0

    set_available(db, seller, REJECTED_SKU, 7)
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, REJECTED_SKU) == 2  # its quantity changed: sent again (and rejected again)
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, REJECTED_SKU) == 2

    save_settings(db, seller.account_id, inventory_buffer=0)  # the settings were saved again
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, REJECTED_SKU) == 3

    signed_in_as("staff")
    token = csrf_token(client, "/sync/")
    refused = client.post("/sync/rejected/try-again", data={"sku": REJECTED_SKU, "csrf_token": token})
    assert refused.status_code == 403
    assert "Try again" not in client.get("/catalog/?q=UNKNOWN").get_data(as_text=True)
    signed_in_as("manager")
    page = client.get("/catalog/?q=UNKNOWN").get_data(as_text=True)
    assert "Not sent again until you change this product or your settings." in page
    assert f'Try again<span class="visually-hidden"> {REJECTED_SKU}</span>' in page
    assert client.post("/sync/rejected/try-again", data={"sku": REJECTED_SKU}).status_code == 400  # no CSRF
    response = client.post("/sync/rejected/try-again",
                           data={"sku": REJECTED_SKU, "csrf_token": csrf_token(client, "/catalog/")})
    assert response.status_code == 302 and "/catalog/?q=UNKNOWN-0000000" in response.headers["Location"]
    # Still shown as rejected until Amazon answers the new update.
    assert state_of(db, seller, REJECTED_SKU).status == ListingStatus.REJECTED

    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, REJECTED_SKU) == 4
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, REJECTED_SKU) == 4  # rejected again: held again

    client.post("/sync/rejected/try-all-again", data={"csrf_token": csrf_token(client, "/sync/")})
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, REJECTED_SKU) == 5


def test_a_transient_rejection_is_retried_after_its_back_off_which_doubles(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str) -> None:
    add_products(db, seller.account_id, 3, available=lambda i: 10)
    sku = "SKU-0000001"
    sandbox.refuse(seller.seller_id, sku, code="5002", times=2,
                   message="An internal error occurred. Please resubmit your data.")
    run_sync(redis_url, seller.account_id)
    first = state_of(db, seller, sku)
    assert first.reject_kind == "transient" and first.rejected_at is not None
    assert first.next_retry_at == first.rejected_at + rejections.FIRST_BACKOFF

    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, sku) == 1  # its back-off is not over

    back_off_is_over(db, seller, sku)
    run_sync(redis_url, seller.account_id)
    second = state_of(db, seller, sku)
    assert sends(sandbox, sku) == 2 and second.status == ListingStatus.REJECTED
    assert second.next_retry_at == second.rejected_at + 2 * rejections.FIRST_BACKOFF  # type: ignore[operator]

    back_off_is_over(db, seller, sku)
    run_sync(redis_url, seller.account_id)
    accepted = state_of(db, seller, sku)
    assert sends(sandbox, sku) == 3
    assert accepted.status == ListingStatus.ACCEPTED and accepted.accepted_quantity == 10
    assert (accepted.reject_kind, accepted.next_retry_at, accepted.rejected_at) == (None, None, None)


def test_a_transient_rejection_goes_again_at_once_when_the_values_to_send_change(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str) -> None:
    add_products(db, seller.account_id, 3, available=lambda i: 10)
    sku = "SKU-0000001"
    sandbox.refuse(seller.seller_id, sku, code="5002", times=1,
                   message="An internal error occurred. Please resubmit your data.")
    run_sync(redis_url, seller.account_id)
    held = state_of(db, seller, sku)
    assert held.reject_kind == "transient" and held.next_retry_at is not None
    assert held.next_retry_at > utcnow()  # its back-off is not over ...

    set_available(db, seller, sku, 4)  # ... but the stock changed: the new value goes at once
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, sku) == 2
    accepted = state_of(db, seller, sku)
    assert accepted.status == ListingStatus.ACCEPTED and accepted.accepted_quantity == 4
    assert (accepted.reject_kind, accepted.next_retry_at) == (None, None)


def test_an_unknown_code_is_tried_at_most_three_times_a_day(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str) -> None:
    add_products(db, seller.account_id, 2, available=lambda i: 10)
    sku = "SKU-0000000"
    sandbox.refuse(seller.seller_id, sku, code="77777", message="Something Amazon never documented.")
    run_sync(redis_url, seller.account_id)
    assert state_of(db, seller, sku).reject_kind == "unknown"
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, sku) == 1  # an unknown code backs off like a transient one

    for tries in (2, 3):
        back_off_is_over(db, seller, sku)
        run_sync(redis_url, seller.account_id)
        assert sends(sandbox, sku) == tries
    third = state_of(db, seller, sku)
    assert third.reject_tries == 3
    assert third.next_retry_at == third.reject_window_at + rejections.DAY  # type: ignore[operator]

    set_available(db, seller, sku, 4)  # even after a change, a fourth try waits for the next day
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, sku) == 3

    # A day after the first try, the count starts again.
    db.execute(update(ListingState).where(ListingState.sku == sku)  # type: ignore[arg-type]
               .values(reject_window_at=utcnow() - rejections.DAY,
                       next_retry_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    run_sync(redis_url, seller.account_id)
    assert sends(sandbox, sku) == 4
    assert state_of(db, seller, sku).reject_tries == 1


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_catalog_the_sync_page_and_home_show_the_rejected_skus(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        signed_in_as) -> None:  # type: ignore[no-untyped-def]
    add_products(db, seller.account_id, 52, prefix="UNKNOWN-")
    add_products(db, seller.account_id, 5)
    run_sync(redis_url, seller.account_id)
    signed_in_as("staff")

    catalog = client.get("/catalog/").get_data(as_text=True)
    assert '<option value="rejected">Rejected by Amazon (52)</option>' in catalog
    filtered = _text(client.get("/catalog/?outcome=rejected").get_data(as_text=True))
    assert "52 products" in filtered and "UNKNOWN-0000000" in filtered and "SKU-0000000" not in filtered

    sync_page = client.get("/sync/").get_data(as_text=True)
    section = sync_page[sync_page.index('id="sync-rejected"'):]
    section = section[:section.index("</section>")]
    assert section.count('href="/catalog/?q=UNKNOWN-') == 50  # at most 50 listed, each linked to its row
    assert 'href="/catalog/?q=UNKNOWN-0000000"' in section
    assert "The SKU is not in your Amazon catalog" in section and "(code 4000001)" in section
    assert "Create the listing in Seller Central with exactly this SKU" in section
    assert re.search(r'And <a href="/catalog/\?outcome=rejected">2 more SKUs</a>', section)
    assert "Try all again" not in section  # staff cannot

    home = client.get("/").get_data(as_text=True)
    assert '<a href="/catalog/?outcome=rejected">52 rejected by Amazon</a>' in home


def test_nothing_rejected_shows_no_list_and_no_count(
        db: Session, seller: Seller, sandbox: SandboxControl, redis_url: str, client: FlaskClient,
        signed_in_as) -> None:  # type: ignore[no-untyped-def]
    add_products(db, seller.account_id, 5)
    run_sync(redis_url, seller.account_id)
    signed_in_as("manager")

    assert 'id="sync-rejected"' not in client.get("/sync/").get_data(as_text=True)
    assert "rejected by Amazon" not in client.get("/").get_data(as_text=True)
    assert "Rejected by Amazon (0)" in client.get("/catalog/").get_data(as_text=True)


def test_the_urgent_lane_records_a_rejections_kind_and_spends_no_more_than_an_unknown_codes_tries(
        db: Session, synced: Seller, sandbox: SandboxControl, redis_url: str,  # noqa: F811
        client: FlaskClient, merchant) -> None:  # type: ignore[no-untyped-def]
    sku = "SKU-0000003"
    sandbox.refuse(synced.seller_id, sku, code="77777", message="Something Amazon never documented.")

    def lane_sends() -> int:
        return sum(1 for row in sandbox.listing_submissions() if row[1] == sku and row[2] == "")

    upsert(client, db, synced, merchant, {sku: 0})
    work_urgent(redis_url)
    state = state_of(db, synced, sku)
    assert lane_sends() == 1 and state.status == ListingStatus.REJECTED
    assert (state.reject_kind, state.reject_tries, state.rejected_run_id) == ("unknown", 1, None)
    assert state.next_retry_at == state.rejected_at + rejections.FIRST_BACKOFF  # type: ignore[operator]

    upsert(client, db, synced, merchant, {sku: 1})  # another urgent value, before the next try is due
    work_urgent(redis_url)
    assert lane_sends() == 1

    back_off_is_over(db, synced, sku)
    upsert(client, db, synced, merchant, {sku: 2})
    work_urgent(redis_url)
    assert lane_sends() == 2 and state_of(db, synced, sku).reject_tries == 2
