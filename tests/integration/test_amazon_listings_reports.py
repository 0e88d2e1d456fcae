"""The Amazon client's Listings Items and Reports API methods against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import wait_until
from wizard.amazon import AccessDenied, AmazonClient, SellerAuth
from wizard.services import get_amazon

SELLER = "A1PROSELLERUS01"


@pytest.fixture
def amazon(app: Flask) -> Iterator[AmazonClient]:
    with app.app_context():
        yield get_amazon()


@pytest.fixture
def seller(sandbox: SandboxControl) -> SellerAuth:
    return SellerAuth(SELLER, sandbox.grant(SELLER))


def test_lookup_asks_for_20_skus_a_call_and_skips_unknown_ones(sandbox: SandboxControl, amazon: AmazonClient,
                                                               seller: SellerAuth) -> None:
    sandbox.generate_listings(SELLER, 45, prefix="SKU-", quantity=4, price="12.50")
    wanted = [f"SKU-{n:08d}" for n in range(45)] + ["NOT-ON-AMAZON"]
    before = amazon.calls.get("searchListingsItems", 0)
    found = amazon.listings.lookup(seller, wanted)
    assert amazon.calls["searchListingsItems"] - before == 3
    assert set(found) == set(wanted) - {"NOT-ON-AMAZON"}
    item = found["SKU-00000007"]
    assert (item.quantity, item.price_cents, item.buyable, item.issues) == (4, 1250, True, ())


def test_search_all_stops_at_amazons_1000_item_cap(sandbox: SandboxControl, amazon: AmazonClient,
                                                   seller: SellerAuth) -> None:
    sandbox.generate_listings(SELLER, 1_010, prefix="BULK-")
    first = amazon.listings.search(seller)
    assert first.number_of_results == 1_010 and first.capped
    assert len(list(amazon.listings.search_all(seller))) == 1_000


def test_get_item_reads_the_offer_with_its_sale_price(sandbox: SandboxControl, amazon: AmazonClient,
                                                      seller: SellerAuth) -> None:
    sandbox.seed_listings(SELLER, [{"sku": "TENT 1/2", "quantity": 3, "price": "199.99",
                                    "discounted_price": "149.99", "minimum_price": "120.00"}])
    item = amazon.listings.get_item(seller, "TENT 1/2")
    assert item is not None and item.price_cents == 19999 and item.quantity == 3
    assert item.purchasable_offer is not None
    assert item.purchasable_offer["discounted_price"] == [{"schedule": [{"value_with_tax": 149.99}]}]
    assert amazon.listings.get_item(seller, "NOPE") is None


def test_patch_and_preview_answer_with_typed_submissions(sandbox: SandboxControl, amazon: AmazonClient,
                                                         seller: SellerAuth) -> None:
    sandbox.seed_listings(SELLER, [{"sku": "LAMP-2", "quantity": 9, "price": "12.00"}])
    zero = [{"op": "merge", "path": "/attributes/fulfillment_availability",
             "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}]
    preview = amazon.listings.patch(seller, "LAMP-2", zero, preview=True)
    assert preview.status == "VALID" and preview.accepted
    assert sandbox.listings(SELLER)["LAMP-2"]["quantity"] == 9
    sent = amazon.listings.patch(seller, "LAMP-2", zero)
    assert sent.status == "ACCEPTED" and sent.submission_id
    assert sandbox.listings(SELLER)["LAMP-2"]["quantity"] == 0
    negative = [{"op": "replace", "path": "/attributes/fulfillment_availability",
                 "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -1}]}]
    bad = amazon.listings.patch(seller, "LAMP-2", negative)
    assert bad.status == "INVALID" and not bad.accepted
    assert bad.issues[0].severity == "ERROR"
    assert bad.issues[0].attribute_names == ("fulfillment_availability",)


def test_confirm_seller_refuses_a_token_of_another_seller(sandbox: SandboxControl,
                                                         amazon: AmazonClient) -> None:
    own = SellerAuth(SELLER, sandbox.grant(SELLER))
    amazon.listings.confirm_seller(own)
    claimed = SellerAuth("A2PROSELLERUS02", own.refresh_token)
    with pytest.raises(AccessDenied):
        amazon.listings.confirm_seller(claimed)


def test_a_listings_report_streams_row_by_row(sandbox: SandboxControl, amazon: AmazonClient,
                                              seller: SellerAuth) -> None:
    sandbox.generate_listings(SELLER, 20_000, prefix="R-", quantity=2, price="3.25")
    sandbox.seed_listings(SELLER, [{"sku": "TENT-1", "quantity": 0, "price": "199.99"}])
    reports = amazon.reports
    report_id = reports.create_report(seller)
    report = wait_until(lambda: (r := reports.get_report(seller, report_id)).finished and r,
                        timeout=30, message="the report")
    assert report.processing_status == "DONE" and report.report_document_id
    document = reports.get_report_document(seller, report.report_document_id)
    assert document.compression_algorithm == "GZIP"
    count, tent = 0, None
    with reports.listing_rows(document) as rows:
        for row in rows:
            count += 1
            if row.sku == "TENT-1":
                tent = row
    assert count == 20_001
    assert tent is not None and (tent.quantity, tent.price_cents, tent.active) == (0, 19999, False)
